"""Per-frame statistics of a long ERP video and the junction scores built on them (``panoworld eval extension``).

Frames are (t, 3, H, W) float in [0, 1]; every area mean is weighted by the pixels' solid angle
(:func:`panoworld.sphere.solid_angle_weights`) so the over-sampled pole rows do not dominate. The seam metrics and the
pole band are the evaluation's own (:mod:`panoworld.eval.metrics.panorama`, :func:`~panoworld.eval.metrics.pole_mask`),
applied frame by frame.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from panoworld.sphere import solid_angle_weights

from .metrics import depth_temporal_cv, discontinuity_score, end_continuity, pole_mask, seam_flicker

__all__ = ["FRAME_METRICS", "DEPTH_METRICS", "FrameStatistics", "depth_statistics", "depth_round_cv",
           "boundary_jump", "track_survival", "window_means"]

#: Per-frame metrics of the pixels: name -> unit.
FRAME_METRICS = {
    "colour/luma_mean": "intensity [0, 1]",
    "colour/luma_std": "intensity [0, 1]",
    "colour/saturation": "HSV saturation [0, 1]",
    "colour/red": "intensity [0, 1]",
    "colour/green": "intensity [0, 1]",
    "colour/blue": "intensity [0, 1]",
    "sharpness/laplacian": "mean squared Laplacian of luma (intensity^2)",
    "seam/end_continuity": "intensity [0, 1]",
    "seam/discontinuity": "ratio (1 = no seam)",
    "seam/flicker": "ratio (1 = like the rest)",
    "poles/sharpness_ratio": "ratio pole band / rest",
    "poles/change_ratio": "ratio pole band / rest",
    "motion/frame_change": "mean |frame - previous| (intensity)",
}
#: Per-frame depth metrics: name -> unit.
DEPTH_METRICS = {"depth/mean_m": "m (geometric mean range)", "depth/change": "mean |d ln range| per second"}

_LUMA = (0.299, 0.587, 0.114)


def _weighted(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(t,) means of (t, H, W) ``values`` with (H, W) ``weights`` (not normalised)."""
    return (values * weights).sum(dim=(-2, -1)) / weights.sum()


def _laplacian_energy(luma: torch.Tensor) -> torch.Tensor:
    """(t, H, W) squared 4-neighbour Laplacian, wrapped across the seam, edge rows replicated."""
    padded = F.pad(F.pad(luma[:, None], (1, 1, 0, 0), mode="circular"), (0, 0, 1, 1), mode="replicate")[:, 0]
    lap = padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:] - 4 * luma
    return lap * lap


