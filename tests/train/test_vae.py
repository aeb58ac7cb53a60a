"""VAE training library: data windows, loss, resumable checkpoints, export with latent statistics, evaluation."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from safetensors.torch import load_file

from panoworld.errors import InputError
from panoworld.models.components import VideoVAE
from panoworld.models.components._tiny import tiny_wan_vae_config
from panoworld.train.vae import (
    HELDOUT_SEED_START,
    TRAIN_SEED_START,
    SynthClipCache,
    VAETrainConfig,
    evaluate_vae,
    export_vae,
    latent_statistics,
    load_checkpoint_model,
    render_synth_clip,
    train_vae,
    vae_loss,
)


def tiny_cfg(out_dir, **kw) -> VAETrainConfig:
    base = dict(out_dir=str(out_dir), vae=tiny_wan_vae_config(), size=(16, 32), scenes=2, clip_frames=5, frames=5,
                crop_height=8, batch_size=1, steps=4, checkpoint_every=2, log_every=1, warmup=1)
    return VAETrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A run folder whose two clips are already rendered (shared by the tests, copied where they train)."""
    root = tmp_path_factory.mktemp("vae_data")
    SynthClipCache(tiny_cfg(root)).prepare()
    return root


def shared(tmp_path, data_dir, **kw) -> VAETrainConfig:
    """A tiny config training in ``tmp_path`` on the module's rendered clips."""
    return tiny_cfg(tmp_path, data_dir=str(data_dir / "data"), **kw)


def test_seed_ranges_are_disjoint():
    assert TRAIN_SEED_START + 1_000_000 <= HELDOUT_SEED_START


@pytest.mark.parametrize("bad", [dict(frames=4), dict(size=(16, 48)), dict(size=(12, 24)), dict(crop_height=12),
                                 dict(frames=9, clip_frames=5), dict(scenes=0), dict(image_fraction=1.5),
                                 dict(crop_width=20),
                                 dict(image_batch_size=0), dict(decoder_only=True)])
def test_config_validation(tmp_path, bad):
    with pytest.raises(InputError):
        tiny_cfg(tmp_path, **bad)


def test_config_round_trip_and_unknown_keys(tmp_path):
    cfg = tiny_cfg(tmp_path)
    assert VAETrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(InputError, match="bogus"):
        VAETrainConfig.from_dict({**cfg.to_dict(), "bogus": 1})


def test_render_is_uint8_and_deterministic():
    a = render_synth_clip(TRAIN_SEED_START + 3, frames=2, size=(16, 32))
    assert a.shape == (2, 3, 16, 32) and str(a.dtype) == "uint8"
    assert (a == render_synth_clip(TRAIN_SEED_START + 3, frames=2, size=(16, 32))).all()


def test_samples_are_full_width_bands_and_reproducible(tmp_path, data_dir):
    cache = SynthClipCache(shared(tmp_path, data_dir, batch_size=3))
    cache.prepare()
    a = cache.sample(torch.Generator().manual_seed(1))
    assert a.shape == (3, 3, 5, 8, 32) and a.min() >= -1 and a.max() <= 1
    torch.testing.assert_close(cache.sample(torch.Generator().manual_seed(1)), a, rtol=0, atol=0)
    assert not torch.equal(cache.sample(torch.Generator().manual_seed(2)), a)
    assert cache.sample(torch.Generator().manual_seed(1), frames=1, batch_size=4).shape == (4, 3, 1, 8, 32)
    narrow = SynthClipCache(shared(tmp_path, data_dir, crop_width=16))
    narrow.prepare()
    assert narrow.sample(torch.Generator().manual_seed(1)).shape == (1, 3, 5, 8, 16)
    # every sample is a band of rows (start at a multiple of 8) of some clip, rolled and possibly mirrored
    clips = [(c.float() / 127.5 - 1).permute(1, 0, 2, 3) for c in cache.clips]
    for x in a:
        found = any(
            torch.equal(x, torch.roll(c[:, :, r0:r0 + 8], s, -1).flip(-1) if flip else torch.roll(c[:, :, r0:r0 + 8], s, -1))
            for c in clips for r0 in (0, 8) for s in range(32) for flip in (False, True)
        )
        assert found


