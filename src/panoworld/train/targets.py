"""Annotation geometry -> supervision on the latent grid (which latent frames, which cells, which positions).

Time: training frame ``i`` shows the source video at ``frame_times[i]`` seconds. Annotation frame ``a`` (at
``ann.times[a]``) belongs to training frame ``i`` when ``|frame_times[i] - times[a]| <= 0.5 / fps``; the causal
VAE puts training frame ``i`` in latent frame ``(i + 3) // 4`` (latent 0 = frame 0, latent k >= 1 = frames
4k-3 ... 4k). A latent frame is supervised only when at least one annotation frame falls into it; e.g. 20
annotation frames spread over a 93-frame clip supervise 20 of its 24 latent frames, a synth clip annotated on every
frame supervises all of them.

Space: one latent cell covers (H / h) x (W / w) annotation pixels. Depth targets are the mean natural-log range
over the cell's valid pixels (sampled on an exact sub-grid of pixel centres, columns wrapped at the seam), and a
cell is kept when at least half of them are valid (not sky / invalid). Track positions are mapped to continuous
latent-cell coordinates (centres at integers) ``x_lat = (x + 0.5) w / W - 0.5``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from panoworld.models.heads import latent_frame_of
from panoworld.sphere.sampling import apply_plan, build_plan

from .data import ClipAnnotations

__all__ = ["annotation_frames", "depth_targets", "track_targets", "MIN_VALID_FRACTION"]

#: A latent cell is supervised when at least this fraction of its sampled pixels has a valid range.
MIN_VALID_FRACTION = 0.5


def annotation_frames(ann_times: np.ndarray, frame_times: np.ndarray, fps: float) -> np.ndarray:
    """(K,) training frame of every annotation frame, -1 where none lies within half a training frame."""
    diff = np.abs(np.asarray(ann_times)[:, None] - np.asarray(frame_times)[None, :])
    nearest = diff.argmin(axis=1)
    ok = diff[np.arange(len(nearest)), nearest] <= 0.5 / fps + 1e-9
    return np.where(ok, nearest, -1)


def _cell_plan(src: tuple[int, int], cells: tuple[int, int]):
    """Nearest-pixel sampling of an (sy x sx) sub-grid per latent cell; returns (plan, sy, sx)."""
    src_h, src_w = src
    h, w = cells
    sy, sx = math.ceil(src_h / h), math.ceil(src_w / w)
    ys = (torch.arange(h * sy, dtype=torch.float64) + 0.5) * src_h / (h * sy) - 0.5
    xs = (torch.arange(w * sx, dtype=torch.float64) + 0.5) * src_w / (w * sx) - 0.5
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return build_plan(x, y, src, mode="nearest", wrap_x=True), sy, sx


def depth_targets(ann: ClipAnnotations, frame_times: np.ndarray, fps: float,
                  latent_shape: tuple[int, int, int]) -> torch.Tensor:
    """(T_lat, h, w) float32 mean log range (metres) per latent cell; NaN where not supervised."""
    t_lat, h, w = latent_shape
    out = torch.full((t_lat, h, w), float("nan"))
    if ann.depth is None:
        return out
    plan, sy, sx = _cell_plan(ann.size, (h, w))
    valid = (~ann.invalid).float()
    log = torch.where(valid > 0, ann.depth.clamp_min(1e-6).log(), torch.zeros_like(ann.depth))
    sampled_log = apply_plan(log * valid, plan).view(-1, h, sy, w, sx)
    sampled_valid = apply_plan(valid, plan).view(-1, h, sy, w, sx)
    sums = torch.zeros(t_lat, h, w, dtype=torch.float64)
    counts = torch.zeros(t_lat, h, w, dtype=torch.float64)
    frames = annotation_frames(ann.times, frame_times, fps)
    for a, frame in enumerate(frames):
        if frame < 0:
            continue
        k = int(latent_frame_of(int(frame)))
        cell_valid = sampled_valid[a].sum(dim=(1, 3)).double()
        keep = cell_valid >= MIN_VALID_FRACTION * sy * sx
        sums[k] += torch.where(keep, sampled_log[a].sum(dim=(1, 3)).double(), 0.0)
        counts[k] += torch.where(keep, cell_valid, 0.0)
    has = counts > 0
    out[has] = (sums[has] / counts[has]).float()
    return out


def track_targets(ann: ClipAnnotations, frame_times: np.ndarray, fps: float, latent_shape: tuple[int, int, int]
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Track positions per latent frame: ((N, T_lat, 2) float32 latent-cell (x, y), (N, T_lat) bool visible,
    (N,) bool static); None without tracks. A latent frame takes the annotation frame nearest to its centre
    (training frame 0 for latent 0, 4k - 1.5 for latent k)."""
    if ann.tracks is None:
        return None
    t_lat, h, w = latent_shape
    src_h, src_w = ann.size
    n = ann.tracks.shape[0]
    xy = torch.zeros(n, t_lat, 2)
    visible = torch.zeros(n, t_lat, dtype=torch.bool)
    frames = annotation_frames(ann.times, frame_times, fps)
    for k in range(t_lat):
        centre = 0.0 if k == 0 else 4 * k - 1.5
        members = [a for a, f in enumerate(frames) if f >= 0 and int(latent_frame_of(int(f))) == k]
        if not members:
            continue
        a = min(members, key=lambda m: abs(frames[m] - centre))
        pts = torch.from_numpy(np.asarray(ann.tracks[:, a], np.float64))
        ok = torch.from_numpy(np.asarray(ann.visible[:, a], bool)) & torch.isfinite(pts).all(-1)
        lat_x = torch.remainder((pts[:, 0] + 0.5) * w / src_w - 0.5, w)
        lat_y = ((pts[:, 1] + 0.5) * h / src_h - 0.5).clamp(-0.5, h - 0.5)
        xy[:, k] = torch.where(ok[:, None], torch.stack([lat_x, lat_y], -1), torch.zeros(n, 2, dtype=torch.float64)
                               ).float()
        visible[:, k] = ok
    return xy, visible, torch.from_numpy(np.asarray(ann.static, bool))