class FrameStatistics:
    """Streams a video chunk by chunk (``update``) and keeps one value per frame and metric (``values``)."""

    def __init__(self):
        self.values: dict[str, list[float]] = {name: [] for name in FRAME_METRICS}
        self._previous: torch.Tensor | None = None
        self._weights: dict[str, torch.Tensor] = {}

    def _masks(self, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not self._weights:
            sw = solid_angle_weights(height, width, dtype=torch.float32)
            pole = pole_mask(height, width)
            self._weights = {"all": sw, "pole": sw * pole, "rest": sw * (1 - pole)}
        return self._weights["all"], self._weights["pole"], self._weights["rest"]

    def update(self, frames: torch.Tensor) -> None:
        frames = frames.float()
        sw, pole, rest = self._masks(*frames.shape[-2:])
        luma = sum(c * frames[:, i] for i, c in enumerate(_LUMA))
        mean = _weighted(luma, sw)
        hi, lo = frames.max(dim=1).values, frames.min(dim=1).values
        energy = _laplacian_energy(luma)
        out = {
            "colour/luma_mean": mean,
            "colour/luma_std": (_weighted(luma * luma, sw) - mean * mean).clamp_min(0).sqrt(),
            "colour/saturation": _weighted((hi - lo) / hi.clamp_min(1e-6), sw),
            "colour/red": _weighted(frames[:, 0], sw),
            "colour/green": _weighted(frames[:, 1], sw),
            "colour/blue": _weighted(frames[:, 2], sw),
            "sharpness/laplacian": _weighted(energy, sw),
            "poles/sharpness_ratio": _weighted(energy, pole) / _weighted(energy, rest).clamp_min(1e-12),
        }
        for name, value in out.items():
            self.values[name].extend(value.tolist())
        for i, frame in enumerate(frames):
            self.values["seam/end_continuity"].append(end_continuity(frame[None]))
            self.values["seam/discontinuity"].append(discontinuity_score(frame[None]))
            before = frames[i - 1] if i > 0 else (None if self._previous is None else self._previous[0])
            if before is None:
                for name in ("seam/flicker", "poles/change_ratio", "motion/frame_change"):
                    self.values[name].append(math.nan)
                continue
            self.values["seam/flicker"].append(seam_flicker(torch.stack([before, frame])))
            change = (frame - before).abs().mean(dim=0)
            self.values["poles/change_ratio"].append(float(_weighted(change, pole) / _weighted(change, rest)
                                                           .clamp_min(1e-12)))
            self.values["motion/frame_change"].append(float(_weighted(change, sw)))
        self._previous = frames[-1:].clone()


def depth_statistics(depth: np.ndarray, frame_indices: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    """Per depth frame (K,) values of :data:`DEPTH_METRICS` from (K, h, w) range maps in metres at video frames
    ``frame_indices`` (invalid: NaN, inf or <= 0; ``depth/change`` is NaN for the first frame)."""
    d = torch.as_tensor(np.asarray(depth, np.float32))
    valid = torch.isfinite(d) & (d > 0)
    logd = torch.where(valid, d.clamp_min(1e-6).log(), torch.zeros_like(d))
    sw = solid_angle_weights(*d.shape[-2:], dtype=torch.float32)
    w = sw * valid
    mean_log = (logd * w).sum(dim=(-2, -1)) / w.sum(dim=(-2, -1)).clamp_min(1e-12)
    change = np.full(len(d), np.nan)
    times = np.asarray(frame_indices, np.float64) / fps
    for k in range(1, len(d)):
        both = w[k] * valid[k - 1]
        if float(both.sum()) > 0 and times[k] > times[k - 1]:
            change[k] = float(((logd[k] - logd[k - 1]).abs() * both).sum() / both.sum()) / (times[k] - times[k - 1])
    empty = w.sum(dim=(-2, -1)) == 0
    return {"depth/mean_m": np.where(empty.numpy(), np.nan, mean_log.exp().numpy()), "depth/change": change}


def depth_round_cv(depth: np.ndarray, frame_indices: np.ndarray, bounds: list[tuple[int, int]]) -> list[float]:
    """``consistency.depth_temporal_cv`` of the depth frames inside each [start, end) frame range."""
    index = np.asarray(frame_indices)
    out = []
    for start, end in bounds:
        pick = np.flatnonzero((index >= start) & (index < end))
        out.append(depth_temporal_cv(torch.as_tensor(np.asarray(depth[pick], np.float32))) if len(pick) else math.nan)
    return out


def boundary_jump(frame_change: np.ndarray, junction: int, overlap: int, fps: float) -> float:
    """How much more the picture changes across a junction than around it (1 = as usual, >> 1 = a visible cut).

    ``frame_change[t]`` is the change from frame t - 1 to t. The junction's window is the changes into frames
    ``junction ... junction + overlap`` (into, through and out of the cross-faded frames); its largest change is
    divided by the median change of the second before and after the window.
    """
    change = np.asarray(frame_change, np.float64)
    lo, hi = max(1, junction), min(len(change) - 1, junction + overlap)
    if hi < lo:
        return math.nan
    reach = max(2, int(round(fps)))
    around = np.r_[change[max(1, lo - reach):lo], change[hi + 1:hi + 1 + reach]]
    around = around[np.isfinite(around)]
    if len(around) == 0:
        return math.nan
    return float(np.nanmax(change[lo:hi + 1]) / max(float(np.median(around)), 1e-9))


def track_survival(visibility: np.ndarray, start: int, end: int) -> float:
    """Fraction of the tracks visible at column ``start`` of (N, T) ``visibility`` that are visible at ``end``."""
    vis = np.asarray(visibility) > 0.5
    alive = vis[:, start]
    return float(vis[alive, end].mean()) if alive.any() else math.nan


def window_means(values: np.ndarray, frames: np.ndarray, bounds: list[tuple[int, int]]) -> list[float]:
    """Mean of the finite ``values`` whose video ``frames`` lie in each [start, end) range (NaN for none)."""
    values, frames = np.asarray(values, np.float64), np.asarray(frames)
    out = []
    for start, end in bounds:
        pick = values[(frames >= start) & (frames < end)]
        pick = pick[np.isfinite(pick)]
        out.append(float(pick.mean()) if len(pick) else math.nan)
    return out
