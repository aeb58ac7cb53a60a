"""Geometry losses on the heads' latent-grid outputs (docs/train.md has every formula), batched.

- :func:`depth_loss`: scale-invariant log loss (Eigen et al.) weighted by solid angle,
  ``d = log r_pred - log r_gt``, ``L = sum w d^2 / sum w - lambda (sum w d / sum w)^2`` over supervised cells
  (lambda = 1: fully scale-invariant, 0: plain log-MSE); 0 when ``r_pred = r_gt``.
- :func:`track_loss`: symmetric InfoNCE correspondence loss (Track4Gen style) between two latent frames: the
  L2-normalised descriptor of track i at frame a must match track i at frame b against every other track j; a
  track within ``negative_radius`` (geodesic, at frame b) of i is not used as i's negative.
- :func:`rigidity_loss`: static tracks lifted with the predicted range keep their pairwise 3-D distances between
  the two frames: ``mean |D_a - D_b| / mean (D_a + D_b) / 2`` (0 for a rigid, consistent prediction).

Each loss takes one sample / frame pair, or a batch of P of them along a leading axis, so a training step computes
every pair of a batch in one set of kernels (``train.geometry``). Padded points are marked by ``valid`` (P, N)
and contribute nothing. Positions are continuous latent-cell coordinates (x, y), centres at integers; sampling is
bilinear with the longitude wrapped (``panoworld.sphere.sampling``); pass positions on the CPU to build the
sampling plans and the radius masks there, without small device kernels or synchronisations.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from panoworld.sphere import geodesic_distance, lonlat_to_direction, pixel_to_lonlat
from panoworld.sphere.sampling import build_plan

__all__ = ["sample_cells", "depth_loss", "track_loss", "rigidity_loss"]


def sample_cells(grid: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of ``grid`` at latent-cell positions; x wraps around the seam.

    Args:
        grid: (C, h, w), or (P, C, h, w) with one grid per row of ``xy``.
        xy: (N, 2), or (P, N, 2) positions (x, y).

    Returns:
        (N, C), or (P, N, C), in the grid's dtype and device.
    """
    if grid.dim() == 3:
        return sample_cells(grid[None], xy[None])[0]
    p, c, h, w = grid.shape
    n = xy.shape[1]
    xy = xy.detach().to(torch.float64)
    plan = build_plan(xy[..., 0], xy[..., 1], (h, w), mode="bilinear", wrap_x=True)
    index = plan.index.view(-1, p, 1, n).to(grid.device)
    weight = plan.weight.view(-1, p, 1, n).to(grid.device, grid.dtype)
    flat = grid.reshape(p, c, h * w)
    out = torch.gather(flat, 2, index[0].expand(p, c, n)) * weight[0]
    for j in range(1, index.shape[0]):
        out = out + torch.gather(flat, 2, index[j].expand(p, c, n)) * weight[j]
    return out.transpose(1, 2)


def depth_loss(pred_log: torch.Tensor, target_log: torch.Tensor, weights: torch.Tensor,
               scale_invariance: float) -> torch.Tensor:
    """Scale-invariant log loss per sample.

    Args:
        pred_log: (..., T, h, w) predicted natural-log range.
        target_log: (..., T, h, w) target log range, NaN where not supervised.
        weights: (h, 1) solid-angle row weights.
        scale_invariance: lambda in [0, 1].

    Returns:
        (...) losses; 0 (with a zero gradient) for a sample without a supervised cell.
    """
    valid = torch.isfinite(target_log)
    w = weights.to(pred_log) * valid
    d = torch.where(valid, pred_log - target_log.nan_to_num(0.0).to(pred_log), 0.0)
    dims = (-3, -2, -1)
    total = w.sum(dims).clamp_min(torch.finfo(w.dtype).tiny)
    mean = (w * d).sum(dims) / total
    return (w * d * d).sum(dims) / total - scale_invariance * mean * mean


