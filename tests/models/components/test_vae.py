"""VideoVAE: shapes, the 4k+1 frame rule, latent normalisation, save/load, original Wan2.1 key layout."""

from __future__ import annotations

import re

import pytest
import torch

from panoworld.errors import InputError, MissingComponentError
from panoworld.models.components import WAN21_LATENTS_MEAN, WAN21_LATENTS_STD, VideoVAE
from panoworld.models.components._tiny import tiny_wan_vae_config
from panoworld.models.components.wan_vae_keys import convert_wan_vae_state_dict, wan_vae_key_to_diffusers


def video(t=5, h=8, w=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, t, h, w, generator=g) * 2 - 1


def test_attributes(tiny_vae):
    assert (tiny_vae.latent_channels, tiny_vae.temporal_compression, tiny_vae.spatial_compression) == (16, 4, 8)


@pytest.mark.parametrize("t,t_lat", [(1, 1), (5, 2)])
def test_round_trip_shapes(tiny_vae, t, t_lat):
    x = video(t)
    z = tiny_vae.encode(x)
    assert z.shape == (1, 16, t_lat, 1, 2) and z.dtype == torch.float32
    y = tiny_vae.decode(z)
    assert y.shape == x.shape
    assert y.min() >= -1 and y.max() <= 1


def test_latent_shape_rule(tiny_vae):
    assert tiny_vae.latent_shape(93, 512, 1024) == (16, 24, 64, 128)
    assert tiny_vae.latent_shape(9, 8, 16) == (16, 3, 1, 2)


@pytest.mark.parametrize("t", [2, 4, 6, 8])
def test_bad_frame_count_is_input_error(tiny_vae, t):
    with pytest.raises(InputError, match="4k\\+1"):
        tiny_vae.encode(video(t))


def test_bad_size_is_input_error(tiny_vae):
    with pytest.raises(InputError, match="multiples of 8"):
        tiny_vae.encode(video(5, 12, 16))
    with pytest.raises(InputError):
        tiny_vae.decode(torch.zeros(1, 4, 2, 2, 2))


def test_latent_normalisation(tiny_vae):
    x = video(5)
    with torch.no_grad():
        mu = tiny_vae.model.encode(x).latent_dist.mode()
    mean = torch.tensor(WAN21_LATENTS_MEAN).view(1, 16, 1, 1, 1)
    std = torch.tensor(WAN21_LATENTS_STD).view(1, 16, 1, 1, 1)
    z = tiny_vae.encode(x)
    torch.testing.assert_close(z, (mu - mean) / std)
    with torch.no_grad():
        ref = tiny_vae.model.decode(z * std + mean).sample
    torch.testing.assert_close(tiny_vae.decode(z), ref)


def test_constants_match_diffusers_wan_defaults():
    import inspect

    from diffusers import AutoencoderKLWan

    params = inspect.signature(AutoencoderKLWan.__init__).parameters
    assert tuple(params["latents_mean"].default) == WAN21_LATENTS_MEAN
    assert tuple(params["latents_std"].default) == WAN21_LATENTS_STD


def test_tiling_option_runs(tiny_vae):
    vae = VideoVAE(tiny_vae.model)
    vae.enable_tiling(tile_sample_min_height=16, tile_sample_min_width=16, tile_sample_stride_height=8,
                      tile_sample_stride_width=8)
    z = vae.encode(video(1, 24, 32))
    assert z.shape == (1, 16, 1, 3, 4)
    assert vae.decode(z).shape == (1, 3, 1, 24, 32)
    tiny_vae.model.disable_tiling()


@pytest.mark.parametrize("pipeline_layout", [False, True])
def test_save_and_load_diffusers_folder(tiny_vae, tmp_path, pipeline_layout):
    target = tmp_path / "vae" if pipeline_layout else tmp_path
    tiny_vae.model.save_pretrained(target)
    loaded = VideoVAE.from_pretrained(tmp_path, dtype=torch.float32)
    x = video(5)
    torch.testing.assert_close(loaded.encode(x), tiny_vae.encode(x), rtol=0, atol=0)


