"""Controlled degradations: the GT with one known defect, to check that each metric flags the defect it is for.

Each :class:`Degradation` changes either the video (``(T, 3, H, W)`` in [0, 1]) or the annotations of a result,
and names the metric meant to flag it (``flagged_by``; its ideal value is the GT's). Used by the ``degrade-<kind>``
methods (``panoworld eval infer --methods oracle,degrade-flicker,...``: the GT video and annotations, degraded),
by the tests and in docs/eval.md. Random choices come from ``seed``, so a degradation is reproducible.

=============  ===========  ==========================================================  ===========================
kind           changes      what                                                        flagged by
=============  ===========  ==========================================================  ===========================
seam           video        the last 1/32 of the columns brightened by 0.25 (a seam)   seam/discontinuity_gap
poles          video        rows with |latitude| > 60 degrees replaced by their mean    psnr/pole
flicker        video        every frame after the first times a gain 1 +- 15 %          temporal/flicker_gap
frozen         video        frame 0 repeated                                            temporal/motion_gap
shuffled       video        frames after the first in a random order                    temporal/warp_error_gap
noise          video        Gaussian pixel noise, sigma 0.05                            psnr/erp_sw
depth_scale    annotations  depth x 2                                                   depth/abs_rel/raw
tracks_drift   annotations  2-D tracks drift towards the south pole by 1 degree / frame  tracks/delta_avg
=============  ===========  ==========================================================  ===========================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from panoworld.sphere import erp_lonlat

__all__ = ["Degradation", "DEGRADATIONS", "degrade_video", "degrade_annotations"]


@dataclass(frozen=True)
class Degradation:
    """One defect: ``target`` is "video" or "annotations"; ``flagged_by`` the metric meant to catch it."""

    kind: str
    target: str
    description: str
    flagged_by: str


DEGRADATIONS = {d.kind: d for d in (
    Degradation("seam", "video", "the last 1/32 of the columns brightened by 0.25", "seam/discontinuity_gap"),
    Degradation("poles", "video", "rows above 60 degrees of latitude smeared to their mean", "psnr/pole"),
    Degradation("flicker", "video", "a random gain of 1 +- 15 % on every frame after the first",
                "temporal/flicker_gap"),
    Degradation("frozen", "video", "frame 0 repeated", "temporal/motion_gap"),
    Degradation("shuffled", "video", "the frames after the first in a random order", "temporal/warp_error_gap"),
    Degradation("noise", "video", "Gaussian pixel noise, sigma 0.05", "psnr/erp_sw"),
    Degradation("depth_scale", "annotations", "depth x 2", "depth/abs_rel/raw"),
    Degradation("tracks_drift", "annotations", "2-D tracks drift south by 1 degree per annotation frame",
                "tracks/delta_avg"),
)}


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _seam(video: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    cols = max(1, video.shape[-1] // 32)
    out = video.clone()
    out[..., -cols:] = (out[..., -cols:] + 0.25).clamp(0, 1)
    return out


def _poles(video: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    lat = erp_lonlat(*video.shape[-2:], dtype=torch.float64)[:, 0, 1]
    band = lat.abs() > math.radians(60.0)
    out = video.clone()
    out[..., band, :] = video[..., band, :].mean(dim=-1, keepdim=True).expand_as(out[..., band, :])
    return out


def _flicker(video: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    gain = 1 + 0.15 * (2 * torch.rand(video.shape[0], generator=gen) - 1)
    gain[0] = 1.0
    return (video * gain[:, None, None, None].to(video)).clamp(0, 1)


def _frozen(video: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return video[:1].expand_as(video).clone()


def _shuffled(video: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    order = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(video.shape[0] - 1, generator=gen)])
    return video[order]


def _noise(video: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return (video + 0.05 * torch.randn(video.shape, generator=gen).to(video)).clamp(0, 1)


_VIDEO: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "seam": _seam, "poles": _poles, "flicker": _flicker, "frozen": _frozen, "shuffled": _shuffled, "noise": _noise}


def degrade_video(video: torch.Tensor, kind: str, *, seed: int = 0) -> torch.Tensor:
    """(T, 3, H, W) video in [0, 1] with the defect ``kind`` (a video :data:`DEGRADATIONS` entry)."""
    if kind not in _VIDEO:
        raise ValueError(f"{kind!r} is not a video degradation; use one of {', '.join(_VIDEO)}")
    return _VIDEO[kind](video, _generator(seed))


def degrade_annotations(source, target, kind: str, *, fps: float, depth_kind: str = "", seed: int = 0) -> None:
    """Write the annotation folder ``source`` (of a video at ``fps``) to ``target`` with the defect ``kind`` (an
    annotations :data:`DEGRADATIONS` entry); through :class:`panoworld.formats.annotations.AnnotationWriter`."""
    from panoworld.formats.annotations import AnnotationWriter, read_annotations

    if kind not in ("depth_scale", "tracks_drift"):
        raise ValueError(f"{kind!r} is not an annotation degradation; use depth_scale or tracks_drift")
    ann = read_annotations(source, video_fps=fps, depth_kind=depth_kind)
    with AnnotationWriter(target, depth_dtype="float32") as writer:
        meta = writer.copy(source, depth_kind=depth_kind)
        if kind == "depth_scale" and ann.depth is not None:
            for k, depth in enumerate(ann.depth):
                writer.depth(k, 2.0 * depth.numpy())
        if kind == "tracks_drift" and ann.tracks_2d is not None:
            height = ann.size[0]
            tracks = ann.tracks_2d.copy()
            drift = np.arange(tracks.shape[1]) * height / 180.0  # 1 degree of latitude per frame, in pixels
            tracks[..., 1] = np.clip(tracks[..., 1] + drift[None], -0.5, height - 0.5)
            writer.put(tracks_2d=tracks)
        writer.commit({**meta, "degradation": kind})