def _lonlat(xy: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return pixel_to_lonlat(xy[..., 0].double(), xy[..., 1].double(), size[0], size[1])


def _valid(xy: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    return torch.ones(xy.shape[:-1], dtype=torch.bool) if valid is None else valid.cpu().bool()


def track_loss(desc_a: torch.Tensor, desc_b: torch.Tensor, xy_a: torch.Tensor, xy_b: torch.Tensor, *,
               temperature: float, negative_radius_deg: float, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE between the tracks' descriptors in two latent frames.

    Args:
        desc_a, desc_b: (C, h, w) descriptor maps of the two latent frames, or (P, C, h, w) for P pairs.
        xy_a, xy_b: (N, 2) positions of the same N tracks (visible in both), N >= 2; or (P, N, 2).
        temperature: softmax temperature on cosine similarities.
        negative_radius_deg: tracks closer than this (great-circle angle at frame b) are not negatives.
        valid: (P, N) bool, False on padding (each pair needs >= 2 valid tracks); None = all valid.

    Returns:
        A scalar, or (P,) losses: the mean over a pair's valid tracks, both directions averaged.
    """
    if desc_a.dim() == 3:
        return track_loss(desc_a[None], desc_b[None], xy_a[None], xy_b[None], temperature=temperature,
                          negative_radius_deg=negative_radius_deg, valid=None if valid is None else valid[None])[0]
    size = tuple(desc_a.shape[-2:])
    keep = _valid(xy_a, valid)
    fa = F.normalize(sample_cells(desc_a, xy_a), dim=-1)
    fb = F.normalize(sample_cells(desc_b, xy_b), dim=-1)
    logits = fa @ fb.transpose(1, 2) / temperature
    ll_b = _lonlat(xy_b.detach().cpu(), size)
    near = geodesic_distance(ll_b[:, :, None], ll_b[:, None, :]) < math.radians(negative_radius_deg)
    allowed = keep[:, :, None] & keep[:, None, :] & ~near
    allowed |= torch.eye(keep.shape[1], dtype=torch.bool)  # a padded row keeps only itself: a zero, finite term
    logits = logits.masked_fill(~allowed.to(logits.device), float("-inf"))
    diag = logits.diagonal(dim1=1, dim2=2)
    rows = torch.logsumexp(logits, 2) - diag
    cols = torch.logsumexp(logits, 1) - diag
    keep = keep.to(logits.device, logits.dtype)
    return 0.5 * ((rows + cols) * keep).sum(1) / keep.sum(1)


def rigidity_loss(log_a: torch.Tensor, log_b: torch.Tensor, xy_a: torch.Tensor, xy_b: torch.Tensor,
                  valid: torch.Tensor | None = None) -> torch.Tensor:
    """Pairwise-distance preservation of static tracks lifted with the predicted range.

    Args:
        log_a, log_b: (h, w) predicted log range of the two latent frames, or (P, h, w).
        xy_a, xy_b: (N, 2) positions of N >= 2 static tracks visible in both frames, or (P, N, 2).
        valid: (P, N) bool, False on padding; None = all valid.

    Returns:
        A scalar, or (P,) losses.
    """
    if log_a.dim() == 2:
        return rigidity_loss(log_a[None], log_b[None], xy_a[None], xy_b[None],
                             None if valid is None else valid[None])[0]
    size = tuple(log_a.shape[-2:])
    keep = _valid(xy_a, valid)
    points = []
    for grid, xy in ((log_a, xy_a), (log_b, xy_b)):
        rng = sample_cells(grid[:, None], xy)[..., 0].exp()
        rays = lonlat_to_direction(_lonlat(xy.detach().cpu(), size)).to(rng)
        points.append(rays * rng[..., None])
    dist_a, dist_b = (((p[:, :, None] - p[:, None, :]).pow(2).sum(-1) + 1e-12).sqrt() for p in points)
    pair = (keep[:, :, None] & keep[:, None, :]).to(dist_a.device, dist_a.dtype)
    count = pair.sum((1, 2))
    gap = ((dist_a - dist_b).abs() * pair).sum((1, 2)) / count
    scale = ((dist_a + dist_b) * pair).sum((1, 2)) / count / 2
    return gap / scale.clamp_min(1e-6)
