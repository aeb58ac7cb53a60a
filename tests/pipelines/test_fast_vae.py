"""The Wan VAE runner computes diffusers' encode / decode (within float32 rounding on the CPU, within bf16 rounding
in bf16), reuses a still video's early stages exactly, and steps aside for models it does not support."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from panoworld.models.components.wan_vae_fast import WanVAERunner, runner_for, unsupported_reason
from tests.bench_scripts import bench_module

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wan():
    from diffusers import AutoencoderKLWan

    from panoworld.models.components._tiny import tiny_wan_vae_config

    torch.manual_seed(0)
    return AutoencoderKLWan(**tiny_wan_vae_config()).eval()


def video(frames=17, seed=0):
    return torch.rand(1, 3, frames, 32, 64, generator=torch.Generator().manual_seed(seed)) * 2 - 1


#: The runner's bf16 error against fp32 may be this many times diffusers' bf16 error
#: (``test_runner_on_gpu_within_bf16_rounding``).
BF16_ERROR_FACTOR = 1.5


def close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal within float32 rounding (the runner's CPU convolutions are oneDNN's, diffusers' may be PyTorch's
    im2col kernel: the same sums in another order)."""
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def rel(a, b) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


@torch.no_grad()
def test_encode_and_decode_equal_diffusers(wan):
    x = video()
    ref = wan._encode(x)
    close(WanVAERunner(wan).encode(x), ref)  # same chunking; oneDNN convolutions: float32 rounding only
    for chunk in (8, 16):  # longer chunks: the same function, other float rounding
        torch.testing.assert_close(WanVAERunner(wan, encode_chunk=chunk).encode(x), ref, atol=1e-5, rtol=1e-5)
    z = torch.randn(1, 16, 5, 4, 8, generator=torch.Generator().manual_seed(1))
    ref = wan._decode(z).sample
    close(WanVAERunner(wan).decode(z), ref)
    for chunk in (2, 4):
        torch.testing.assert_close(WanVAERunner(wan, decode_chunk=chunk).decode(z), ref, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_bf16_within_rounding(wan):
    model = type(wan)(**wan.config).eval()
    model.load_state_dict(wan.state_dict())
    model = model.to(torch.bfloat16)
    x = video().bfloat16()
    assert rel(WanVAERunner(model, encode_chunk=8).encode(x), model._encode(x)) < 2e-2
    z = torch.randn(1, 16, 5, 4, 8).bfloat16()
    assert rel(WanVAERunner(model, decode_chunk=2).decode(z), model._decode(z).sample) < 2e-2


@torch.no_grad()
def test_still_video_reuses_early_stages_exactly(wan):
    still = video(frames=1, seed=3).expand(-1, -1, 41, -1, -1)
    runner = WanVAERunner(wan)
    fast = runner.encode(still, still=True)
    assert runner.still_onset == 10  # tiny config: conv_in + 2 resblocks of two 3x3x3 convolutions, 2 frames each
    assert runner.reused_chunks == 6  # chunks starting at frames 17, 21, ..., 37 (the one at 13 is computed)
    full = WanVAERunner(wan, reuse_still=False).encode(still)
    assert torch.equal(fast, full)  # the reused chunks are copies: bit for bit
    close(full, wan._encode(still.contiguous()))


@torch.no_grad()
def test_video_vae_uses_the_runner_for_still_and_moving_videos():
    from panoworld.models.components import VideoVAE

    vae = VideoVAE.tiny()
    frame = video(frames=1, seed=4)
    expanded = frame.expand(-1, -1, 21, -1, -1)
    fast = vae.encode(expanded)
    vae.fast = False
    slow = vae.encode(expanded.contiguous())
    close(fast, slow)
    z = torch.randn(1, 16, 3, 4, 8)
    vae.fast = True
    fast = vae.decode(z)
    vae.fast = False
    close(fast, vae.decode(z))


@torch.no_grad()
def test_video_vae_chunk_lengths_reach_the_runner():
    from panoworld.models.components import VideoVAE

    vae = VideoVAE.tiny(seed=1, circular_longitude=True)
    x, z = video(frames=17, seed=2), torch.randn(1, 16, 5, 4, 8, generator=torch.Generator().manual_seed(3))
    exact = vae.encode(x), vae.decode(z)
    vae.encode_chunk, vae.decode_chunk = 16, 4
    runner = vae._runner()
    assert (runner.encode_chunk, runner.decode_chunk) == (16, 4)
    torch.testing.assert_close(vae.encode(x), exact[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(vae.decode(z), exact[1], atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_video_vae_chunk_budget_picks_the_longest_chunks_within_it():
    from panoworld.models.components import VideoVAE

    vae = VideoVAE.tiny(seed=1, circular_longitude=True)
    assert vae.chunk_lengths((1, 3, 33, 128, 256)) == (4, 1)  # no budget: the fixed lengths
    vae.chunk_budget = 2**22
    assert vae.chunk_lengths((1, 3, 33, 128, 256)) == (32, 8)  # capped by the video's own length
    assert vae.chunk_lengths((1, 3, 93, 512, 1024)) == (8, 2)
    assert vae.chunk_lengths((2, 3, 93, 512, 1024)) == (4, 1)  # the batch shares the budget
    assert vae.chunk_lengths((1, 3, 9, 2048, 4096)) == (4, 1)  # never below the minimum
    x, z = video(frames=17, seed=2), torch.randn(1, 16, 5, 4, 8, generator=torch.Generator().manual_seed(3))
    vae.chunk_budget = None
    exact = vae.encode(x), vae.decode(z)
    vae.chunk_budget = 16 * 32 * 64  # 16 frames of this 32 x 64 video
    assert vae.chunk_lengths(tuple(x.shape)) == (16, 4)
    torch.testing.assert_close(vae.encode(x), exact[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(vae.decode(z), exact[1], atol=1e-5, rtol=1e-5)


def test_cpu_generation_loads_the_vae_with_the_chunk_budget():
    from panoworld.pipelines.config import LoadConfig
    from panoworld.pipelines.loading import CPU_VAE_CHUNK_BUDGET, load_pipeline, resolve_model

    pipe = load_pipeline(resolve_model("small"), LoadConfig(device="cpu"))
    assert pipe.vae.chunk_budget == CPU_VAE_CHUNK_BUDGET


def test_unsupported_models_fall_back(wan):
    assert unsupported_reason(wan) is None
    handle = wan.encoder.conv_in.register_forward_pre_hook(lambda module, args: None)
    try:
        assert "hooks" in unsupported_reason(wan) and runner_for(wan) is None
    finally:
        handle.remove()
    wan.use_tiling = True
    try:
        assert unsupported_reason(wan) == "tiling enabled"
    finally:
        wan.use_tiling = False
    with pytest.raises(ValueError):
        WanVAERunner(wan, encode_chunk=6)


@pytest.fixture(scope="module")
def wan_circular():
    """A second tiny random Wan VAE with the seam switch on (its only hooks are the switch's)."""
    from diffusers import AutoencoderKLWan

    from panoworld.models.components._tiny import tiny_wan_vae_config
    from panoworld.models.components.wan_circular import set_circular_longitude

    torch.manual_seed(1)
    model = AutoencoderKLWan(**tiny_wan_vae_config()).eval()
    assert set_circular_longitude(model, True) > 0
    return model


@torch.no_grad()
@pytest.mark.parametrize("still", [False, True])
def test_circular_encode_and_decode_equal_diffusers_with_the_hooks(wan_circular, still):
    """The runner takes the seam-switched model and computes what diffusers computes through the hooks."""
    assert unsupported_reason(wan_circular) is None and runner_for(wan_circular) is not None
    x = video(frames=1, seed=5).expand(-1, -1, 25, -1, -1) if still else video(frames=13, seed=5)
    ref = wan_circular._encode(x.contiguous())
    runner = WanVAERunner(wan_circular)
    close(runner.encode(x, still=still), ref)
    assert (runner.reused_chunks > 0) == still
    torch.testing.assert_close(WanVAERunner(wan_circular, encode_chunk=8).encode(x), ref, atol=1e-5, rtol=1e-5)
    z = torch.randn(1, 16, 4, 4, 8, generator=torch.Generator().manual_seed(2))
    ref = wan_circular._decode(z).sample
    close(WanVAERunner(wan_circular).decode(z), ref)
    torch.testing.assert_close(WanVAERunner(wan_circular, decode_chunk=2).decode(z), ref, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_circular_runner_differs_from_zero_padding_and_switching_off_restores_it(wan_circular):
    """The wrap is real (zero padding gives other numbers at the seam) and off is the plain runner again."""
    from panoworld.models.components.wan_circular import set_circular_longitude

    x = video(frames=5, seed=6)
    wrapped = WanVAERunner(wan_circular).encode(x)
    set_circular_longitude(wan_circular, False)
    try:
        assert unsupported_reason(wan_circular) is None
        plain = WanVAERunner(wan_circular).encode(x)
        close(plain, wan_circular._encode(x))
    finally:
        set_circular_longitude(wan_circular, True)
    seam = (wrapped - plain).abs()
    assert seam[..., 0].max() > 1e-3 and seam[..., -1].max() > 1e-3


@torch.no_grad()
@pytest.mark.parametrize("k", [1, 3])
def test_circular_runner_commutes_with_rolls(wan_circular, k):
    """Rolling the input by 8k columns rolls the latent by k (encode) and vice versa (decode), through the runner
    for a moving and a still video."""
    runner = WanVAERunner(wan_circular)
    for x, still in ((video(frames=9, seed=7), False), (video(frames=1, seed=8).expand(-1, -1, 21, -1, -1), True)):
        z = runner.encode(x, still=still)
        torch.testing.assert_close(runner.encode(torch.roll(x, 8 * k, dims=-1), still=still),
                                   torch.roll(z, k, dims=-1), atol=1e-5, rtol=1e-5)
    z = torch.randn(1, 16, 3, 4, 8, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(runner.decode(torch.roll(z, k, dims=-1)), torch.roll(runner.decode(z), 8 * k, dims=-1),
                               atol=1e-5, rtol=1e-5)


def test_circular_model_with_another_hook_falls_back(wan_circular):
    handle = wan_circular.decoder.conv_in.register_forward_pre_hook(lambda module, args: None)
    try:
        assert "hooks on decoder.conv_in" == unsupported_reason(wan_circular) and runner_for(wan_circular) is None
    finally:
        handle.remove()
    handle = wan_circular.encoder.conv_in.register_forward_hook(lambda module, args, out: None)
    try:
        assert "hooks" in unsupported_reason(wan_circular)
    finally:
        handle.remove()
    assert unsupported_reason(wan_circular) is None


KERNEL_CHECK = textwrap.dedent("""
    import torch
    from panoworld.models.components.wan_vae_kernels import norm_silu, norm_silu_reference
    for dtype, tol in ((torch.float32, 1e-5), (torch.bfloat16, 0.07)):
        x = torch.randn(2, 24, 3, 5, 7).to(dtype).contiguous(memory_format=torch.channels_last_3d)
        gamma, bias = (torch.rand(24, 1, 1, 1) + 0.5).to(dtype), torch.randn(24, 1, 1, 1).to(dtype)
        for b in (0.0, bias):
            ref = norm_silu_reference(x, gamma, 24 ** 0.5, b).float()
            buf = torch.full((2, 24, 5, 5, 7), 7.0, dtype=dtype).contiguous(memory_format=torch.channels_last_3d)
            norm_silu(x, gamma, 24 ** 0.5, b, out=buf[:, :, 2:], fused=True)
            err = (buf[:, :, 2:].float() - ref).abs().max().item()
            assert 0 < err < tol or (dtype == torch.bfloat16 and err == 0), (dtype, err)
            assert (buf[:, :, :2] == 7.0).all()  # the cached frames in front are untouched
    print("ok")
""")


def test_fused_kernel_in_the_triton_interpreter():
    pytest.importorskip("triton")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    done = subprocess.run([sys.executable, "-c", KERNEL_CHECK], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@torch.no_grad()
def test_runner_on_gpu_within_bf16_rounding(wan):
    """CUDA, bf16, channels-last, the fused kernel when Triton is there: within bf16 rounding of diffusers, i.e.
    its error against an fp32 decode / encode is at most :data:`BF16_ERROR_FACTOR` times diffusers' own bf16
    error (two bf16 paths may differ from each other by about twice that: a fixed tolerance between them fails on
    rounding alone, 2.4e-2 on an H100 for the decode)."""
    from panoworld.models.components import VideoVAE

    reference = VideoVAE(type(wan)(**wan.config)).to("cuda", torch.float32)
    reference.model.load_state_dict(wan.state_dict())
    reference.fast = False
    vae = VideoVAE(type(wan)(**wan.config)).to("cuda", torch.bfloat16)
    vae.model.load_state_dict(wan.state_dict())
    x = video().cuda()
    z = torch.randn(1, 16, 5, 4, 8, device="cuda")
    for op, arg in (("encode", x), ("decode", z)):
        with bench_module("_common").full_fp32():
            exact = getattr(reference, op)(arg)
        vae.fast = True
        fast = getattr(vae, op)(arg)
        vae.fast = False
        slow = getattr(vae, op)(arg)
        err_fast, err_slow = rel(fast, exact), rel(slow, exact)
        assert err_fast <= BF16_ERROR_FACTOR * err_slow + 1e-3, (op, err_fast, err_slow)


def test_precision_bench_measures_bf16_against_fp32(tmp_path):
    """``bench/vae_precision.py`` on the CPU, tiny VAE: both bf16 paths are diffusers' there (the runner needs
    CUDA), so their errors against fp32 are equal, non-zero and of bf16 size."""
    out = tmp_path / "p.json"
    done = subprocess.run([sys.executable, "bench/vae_precision.py", "--device", "cpu", "--small", "--size", "32x64",
                           "--frames", "17", "--out-json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    errors = json.loads(out.read_text())["errors"]
    for op in ("encode", "decode"):
        e = errors[op]
        assert 1e-4 < e["diffusers_bf16"] < 0.1 and e["ratio"] == pytest.approx(1.0)
        assert e["runner_vs_diffusers"] == 0.0


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="PyTorch built without oneDNN")
@torch.no_grad()
def test_cpu_convolutions_of_short_chunks_go_through_onednn():
    """A causal chunk's convolution (batch 1, 3 frames: N·C·T·H below PyTorch's 20480 threshold) runs oneDNN's
    kernel, not the im2col one PyTorch picks for it, with the same result up to float32 rounding."""
    from torch.profiler import ProfilerActivity, profile

    from panoworld.models.components.wan_vae_fast import conv3d

    gen = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(1, 8, 3, 40, 64, generator=gen), torch.randn(8, 8, 3, 3, 3, generator=gen), torch.randn(8)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        out = conv3d(x, w, b, (1, 1, 1), (0, 1, 1))
    names = {event.key for event in prof.key_averages()}
    assert "aten::mkldnn_convolution" in names and "aten::slow_conv3d_forward" not in names
    close(out, torch.nn.functional.conv3d(x, w, b, 1, (0, 1, 1)))
    half = conv3d(x.bfloat16(), w.bfloat16(), b.bfloat16(), (1, 2, 2), (0, 0, 0))  # other dtypes: F.conv3d
    assert half.dtype == torch.bfloat16 and half.shape == (1, 8, 1, 19, 31)


@torch.no_grad()
def test_cpu_convolution_falls_back_when_onednn_rejects_it(monkeypatch):
    """A PyTorch whose oneDNN cannot run the convolution: the runner switches to ``F.conv3d`` for good."""
    from panoworld.models.components import wan_vae_fast

    def reject(*args):
        raise RuntimeError("mkldnn_convolution: unsupported")

    monkeypatch.setattr(torch.ops.aten, "mkldnn_convolution", reject)
    monkeypatch.setitem(wan_vae_fast._ONEDNN_CONV3D, "usable", True)
    x, w = torch.randn(1, 4, 3, 8, 8), torch.randn(4, 4, 3, 3, 3)
    out = wan_vae_fast.conv3d(x, w, None, (1, 1, 1), (0, 1, 1))
    close(out, torch.nn.functional.conv3d(x, w, None, 1, (0, 1, 1)))
    assert wan_vae_fast._ONEDNN_CONV3D["usable"] is False
