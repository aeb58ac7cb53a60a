"""Single-round and chained generation end to end with tiny random components on the CPU."""

from __future__ import annotations

import torch

from .conftest import tiny_config_for_tests

IMAGE = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))


def test_single_round_is_reproducible_bit_for_bit(tiny_pipeline):
    cfg = tiny_config_for_tests(seed=3, yaw=90.0, pitch=10.0)
    a = tiny_pipeline(IMAGE, "a room", "a panoramic room", cfg)
    b = tiny_pipeline(IMAGE, "a room", "a panoramic room", cfg)
    assert a.video.shape == (5, 3, 32, 64) and a.round1 is None
    assert torch.equal(a.video, b.video) and torch.equal(a.latent, b.latent)
    assert a.video.min() >= 0 and a.video.max() <= 1
    assert a.info["round1_evaluations"] == 3 and a.info["round1_cfg"] == "batched"


def test_chained_round2_starts_from_round1_frame0(tiny_pipeline):
    cfg = tiny_config_for_tests(chained=True, rotated_denoise=True, latitude_noise=True)
    out = tiny_pipeline(IMAGE, "a room", None, cfg)
    assert out.round1 is not None and out.video.shape == out.round1.shape == (5, 3, 32, 64)
    assert set(out.timings) >= {"round1_sampling", "round2_sampling", "round2_decode"}
    with torch.no_grad():
        vae = tiny_pipeline.vae
        z0 = vae.encode((out.round1[:1] * 2 - 1).permute(1, 0, 2, 3)[None])
    torch.testing.assert_close(out.latent[:, :, 0], z0[:, :, 0].float(), atol=0, rtol=0)
    assert out.info["round2_cfg"] == "batched" and out.info["round2_evaluations"] == 3


def test_base_i2v_motion_source_runs_the_base_model_through_the_same_sampler(tiny_pipeline):
    cfg = tiny_config_for_tests(motion="base-i2v", num_steps=1)
    out = tiny_pipeline(IMAGE, "a room", "a panoramic room", cfg)
    assert out.perspective.shape == (5, 3, 16, 32)
    assert out.info["base_i2v_evaluations"] == 2 and out.info["base_i2v_cfg"] == "batched"
    assert out.video.shape == (5, 3, 32, 64)
