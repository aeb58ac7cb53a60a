"""Geometry losses on the heads' latent-grid outputs (docs/train.md has every formula).

- :func:`depth_loss`: scale-invariant log loss (Eigen et al.) weighted by solid angle,
  ``d = log r_pred - log r_gt``, ``L = sum w d^2 / sum w - lambda (sum w d / sum w)^2`` over supervised cells
  (lambda = 1: fully scale-invariant, 0: plain log-MSE); 0 when ``r_pred = r_gt``.
- :func:`track_loss`: symmetric InfoNCE correspondence loss (Track4Gen style) between two latent frames: the
  L2-normalised descriptor of track i at frame a must match track i at frame b against every other track j; a
  track within ``negative_radius`` (geodesic, at frame b) of i is not used as i's negative.
- :func:`rigidity_loss`: static tracks lifted with the predicted range keep their pairwise 3-D distances between
  the two frames: ``mean |D_a - D_b| / mean (D_a + D_b) / 2`` (0 for a rigid, consistent prediction).

Positions are continuous latent-cell coordinates (x, y), centres at integers; sampling is bilinear with the
longitude wrapped (``panoworld.sphere.sampling``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from panoworld.sphere import geodesic_distance, lonlat_to_direction, pixel_to_lonlat
from panoworld.sphere.sampling import apply_plan, build_plan

__all__ = ["sample_cells", "depth_loss", "track_loss", "rigidity_loss"]


def sample_cells(grid: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of (C, h, w) ``grid`` at (N, 2) latent-cell positions -> (N, C); x wraps around the seam."""
    xy = xy.to(grid.device, torch.float64)
    plan = build_plan(xy[None, :, 0], xy[None, :, 1], tuple(grid.shape[-2:]), mode="bilinear", wrap_x=True)
    return apply_plan(grid, plan)[:, 0].transpose(0, 1)


def depth_loss(pred_log: torch.Tensor, target_log: torch.Tensor, weights: torch.Tensor,
               scale_invariance: float) -> torch.Tensor:
    """Scale-invariant log loss of one sample.

    Args:
        pred_log: (T, h, w) predicted natural-log range.
        target_log: (T, h, w) target log range, NaN where not supervised.
        weights: (h, 1) solid-angle row weights.
        scale_invariance: lambda in [0, 1].

    Returns:
        A scalar; 0 (with a zero gradient) when no cell is supervised.
    """
    valid = torch.isfinite(target_log)
    if not bool(valid.any()):
        return pred_log.sum() * 0.0
    w = weights.to(pred_log).expand_as(pred_log)[valid]
    d = pred_log[valid] - target_log[valid].to(pred_log)
    total = w.sum()
    mean = (w * d).sum() / total
    return (w * d * d).sum() / total - scale_invariance * mean * mean


def _lonlat(xy: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return pixel_to_lonlat(xy[..., 0].double(), xy[..., 1].double(), size[0], size[1])


def track_loss(desc_a: torch.Tensor, desc_b: torch.Tensor, xy_a: torch.Tensor, xy_b: torch.Tensor, *,
               temperature: float, negative_radius_deg: float) -> torch.Tensor:
    """Symmetric InfoNCE between the tracks' descriptors in two latent frames.

    Args:
        desc_a, desc_b: (C, h, w) descriptor maps of the two latent frames.
        xy_a, xy_b: (N, 2) positions of the same N tracks (visible in both), N >= 2.
        temperature: softmax temperature on cosine similarities.
        negative_radius_deg: tracks closer than this (great-circle angle at frame b) are not negatives.
    """
    size = tuple(desc_a.shape[-2:])
    fa = F.normalize(sample_cells(desc_a, xy_a), dim=-1)
    fb = F.normalize(sample_cells(desc_b, xy_b), dim=-1)
    logits = fa @ fb.T / temperature
    ll_b = _lonlat(xy_b, size)
    near = geodesic_distance(ll_b[:, None], ll_b[None, :]) < math.radians(negative_radius_deg)
    near.fill_diagonal_(False)
    logits = logits.masked_fill(near.to(logits.device), float("-inf"))
    labels = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


def rigidity_loss(log_a: torch.Tensor, log_b: torch.Tensor, xy_a: torch.Tensor, xy_b: torch.Tensor) -> torch.Tensor:
    """Pairwise-distance preservation of static tracks lifted with the predicted range.

    Args:
        log_a, log_b: (h, w) predicted log range of the two latent frames.
        xy_a, xy_b: (N, 2) positions of N >= 2 static tracks visible in both frames.
    """
    size = tuple(log_a.shape[-2:])
    points = []
    for grid, xy in ((log_a, xy_a), (log_b, xy_b)):
        rng = sample_cells(grid[None], xy)[:, 0].exp()
        rays = lonlat_to_direction(_lonlat(xy, size)).to(rng)
        points.append(rays * rng[:, None])
    dist_a, dist_b = (((p[:, None] - p[None, :]).pow(2).sum(-1) + 1e-12).sqrt() for p in points)
    return (dist_a - dist_b).abs().mean() / ((dist_a + dist_b).mean() / 2).clamp_min(1e-6)
