"""Periodic validation: sample held-out clips with the EMA model exactly as Round 1 runs at inference, score them.

Per validation clip (the first ``validation.clips`` of the cached val split): the cached Round-1 view 0 (guide,
reference, FOV mask, SigLIP tokens) and caption ``validation.caption_style`` go into the inference denoiser
(``GuidedDenoiser`` + ``sample``: UniPC on the Karras schedule, ``validation.num_steps`` steps, CFG
``validation.guidance`` against the negative prompt, FOV paste), seeded by the clip index; the latent is decoded
with ``validation.latent_padding`` circular columns. Scores (``eval.metrics``): the seam suite against the VAE
reconstruction of the clip (``val/seam/...``), and, with a depth head, AbsRel / delta1 of the predicted range at the
last evaluation against the cached latent-grid depth (``val/depth/...``, solid-angle weighted, raw and
median-aligned). A few-step student (``sampler`` of kind "few-step") samples with its own flow times and no CFG
(``pipelines.few_step``), seeded like a generation run with seed = the clip index. Videos go to
``<run>/validation/step_<s>/<clip>.mp4`` when ``validation.write_videos``.

:func:`head_depth_on_truth` evaluates the depth head on a clip's own latent (``bench/head_depth.py``): the head's
accuracy on the true world, apart from how far a generation from noise agrees with that world.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

__all__ = ["validate", "round1_inputs", "score_head_depth", "head_depth_on_truth"]

_KEEP = ("seam/discontinuity", "seam/discontinuity_gap", "seam/end_continuity", "depth/abs_rel/raw",
         "depth/abs_rel/raw@median", "depth/delta1/raw", "depth/delta1/raw@median")


@torch.no_grad()
def validate(model, vae, cache, cfg, step: int, run_dir: Path, device: torch.device,
             sampler=None) -> dict[str, float]:
    """Mean validation metrics over the validation clips (keys prefixed ``val/``); ``sampler`` is the model's
    ``SamplerSpec`` (None: the many-step sampler with ``validation.num_steps`` and ``validation.guidance``)."""
    from panoworld.eval.metrics.depth import DepthMetrics
    from panoworld.eval.metrics.panorama import SeamMetrics
    from panoworld.io import write_video
    from panoworld.pipelines.decode import decode_video
    from panoworld.pipelines.few_step import few_step_schedule, renoise_seed, sample_few_step
    from panoworld.pipelines.guidance import GuidedDenoiser
    from panoworld.pipelines.noise import initial_noise
    from panoworld.pipelines.sampler import sample
    from panoworld.pipelines.schedule import karras_flow_schedule

    from .cache import NEGATIVE

    v = cfg.validation
    few = sampler is not None and sampler.kind == "few-step"
    seam, depth = SeamMetrics(), DepthMetrics(solid_angle=True)
    rows: list[dict[str, float]] = []  # per clip, as update() returns them
    negative = cache.text(NEGATIVE).float()[None].to(device)
    dtype = next(model.parameters()).dtype
    for index, name in enumerate(cache.names("val")[: v.clips]):
        entry = cache.entry(name)
        inputs, x0 = round1_inputs(entry, cache, v.caption_style, negative, index, device)
        noise = inputs.noise
        schedule = few_step_schedule(sampler.timesteps) if few else karras_flow_schedule(v.num_steps)
        denoiser = GuidedDenoiser(model, inputs, schedule, guidance=0.0 if few else v.guidance, compute_dtype=dtype,
                                  want_depth=getattr(model, "has_depth_head", False))
        if few:
            latent = sample_few_step(denoiser, noise, schedule, lambda i, n=index: initial_noise(
                tuple(x0.shape), renoise_seed(n, i)).to(device))
        else:
            latent = sample(denoiser, noise, schedule)
        video = decode_video(vae, latent, pad_columns=v.latent_padding).cpu()
        truth = decode_video(vae, x0.to(device), pad_columns=v.latent_padding).cpu()
        rows.append(seam.update(video, truth))
        if denoiser.depth is not None:
            rows.append(score_head_depth(depth, denoiser.depth, entry.depth()))
        if v.write_videos:
            write_video(Path(run_dir) / "validation" / f"step_{step:07d}" / f"{name}.mp4", video, cfg.data.fps,
                        spherical=True)
    means = {}
    for key in _KEEP:
        values = [row[key] for row in rows if key in row and math.isfinite(row[key])]
        if values:
            means[f"val/{key}"] = sum(values) / len(values)
    return means


def round1_inputs(entry, cache, caption_style: str, negative: torch.Tensor, seed: int, device: torch.device):
    """The inference denoiser's inputs for a cached clip's Round-1 view 0 and its ``caption_style`` caption (the
    first style it has when it lacks that one), with noise seeded by ``seed``: ``(DenoiserInputs, x0)``, x0 the
    clip's own latent (1, C, T, h, w) on the CPU."""
    from panoworld.pipelines.guidance import DenoiserInputs
    from panoworld.pipelines.noise import initial_noise

    guide, reference, mask, tokens = (x[None].to(device) for x in entry.view(0))
    style = caption_style if caption_style in entry.captions else sorted(entry.captions)[0]
    text = cache.texts.get(entry.captions[style]).float()[None].to(device)
    x0 = entry.x0()[None]
    noise = initial_noise(tuple(x0.shape), seed).to(device)
    inputs = DenoiserInputs(text=text, negative_text=negative, image=tokens.float(), reference=reference,
                            mask_channel=mask, paste_latent=guide, paste_mask=mask, noise=noise)
    return inputs, x0


def score_head_depth(metric, depth_log: torch.Tensor, target_log: torch.Tensor | None) -> dict[str, float]:
    """``metric.update`` (a ``DepthMetrics``) of the head's log range (1, 1, T, h, w) against a cached latent-grid
    log range target (T, h, w; NaN where unsupervised, e.g. sky), on the frames the target covers; {} when the
    clip has no depth target."""
    if target_log is None:
        return {}
    frames = torch.isfinite(target_log).flatten(1).any(1)
    if not bool(frames.any()):
        return {}
    return metric.update(depth_log[0, 0].cpu().exp()[frames], target_log.exp()[frames])


@torch.no_grad()
def head_depth_on_truth(model, inputs, x0: torch.Tensor, time: float) -> torch.Tensor:
    """The depth head's log range (1, 1, T, h, w) when the network sees the clip's *own* latent ``x0`` noised to
    flow time ``time`` in (0, 1) (``(1 - t) x0 + t inputs.noise``, the FOV region pasted as at inference), in one
    evaluation of the conditional branch: the head's accuracy on the true world, apart from whether a generation
    from noise agrees with that world outside the input view."""
    import numpy as np

    from panoworld.pipelines.guidance import GuidedDenoiser
    from panoworld.pipelines.schedule import FlowSchedule

    if not 0.0 < time < 1.0:
        raise ValueError(f"time must be in (0, 1), got {time}")
    if not getattr(model, "has_depth_head", False):
        raise ValueError("the transformer has no depth head")
    schedule = FlowSchedule(sigmas=np.array([time, 0.0]), timesteps=np.array([int(math.floor(1000.0 * time))]))
    denoiser = GuidedDenoiser(model, inputs, schedule, guidance=0.0, compute_dtype=next(model.parameters()).dtype,
                              want_depth=True)
    noise = inputs.noise
    denoiser((1.0 - time) * x0.to(noise.device, noise.dtype) + time * noise, 0)
    return denoiser.depth
