"""Round-2 samples with K > 1 clean latent frames train what an extension round of ``generate --rounds`` asks:
the network sees exactly what the guided denoiser gives it for an extension round's conditioning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from panoworld.errors import InputError
from panoworld.pipelines.extend import extension_conditioning
from panoworld.pipelines.guidance import DenoiserInputs, GuidedDenoiser
from panoworld.pipelines.schedule import FlowSchedule
from panoworld.train.cache import NEGATIVE, TrainCache
from panoworld.train.objective import FlowMatchingObjective
from panoworld.train.samples import build_sample, collate

from .test_samples import Spy


def test_round2_samples_with_two_clean_frames_match_an_extension_round(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path, samples={"cfg_dropout": 0.0, "round2_fraction": 1.0, "round2_cond_frames": [0, 1]},
                      loss={"depth_weight": 0.0, "track_weight": 0.0, "rigidity_weight": 0.0})
    cache = TrainCache.open(cfg)
    entry = cache.entry(cache.names("train")[0])
    sample = build_sample(entry, cache.texts, cfg.samples, 0, cache.text(NEGATIVE).float())
    assert sample.kind == "round2" and sample.cond_frames.tolist() == [True, True, False]
    assert sample.clean_mask[:, :2].eq(1).all() and sample.clean_mask[:, 2:].eq(0).all()  # (1, T, h, w)

    spy = Spy()
    objective = FlowMatchingObjective(spy, cfg)
    batch = collate([sample])
    t, noise, _ = objective._draws(batch, "cpu")
    objective.loss("transformer", batch, 0, 1.0)
    trained = spy.calls[-1]

    # inference: an extension round whose previous round ended with the clip's first two latent frames
    previous = torch.cat([torch.zeros_like(sample.x0[:, :1]), sample.x0[:, :2]], dim=1)[None]
    cond, _ = extension_conditioning(previous, 2)
    t0 = float(t[0, 0])
    schedule = FlowSchedule(sigmas=np.array([t0, 0.0]), timesteps=np.array([int(np.floor(1000 * t0))]))
    inputs = DenoiserInputs(text=sample.text[None], image=sample.image[None], reference=sample.reference[None],
                            mask_channel=cond.mask(), frame_latent=cond.latent, frames=cond.frames, noise=noise)
    GuidedDenoiser(spy, inputs, schedule, guidance=0.0)((1 - t0) * sample.x0[None] + t0 * noise, 0)
    inferred = spy.calls[-1]
    for key in ("hidden_states", "timestep", "condition_mask"):
        torch.testing.assert_close(trained[key].float(), inferred[key].float(), atol=1e-6, rtol=0, msg=key)
    assert trained["timestep"][0, :2].tolist() == pytest.approx([1e-4, 1e-4])


def test_default_round2_samples_keep_one_clean_frame_and_bad_weights_are_refused(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path, samples={"round2_fraction": 1.0})
    cache = TrainCache.open(cfg)
    entry = cache.entry(cache.names("train")[0])
    uncond = cache.text(NEGATIVE).float()
    assert all(build_sample(entry, cache.texts, cfg.samples, s, uncond).cond_frames.sum() == 1 for s in range(4))
    mixed = make_config(tmp_path, samples={"round2_fraction": 1.0, "round2_cond_frames": [1, 1]})
    counts = {int(build_sample(entry, cache.texts, mixed.samples, s, uncond).cond_frames.sum()) for s in range(16)}
    assert counts == {1, 2}
    for weights in ([1, 1, 1], [], [-1, 2], [0, 0]):  # 9-frame clips have 3 latent frames: K <= 2
        with pytest.raises(InputError, match="round2_cond_frames"):
            make_config(tmp_path, samples={"round2_cond_frames": weights})
