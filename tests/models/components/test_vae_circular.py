"""VideoVAE circular longitude padding: roll equivariance of encode and decode, the switch, its persistence."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from panoworld.errors import InputError
from panoworld.models.components import VideoVAE
from panoworld.models.components._tiny import tiny_wan_vae_config
from panoworld.models.components.wan_circular import (
    circular_longitude_enabled,
    set_circular_longitude,
    wrap_columns,
)


def erp_video(t=5, h=16, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(1, 3, t, h, w, generator=g, dtype=torch.float64) * 2 - 1)


@pytest.fixture(scope="module")
def vae64():
    vae = VideoVAE.tiny(seed=5)
    vae.model.double()
    return vae


def test_wrap_columns():
    x = torch.arange(5.0)
    assert wrap_columns(x, 2, 1).tolist() == [3, 4, 0, 1, 2, 3, 4, 0]
    assert wrap_columns(x, 0, 0) is x
    with pytest.raises(ValueError):
        wrap_columns(x, 6, 0)


@pytest.mark.parametrize("k", [1, 3])
def test_encode_and_decode_commute_with_rolls_when_on(vae64, k):
    vae64.set_circular_longitude(True)
    x = erp_video()
    z = vae64.encode(x)
    torch.testing.assert_close(vae64.encode(torch.roll(x, 8 * k, dims=-1)), torch.roll(z, k, dims=-1),
                               rtol=0, atol=1e-10)
    y = vae64.decode(z)
    torch.testing.assert_close(vae64.decode(torch.roll(z, k, dims=-1)), torch.roll(y, 8 * k, dims=-1),
                               rtol=0, atol=1e-10)


def test_rolls_break_at_the_seam_when_off(vae64):
    vae64.set_circular_longitude(False)
    x = erp_video()
    z = vae64.encode(x)
    z_rolled = vae64.encode(torch.roll(x, 8, dims=-1))
    seam_error = (z_rolled - torch.roll(z, 1, dims=-1)).abs()
    assert seam_error[..., :2].max() > 1e-3  # latent columns next to the (moved) seam differ
    y_rolled = vae64.decode(torch.roll(z, 1, dims=-1))
    assert (y_rolled - torch.roll(vae64.decode(z), 8, dims=-1)).abs().max() > 1e-3


def test_switch_off_restores_the_zero_padded_model_exactly():
    plain = VideoVAE.tiny(seed=2)
    toggled = VideoVAE.tiny(seed=2).set_circular_longitude(True).set_circular_longitude(False)
    x = erp_video(h=8, w=16).float()
    torch.testing.assert_close(toggled.encode(x), plain.encode(x), rtol=0, atol=0)
    assert not circular_longitude_enabled(toggled.model) and not toggled.circular_longitude
    on = VideoVAE.tiny(seed=2, circular_longitude=True)
    assert on.circular_longitude and not torch.equal(on.encode(x), plain.encode(x))


def _width_padded(model: nn.Module) -> list[nn.Module]:
    out = []
    for m in model.modules():
        if isinstance(m, nn.Conv3d) and hasattr(m, "_padding"):
            out += [m] if m.kernel_size[2] > 1 else []
        elif isinstance(m, nn.Conv2d) and m.kernel_size[1] > 1 and m.stride[1] == 1:
            out.append(m)
        elif isinstance(m, nn.ZeroPad2d):
            out.append(m)
    return out


def test_full_size_wan21_every_width_padding_wraps():
    """Structure check on the full Wan2.1 VAE (meta device, no weights): each width-padded layer now has zero
    width padding of its own and one wrapping pre-hook; switching off restores the original paddings."""
    from diffusers import AutoencoderKLWan

    with torch.device("meta"):
        model = AutoencoderKLWan()
    padded = _width_padded(model)
    before = {id(m): tuple(getattr(m, "_padding", None) or m.padding) for m in padded}
    assert set_circular_longitude(model, True) == len(padded) > 30
    for m in padded:
        pad = tuple(getattr(m, "_padding", None) or m.padding)
        assert (pad[:2] == (0, 0)) if not isinstance(m, nn.Conv2d) else pad[1] == 0
        assert len(m._forward_pre_hooks) == 1
    set_circular_longitude(model, False)
    assert {id(m): tuple(getattr(m, "_padding", None) or m.padding) for m in padded} == before
    assert all(not m._forward_pre_hooks for m in padded)


def test_tiling_and_circular_are_exclusive():
    vae = VideoVAE.tiny(circular_longitude=True)
    with pytest.raises(InputError, match="tiling"):
        vae.enable_tiling()
    with pytest.raises(InputError, match="tiling"):
        VideoVAE.tiny(tiling=True, circular_longitude=True)


def test_switch_is_saved_in_the_config_and_reloaded(tmp_path):
    vae = VideoVAE.tiny(seed=4).set_circular_longitude(True)
    vae.model.save_pretrained(tmp_path)
    loaded = VideoVAE.from_pretrained(tmp_path, dtype=torch.float32)
    assert loaded.circular_longitude and circular_longitude_enabled(loaded.model)
    x = erp_video(h=8, w=32).float()
    torch.testing.assert_close(loaded.encode(x), vae.encode(x), rtol=0, atol=0)
    assert not VideoVAE.from_pretrained(tmp_path, dtype=torch.float32, circular_longitude=False).circular_longitude
    plain = tmp_path / "plain"
    VideoVAE.tiny(seed=4).model.save_pretrained(plain)
    assert not VideoVAE.from_pretrained(plain, dtype=torch.float32).circular_longitude


def test_original_single_file_with_the_switch(tmp_path):
    from safetensors.torch import save_file

    vae = VideoVAE.tiny(seed=6)
    path = tmp_path / "vae.safetensors"
    save_file({k: v.contiguous() for k, v in vae.model.state_dict().items()}, str(path))
    loaded = VideoVAE.from_pretrained(path, dtype=torch.float32, config=tiny_wan_vae_config(), circular_longitude=True)
    x = erp_video(h=8, w=32).float()
    torch.testing.assert_close(loaded.encode(torch.roll(x, 8, -1)), torch.roll(loaded.encode(x), 1, -1),
                               rtol=0, atol=1e-5)
