"""Training samples mirror inference: the network sees exactly what the guided denoiser would give it, and the
Round-2 reference is never the target video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from panoworld.errors import InputError
from panoworld.models.transformer import PanoWorldTransformerOutput
from panoworld.pipelines.guidance import DenoiserInputs, GuidedDenoiser
from panoworld.pipelines.schedule import FlowSchedule
from panoworld.train.cache import NEGATIVE, TrainCache
from panoworld.train.config import SamplesConfig, load_config
from panoworld.train.objective import FlowMatchingObjective
from panoworld.train.samples import View, build_sample, collate, round2_proxy


class Spy(torch.nn.Module):
    """Records the keyword arguments of every call; returns zeros."""

    def __init__(self):
        super().__init__()
        self.calls = []
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, **kwargs):
        self.calls.append({k: v.detach().clone() if torch.is_tensor(v) else v for k, v in kwargs.items()})
        x = kwargs["hidden_states"][:, :16]
        return PanoWorldTransformerOutput(sample=torch.zeros_like(x)) if kwargs.get("return_dict", True) \
            else (torch.zeros_like(x),)


def _sample(cfg, cache, kind: str):
    entry = cache.entry(cache.names("train")[0])
    for seed in range(200):
        s = build_sample(entry, cache.texts, cfg.samples, seed, cache.text(NEGATIVE).float())
        if s.kind == kind and s.image is not None:
            return entry, s
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["round1", "round2"])
def test_objective_feeds_the_network_what_the_guided_denoiser_feeds_it(tiny_cache, tmp_path, kind):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path, samples={"cfg_dropout": 0.0},
                      loss={"depth_weight": 0.0, "track_weight": 0.0, "rigidity_weight": 0.0})
    cache = TrainCache.open(cfg)
    entry, sample = _sample(cfg, cache, kind)
    spy = Spy()
    objective = FlowMatchingObjective(spy, cfg)
    batch = collate([sample])
    t, noise, _ = objective._draws(batch, "cpu")
    objective.loss("transformer", batch, 0, 1.0)
    trained = spy.calls[-1]

    t0 = float(t[0, 0])
    schedule = FlowSchedule(sigmas=np.array([t0, 0.0]), timesteps=np.array([int(np.floor(1000 * t0))]))
    x_t = (1 - t0) * sample.x0[None] + t0 * noise
    if kind == "round1":
        inputs = DenoiserInputs(text=sample.text[None], image=sample.image[None], reference=sample.reference[None],
                                mask_channel=sample.clean_mask[None], paste_latent=sample.clean[None],
                                paste_mask=sample.clean_mask[None], noise=noise)
    else:
        frame_latent = torch.zeros_like(sample.x0)
        frame_latent[:, 0] = sample.x0[:, 0]
        inputs = DenoiserInputs(text=sample.text[None], image=sample.image[None], reference=sample.reference[None],
                                mask_channel=sample.clean_mask[None], frame_latent=frame_latent[None],
                                frames=sample.cond_frames, noise=noise)
    GuidedDenoiser(spy, inputs, schedule, guidance=0.0)(x_t, 0)
    inferred = spy.calls[-1]
    for key in ("hidden_states", "timestep", "encoder_hidden_states", "image_hidden_states", "condition_mask"):
        torch.testing.assert_close(trained[key].float(), inferred[key].float(), atol=1e-6, rtol=0, msg=key)
    if kind == "round1":
        assert 0 < float(sample.clean_mask.mean()) < 1 and not sample.cond_frames.any()
    else:
        assert sample.cond_frames.tolist() == [True, False, False]
        assert float(trained["timestep"][0, 0]) == pytest.approx(1e-4)


def test_cached_round1_view_is_the_inference_conditioning_of_that_view(tiny_cache, tmp_path):
    from panoworld.pipelines.conditioning import build_fov_conditioning
    from panoworld.sphere import erp_to_perspective
    from panoworld.train import components
    from panoworld.train.cache import collect_clips
    from panoworld.train.data import read_clip_video
    from safetensors import safe_open

    make_config, _ = tiny_cache
    cfg = make_config(tmp_path)
    cache = TrainCache.open(cfg)
    clip = collect_clips(cfg)["train"][0]
    entry = cache.entry(clip.name)
    with safe_open(str(entry.path), framework="pt") as fh:
        views = fh.get_tensor("r1_views")
    frames, _ = read_clip_video(clip, num_frames=9, fps=16.0, size=(32, 64))
    fov, yaw, pitch, roll = views[1].tolist()
    assert 60 <= fov <= 120 and abs(pitch) <= 15 and abs(roll) <= 5
    persp = erp_to_perspective(frames[:1], fov_x=fov, yaw=yaw, pitch=pitch, roll=roll, size=(16, 22)).clamp(0, 1)
    vae = components.load_vae(cfg.components.vae, torch.device("cpu"), "fp32")
    again = build_fov_conditioning(persp, vae, num_frames=9, erp_size=(32, 64), fov_x=fov, yaw=yaw, pitch=pitch,
                                   roll=roll, seed=0)
    guide, _, mask, tokens = entry.view(1)
    torch.testing.assert_close(guide, again.guide[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(mask, again.mask[0])
    assert tokens.shape == (16, 16)


def test_round2_reference_is_never_the_target(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cache = TrainCache.open(make_config(tmp_path))
    for name in cache.names("train"):
        entry = cache.entry(name)
        x0 = entry.x0()
        for k in range(entry.num_views):
            assert (entry.proxy(k) - x0)[:, 1:].abs().max() > 1e-3  # later latent frames: not VAE(target)
    torch.manual_seed(0)
    frames = torch.rand(9, 3, 32, 64)
    view = View(90.0, 0.0, 0.0, 0.0)
    g = torch.Generator().manual_seed(0)
    proxy = round2_proxy(frames, view, SamplesConfig(proxy_blur=[1.0, 1.0], proxy_noise_std=0.0), g,
                         persp_size=(16, 22))
    assert not torch.equal(proxy[1:], frames[1:])
    centre = proxy[:, :, 12:20, 28:36]  # inside the frozen FOV window at yaw 0: frame 0 everywhere
    torch.testing.assert_close(centre, frames[:1, :, 12:20, 28:36].expand_as(centre))
    with pytest.raises(InputError, match="copy"):
        load_config("tiny-synth", ["samples.proxy_speed=[1.0, 1.0]", "samples.proxy_freeze_fov=false",
                                   "samples.proxy_blur=[1.0, 1.0]", "samples.proxy_noise_std=0.0"])


def test_dropout_and_collate(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path, samples={"cfg_dropout": 0.5})
    cache = TrainCache.open(cfg)
    entry = cache.entry(cache.names("train")[0])
    uncond = cache.text(NEGATIVE).float()
    samples = [build_sample(entry, cache.texts, cfg.samples, seed, uncond) for seed in range(12)]
    dropped = [s for s in samples if s.image is None]
    assert dropped and len(dropped) < len(samples)
    assert all(torch.equal(s.text, uncond) for s in dropped)  # the unconditional branch: negative prompt, no image
    batch = collate(samples)
    assert batch.image.shape[0] == len(samples) - len(dropped)
    assert batch.seeds[: batch.image.shape[0]] == [s.seed for s in samples if s.image is not None]
    again = build_sample(entry, cache.texts, cfg.samples, 3, uncond)
    assert torch.equal(again.reference, samples[3].reference) and again.kind == samples[3].kind


def test_cache_entry_equals_the_one_view_at_a_time_path(tiny_cache, tmp_path):
    """The cache batches each clip's K guides, K references and K proxies into one VAE encode each (and the K SigLIP
    inputs into one call); every tensor equals the one-view-at-a-time computation with the same random draws
    (view, noise seed, proxy speed / blur / noise, in that order per view) within float rounding."""
    import hashlib

    from safetensors import safe_open

    from panoworld.train import components
    from panoworld.train.cache import collect_clips
    from panoworld.train.data import read_clip_video
    from panoworld.train.samples import draw_view, round1_conditioning

    make_config, _ = tiny_cache
    cfg = make_config(tmp_path)
    d, s = cfg.data, cfg.samples
    clip = collect_clips(cfg)["train"][1]
    with safe_open(str(TrainCache.open(cfg).entry(clip.name).path), framework="pt") as fh:
        cached = {k: fh.get_tensor(k) for k in fh.keys()}
    frames, _ = read_clip_video(clip, num_frames=d.num_frames, fps=d.fps, size=(d.height, d.width))
    vae = components.load_vae(cfg.components.vae, torch.device("cpu"), "fp32")
    image_encoder = components.load_image_encoder(cfg.components.image_encoder, torch.device("cpu"), "fp32")
    gen = torch.Generator().manual_seed(int(hashlib.sha256(f"{cfg.run.seed}:{clip.name}".encode()).hexdigest()[:12],
                                            16))
    expected = {"r1_guide": [], "r1_reference": [], "r1_mask": [], "r1_tokens": [], "r1_views": [],
                "r2_reference": []}
    for _ in range(s.views_per_clip):
        view = draw_view(s, gen)
        fov, tokens, _ = round1_conditioning(frames, view, vae, image_encoder, num_frames=d.num_frames,
                                             persp_size=(d.persp_height, d.persp_width),
                                             fill_noise_std=s.fill_noise_std,
                                             seed=int(torch.randint(2**31, (), generator=gen)),
                                             orientation=s.siglip_orientation)
        proxy = round2_proxy(frames, view, s, gen, persp_size=(d.persp_height, d.persp_width))
        for key, value in (("r1_guide", fov.guide[0]), ("r1_reference", fov.reference[0]),
                           ("r1_mask", fov.mask[0].to(torch.uint8)), ("r1_tokens", tokens),
                           ("r1_views", torch.tensor(view.as_list(), dtype=torch.float64)),
                           ("r2_reference", vae.encode((proxy * 2 - 1).permute(1, 0, 2, 3)[None])[0])):
            expected[key].append(value)
    assert s.views_per_clip == 2 and cached["r1_guide"].shape[0] == 2
    for key, values in expected.items():
        torch.testing.assert_close(cached[key], torch.stack(values).to(cached[key].dtype), atol=1e-5, rtol=1e-5,
                                   msg=lambda m, key=key: f"{key}: {m}")
    assert not torch.allclose(cached["r2_reference"][0], cached["r2_reference"][1])
