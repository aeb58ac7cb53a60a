"""RoPE variants: stock parity (linear), the reference latitude warp (equirect), exact seam wrap (periodic)."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers.models.transformers.transformer_cosmos import CosmosRotaryPosEmbed

from panoworld.models import PanoWorldTransformer, tiny_config
from panoworld.models.rope import PanoWorldRotaryPosEmbed, equirect_row_positions, periodic_width_harmonics

from .conftest import make_inputs


@pytest.mark.parametrize("fps", [None, 16])
@pytest.mark.parametrize("latent", [(24, 64, 128), (1, 30, 44)])
def test_linear_equals_diffusers_stock_bit_for_bit(latent, fps):
    stock = CosmosRotaryPosEmbed(hidden_size=128, max_size=(128, 240, 240), patch_size=(1, 2, 2), rope_scale=(1, 3, 3))
    ours = PanoWorldRotaryPosEmbed(128, (1, 2, 2), (1.0, 3.0, 3.0), "linear", fps_modulation=True)
    x = torch.zeros(1, 1, *latent)
    for a, b in zip(stock(x, fps=fps), ours(x, fps=fps)):
        assert a.shape == b.shape == (latent[0] * latent[1] // 2 * latent[2] // 2, 128)
        assert torch.equal(a, b)


def test_equirect_rows_match_reference_table():
    pos = equirect_row_positions(32)
    expected = {0: 0.0, 1: 0.080, 2: 0.317, 3: 0.711, 4: 1.256, 15: 14.715, 16: 16.285, 31: 31.0}
    for i, value in expected.items():
        assert abs(pos[i].item() - value) < 1e-3, (i, pos[i].item())
    assert torch.all(pos[1:] > pos[:-1])
    torch.testing.assert_close(pos + pos.flip(0), torch.full((32,), 31.0))  # symmetric about the equator
    assert equirect_row_positions(1).tolist() == [0.0]


def test_equirect_changes_rows_only():
    lin = PanoWorldRotaryPosEmbed(128, rope_type="linear").angles((2, 32, 8))
    eq = PanoWorldRotaryPosEmbed(128, rope_type="equirect").angles((2, 32, 8))
    assert torch.equal(lin[:, :22], eq[:, :22]) and torch.equal(lin[:, 43:], eq[:, 43:])
    assert not torch.equal(lin[:, 22:43], eq[:, 22:43])


def test_any_width_beyond_stock_cap():
    cos, sin = PanoWorldRotaryPosEmbed(128, rope_type="periodic")(torch.zeros(1, 1, 1, 4, 1200))
    assert cos.shape == (2 * 600, 128)
    torch.testing.assert_close(cos.square() + sin.square(), torch.ones_like(cos))


@pytest.mark.parametrize("width", [64, 37, 600])
def test_periodic_table_wraps_exactly(width):
    rope = PanoWorldRotaryPosEmbed(128, rope_type="periodic")
    angles = rope.angles((1, 1, width)).view(width, 64)
    _, _, w_freqs = rope.frequencies()
    n = periodic_width_harmonics(w_freqs, width)
    # width angles are 2 pi n_k j / W reduced mod 2 pi, computed from exact integers
    j = torch.arange(width, dtype=torch.float64)[:, None]
    expected = torch.remainder(2 * math.pi * n.double() * j / width, 2 * math.pi)
    diff = torch.remainder(angles[:, 43:].double() - expected + math.pi, 2 * math.pi) - math.pi
    assert diff.abs().max() < 1e-5
    # W-periodic: column j + W would get exactly the angles of column j (n_k W is a multiple of W)
    assert torch.all(torch.remainder(n * width, width) == 0)
    # harmonics are the nearest integers to the stock frequencies, so high frequencies stay close to stock
    assert torch.all((2 * math.pi * n / width - w_freqs).abs() <= math.pi / width + 1e-7)
    cos, sin = rope(torch.zeros(1, 1, 1, 1, 2 * width))
    torch.testing.assert_close(cos.square() + sin.square(), torch.ones_like(cos))


def _roll_inputs(inputs: dict, cols: int) -> dict:
    rolled = dict(inputs)
    for key in ("hidden_states", "condition_mask"):
        rolled[key] = torch.roll(inputs[key], cols, dims=-1)
    return rolled


@torch.no_grad()
@pytest.mark.parametrize("k", [1, 3])
def test_periodic_model_is_roll_equivariant_linear_is_not(k):
    torch.manual_seed(3)
    periodic = PanoWorldTransformer(**tiny_config(rope_type="periodic")).eval()
    inputs = make_inputs(periodic, frames=2, height=8, width=24)
    out = periodic(**inputs).sample
    out_rolled = periodic(**_roll_inputs(inputs, 2 * k)).sample  # k token columns = 2k latent columns
    err = (torch.roll(out, 2 * k, dims=-1) - out_rolled).abs().max().item()
    assert err < 1e-4

    linear = PanoWorldTransformer(**tiny_config(rope_type="linear"))
    linear.load_state_dict(periodic.state_dict())
    linear.eval()
    out = linear(**inputs).sample
    out_rolled = linear(**_roll_inputs(inputs, 2 * k)).sample
    assert (torch.roll(out, 2 * k, dims=-1) - out_rolled).abs().max().item() > 1e-3