def _to_original(key: str, num_res_blocks: int) -> str:
    """Inverse of the documented mapping (test helper): diffusers name → original Wan2.1 name."""
    res = {"norm1.": "residual.0.", "conv1.": "residual.2.", "norm2.": "residual.3.", "conv2.": "residual.6.",
           "conv_shortcut.": "shortcut."}

    def inner(rest):
        for new, old in res.items():
            if rest.startswith(new):
                return old + rest[len(new):]
        return rest

    fixed = {"quant_conv.": "conv1.", "post_quant_conv.": "conv2."}
    for new, old in fixed.items():
        if key.startswith(new):
            return old + key[len(new):]
    part, rest = key.split(".", 1)
    for new, old in {"conv_in.": "conv1.", "norm_out.": "head.0.", "conv_out.": "head.2."}.items():
        if rest.startswith(new):
            return f"{part}.{old}{rest[len(new):]}"
    if m := re.match(r"mid_block\.(resnets|attentions)\.(\d)\.(.+)", rest):
        idx = {"resnets0": 0, "attentions0": 1, "resnets1": 2}[m[1] + m[2]]
        return f"{part}.middle.{idx}.{inner(m[3]) if m[1] == 'resnets' else m[3]}"
    if m := re.match(r"down_blocks\.(\d+)\.(.+)", rest):
        return f"encoder.downsamples.{m[1]}.{inner(m[2])}"
    if m := re.match(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", rest):
        return f"decoder.upsamples.{int(m[1]) * (num_res_blocks + 2) + int(m[2])}.{inner(m[3])}"
    if m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.(.+)", rest):
        return f"decoder.upsamples.{int(m[1]) * (num_res_blocks + 2) + num_res_blocks + 1}.{m[2]}"
    raise KeyError(key)


def test_key_mapping_agrees_with_diffusers_converter_on_full_wan21():
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    with torch.device("meta"):
        full = AutoencoderKLWan()
    names = list(full.state_dict())
    original = {_to_original(k, 2): k for k in names}
    assert len(original) == len(names)
    assert all(wan_vae_key_to_diffusers(o, 2) == k for o, k in original.items())
    theirs = convert_wan_vae_to_diffusers({o: o for o in original})
    assert {original[o]: o for o in original} == {new: old for new, old in theirs.items()}


def test_original_pth_loads_strictly(tiny_vae, tmp_path):
    cfg = tiny_wan_vae_config()
    sd = {_to_original(k, cfg["num_res_blocks"]): v.clone() for k, v in tiny_vae.model.state_dict().items()}
    path = tmp_path / "Wan2.1_VAE.pth"
    torch.save(sd, path)
    loaded = VideoVAE.from_pretrained(path, dtype=torch.float32, config=cfg)
    x = video(5)
    torch.testing.assert_close(loaded.encode(x), tiny_vae.encode(x), rtol=0, atol=0)
    # a folder holding the original file is found too
    loaded = VideoVAE.from_pretrained(tmp_path, dtype=torch.float32, config=cfg)
    assert loaded.encode(x).shape == (1, 16, 2, 1, 2)


def test_original_layout_strictness(tiny_vae):
    cfg = tiny_wan_vae_config()
    expected = tiny_vae.model.state_dict()
    sd = {_to_original(k, cfg["num_res_blocks"]): v for k, v in expected.items()}
    assert convert_wan_vae_state_dict(sd, expected, cfg["num_res_blocks"]).keys() == expected.keys()
    with pytest.raises(InputError, match="unknown key.*encoder.bogus"):
        convert_wan_vae_state_dict({**sd, "encoder.bogus.weight": torch.zeros(1)}, expected, 1)
    dropped = dict(sd)
    dropped.pop("decoder.head.2.bias")
    with pytest.raises(InputError, match="missing key.*decoder.conv_out.bias"):
        convert_wan_vae_state_dict(dropped, expected, 1)
    bad = dict(sd)
    bad["conv1.bias"] = torch.zeros(3)
    with pytest.raises(InputError, match="mis-shaped.*quant_conv.bias"):
        convert_wan_vae_state_dict(bad, expected, 1)


def test_missing_vae_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingComponentError, match="Wan VAE"):
        VideoVAE.from_pretrained(tmp_path / "empty")
    with pytest.raises(MissingComponentError, match="Wan VAE"):
        VideoVAE.from_pretrained(tmp_path / "absent")


def test_reference_temporal_window_16_equals_diffusers_chunking():
    """The reference encodes in 16-frame windows, diffusers in 4: same latents (causal cache carried over)."""
    model = VideoVAE.tiny().model.double()

    def encode(x, window):
        model.clear_cache()
        out = None
        for i in range(1 + (x.shape[2] - 1) // window):
            model._enc_conv_idx = [0]
            part = x[:, :, :1] if i == 0 else x[:, :, 1 + window * (i - 1): 1 + window * i]
            y = model.encoder(part, feat_cache=model._enc_feat_map, feat_idx=model._enc_conv_idx)
            out = y if out is None else torch.cat([out, y], 2)
        model.clear_cache()
        return model.quant_conv(out)

    x = video(17).double()
    with torch.no_grad():
        ours = model.encode(x).latent_dist.mode()
        reference = encode(x, 16)[:, :16]
    assert ours.shape == (1, 16, 5, 1, 2)
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-12)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_runs_channels_last_with_the_cpu_result():
    from panoworld.models.components import VideoVAE

    video = torch.rand(1, 3, 9, 32, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    cpu = VideoVAE.tiny()
    lat_cpu = cpu.encode(video)
    out_cpu = cpu.decode(lat_cpu)
    gpu = VideoVAE.tiny().to("cuda")
    lat_gpu = gpu.encode(video.cuda())
    out_gpu = gpu.decode(lat_gpu)
    convs = [m for m in gpu.model.modules() if isinstance(m, torch.nn.Conv3d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last_3d) for c in convs)
    assert lat_gpu.is_contiguous() and out_gpu.is_contiguous()
    torch.testing.assert_close(lat_gpu.cpu(), lat_cpu, atol=5e-3, rtol=5e-3)  # TF32 convolutions
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, atol=5e-3, rtol=5e-3)