def test_loss_parts_and_gradients():
    from panoworld.train.vae import build_model

    cfg = tiny_cfg("unused")
    model = build_model(cfg).train()
    x = torch.rand(1, 3, 5, 8, 32) * 2 - 1
    loss, parts = vae_loss(model, x, cfg, torch.Generator().manual_seed(0))
    assert set(parts) == {"l1", "grad", "kl"} and all(v >= 0 for v in parts.values())
    assert loss.item() == pytest.approx(parts["l1"] + cfg.grad_weight * parts["grad"] + cfg.kl_weight * parts["kl"],
                                        rel=1e-5)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_interrupted_run_resumes_to_the_same_weights(tmp_path, data_dir):
    straight = shared(tmp_path / "a", data_dir)
    ref = train_vae(straight, log=lambda _: None)
    assert ref.name == "step-0000004"

    resumed = shared(tmp_path / "b", data_dir)

    def crash_after_step_3(line):
        if line.startswith("step 3 "):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_vae(resumed, log=crash_after_step_3)
    assert json.loads((tmp_path / "b" / "latest.json").read_text())["step"] == 2
    lines = []
    final = train_vae(resumed, log=lines.append)
    assert any("resumed" in line and "step 2" in line for line in lines)
    a, b = load_file(str(ref / "model.safetensors")), load_file(str(final / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert sorted(p.name for p in (tmp_path / "b" / "checkpoints").iterdir()) == ["step-0000002", "step-0000004"]
    log = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4] and all(r["l1"] > 0 for r in log)


def test_resume_refuses_other_settings_but_extends_steps(tmp_path, data_dir):
    cfg = shared(tmp_path, data_dir, steps=2)
    train_vae(cfg, log=lambda _: None)
    with pytest.raises(InputError, match="lr"):
        train_vae(dataclasses.replace(cfg, lr=1e-2), log=lambda _: None)
    final = train_vae(dataclasses.replace(cfg, steps=3, checkpoint_every=5), log=lambda _: None)
    assert final.name == "step-0000003"


def test_export_writes_a_loadable_fp16_folder_with_latent_statistics(tmp_path, data_dir):
    cfg = shared(tmp_path, data_dir, steps=1)
    train_vae(cfg, log=lambda _: None)
    folder = export_vae(cfg, tmp_path / "export" / "vae")
    config = json.loads((folder / "config.json").read_text())
    assert config["_panoworld_circular_longitude"] is True
    assert {v.dtype for v in load_file(str(folder / "diffusion_pytorch_model.safetensors")).values()} == {
        torch.float16}
    vae = VideoVAE.from_pretrained(folder, dtype=torch.float32)
    assert vae.circular_longitude
    cache = SynthClipCache(cfg)
    cache.prepare()
    clips = [c.float() / 255 for c in cache.clips]
    z = torch.cat([vae.encode((c * 2 - 1).permute(1, 0, 2, 3)[None]) for c in clips], dim=2)
    flat = z.transpose(0, 1).reshape(16, -1)
    assert flat.mean(dim=1).abs().max() < 0.02  # fp16 weights: the statistics came from the fp32 model
    assert (flat.std(dim=1) - 1).abs().max() < 0.02
    mean, std = latent_statistics(load_checkpoint_model(tmp_path), clips)
    assert len(mean) == len(std) == 16
    # a new run can start from the exported weights (e.g. a GPU run continuing the CPU-trained VAE)
    again = train_vae(shared(tmp_path / "again", data_dir, steps=0, init_from=str(folder)), log=lambda _: None)
    exported = load_file(str(folder / "diffusion_pytorch_model.safetensors"))
    started = load_file(str(again / "model.safetensors"))
    assert all(torch.equal(started[k], exported[k].float()) for k in exported)
    with pytest.raises(InputError, match="init_from"):
        train_vae(shared(tmp_path / "bad", data_dir, init_from=str(tmp_path)), log=lambda _: None)


def test_decoder_only_keeps_the_encoder_and_its_latent_statistics(tmp_path, data_dir):
    base = shared(tmp_path / "base", data_dir, steps=1)
    train_vae(base, log=lambda _: None)
    folder = export_vae(base, tmp_path / "base_vae")
    cfg = shared(tmp_path / "dec", data_dir, steps=3, lr=1e-2, init_from=str(folder), decoder_only=True)
    final = train_vae(cfg, log=lambda _: None)
    before = load_file(str(folder / "diffusion_pytorch_model.safetensors"))
    after = load_file(str(final / "model.safetensors"))
    for key, value in before.items():
        same = torch.equal(after[key], value.float())
        assert same == key.startswith(("encoder.", "quant_conv.")), key  # only the decoder side moved
    out = export_vae(cfg, tmp_path / "dec_vae")
    kept, new = (json.loads((f / "config.json").read_text()) for f in (folder, out))
    assert new["latents_mean"] == kept["latents_mean"] and new["latents_std"] == kept["latents_std"]


class _IdentityVAE:
    def encode(self, video):
        return video

    def decode(self, latents):
        return latents


def test_evaluate_reports_quality_and_seam():
    clip = torch.rand(5, 3, 16, 32, generator=torch.Generator().manual_seed(0))
    out = evaluate_vae(_IdentityVAE(), [clip])
    assert out["psnr"] == pytest.approx(100.0) and out["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert out["seam_discontinuity"] == pytest.approx(out["seam_discontinuity_input"], rel=1e-5)


def test_time_limit_checkpoints_and_the_run_resumes(tmp_path, data_dir):
    cfg = shared(tmp_path, data_dir, steps=2, time_limit_s=1e-9)
    lines = []
    stopped = train_vae(cfg, log=lines.append)
    assert stopped.name == "step-0000000" and any("time limit" in line for line in lines)
    files = sorted(p.name for p in stopped.iterdir())
    assert files == ["model.safetensors", "optimizer_exp_avg.safetensors", "optimizer_exp_avg_sq.safetensors",
                     "state.json"]
    assert train_vae(dataclasses.replace(cfg, time_limit_s=0.0), log=lambda _: None).name == "step-0000002"


def test_parallel_rendering_writes_the_same_clips(tmp_path):
    serial = SynthClipCache(tiny_cfg(tmp_path / "serial", clip_frames=1, frames=1))
    parallel = SynthClipCache(tiny_cfg(tmp_path / "parallel", clip_frames=1, frames=1, render_workers=2))
    serial.prepare()
    seen = []
    parallel.prepare(lambda i, n: seen.append((i, n)))
    assert seen[-1] == (2, 2)
    assert all(torch.equal(a, b) for a, b in zip(serial.clips, parallel.clips))
