"""FP8 matmuls (``--fast fp8``): quantization, the scaled matmul, which layers switch, and that switching is
reversible. PyTorch's CPU ``_scaled_mm`` runs the same arithmetic as the GPU kernel, so these run on the CPU."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from panoworld.models.fp8 import (
    FP8_DTYPE,
    FP8_TARGETS,
    Fp8Linear,
    fp8_linear,
    fp8_matmuls,
    fp8_supported,
    quantize_rows,
)

#: Relative L2 error of an FP8 (e4m3, 3 mantissa bits, per-row scales) product against the exact one on
#: Gaussian data: each operand carries ~2-3 % rounding noise, which averages over K terms.
FP8_REL_TOL = 0.06


def rel_err(a, b) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def test_quantize_rows_scales_each_row_to_the_e4m3_range():
    x = torch.randn(64, 128) * torch.logspace(-3, 3, 64)[:, None]  # rows of very different magnitude
    q, scale = quantize_rows(x)
    assert q.dtype == FP8_DTYPE and scale.shape == (64, 1)
    assert torch.allclose(q.float().abs().amax(dim=1), torch.full((64,), 448.0))
    assert rel_err(q.float() * scale, x) < 0.05


def test_fp8_linear_matches_linear_within_fp8_rounding():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 50, 256, generator=gen).bfloat16()
    w = (torch.randn(128, 256, generator=gen) * 0.02).bfloat16()
    b = torch.randn(128, generator=gen).bfloat16()
    out = fp8_linear(x, w, b)
    exact = F.linear(x.float(), w.float(), b.float())
    assert out.shape == (3, 50, 128) and out.dtype == torch.bfloat16
    err = rel_err(out, exact)
    assert 1e-3 < err < FP8_REL_TOL  # really quantized, and close


def test_fp8_linear_falls_back_for_odd_shapes():
    x, w = torch.randn(4, 24), torch.randn(10, 24)
    assert torch.equal(fp8_linear(x, w), F.linear(x, w))


def test_fp8_supported():
    assert fp8_supported("cpu")
    assert not fp8_supported("meta")


def tiny_net(seed=0):
    from panoworld.models import PanoWorldTransformer, tiny_config

    cfg = tiny_config()  # width 48, MLP 192: multiples of 16, as _scaled_mm needs
    torch.manual_seed(seed)
    return PanoWorldTransformer(**cfg).eval()


def net_inputs(seed=1):
    gen = torch.Generator().manual_seed(seed)
    return dict(hidden_states=torch.randn(1, 32, 3, 8, 16, generator=gen), timestep=torch.full((1,), 0.7),
                encoder_hidden_states=torch.randn(2, 8, 64, generator=gen),
                image_hidden_states=torch.randn(1, 5, 16, generator=gen), return_dict=False)


def test_fp8_matmuls_switch_the_block_layers_and_switch_back():
    net = tiny_net()
    with torch.no_grad():
        exact = net(**net_inputs())[0]
        with fp8_matmuls(net) as count:
            assert count == len(FP8_TARGETS) * len(net.transformer_blocks)
            fast = net(**net_inputs())[0]
            switched = [m for m in net.modules() if isinstance(m, Fp8Linear)]
            assert len(switched) == count and all(m.fp8_active for m in switched)
            assert type(net.transformer_blocks[0].attn2.to_k) is torch.nn.Linear  # text K/V stay bf16
        again = net(**net_inputs())[0]
    assert not any(m.fp8_active for m in net.modules() if isinstance(m, Fp8Linear))
    assert torch.equal(again, exact)  # switched off: the exact forward, bit for bit
    err = rel_err(fast, exact)
    assert 1e-4 < err < FP8_REL_TOL
    assert set(net.state_dict()) == set(tiny_net().state_dict())  # same parameters, same names


def test_fp8_off_changes_nothing():
    net = tiny_net()
    with fp8_matmuls(net, active=False) as count:
        assert count == 0
    assert not any(isinstance(m, Fp8Linear) for m in net.modules())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available() or not fp8_supported("cuda"), reason="needs an FP8 CUDA GPU")
def test_fp8_transformer_on_gpu_close_to_bf16():
    """Hopper/Ada kernel: finite, and within :data:`FP8_REL_TOL` of the bf16 forward (tiny model, bf16)."""
    net = tiny_net().cuda().bfloat16()
    inputs = {k: (v.cuda().bfloat16() if torch.is_tensor(v) and v.is_floating_point() else v)
              for k, v in net_inputs().items()}
    with torch.no_grad():
        exact = net(**inputs)[0]
        with fp8_matmuls(net):
            fast = net(**inputs)[0]
    assert torch.isfinite(fast).all()
    assert rel_err(fast, exact) < FP8_REL_TOL
