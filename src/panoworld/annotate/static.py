"""Per-track static / dynamic flags from geometry, with an optional semantic (detector-based) hook.

A track is static when it (1) is consistent with the camera motion on most frames, (2) stays put in the
stabilised (frame-0 camera) frame, and (3) keeps its distances to its nearest neighbours (rigidity).
Distances are in metres; thresholds combine an absolute floor with a fraction of the point's range,
because estimated depth errors grow with range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch

__all__ = ["StaticFlags", "static_flags", "semantic_static_from_masks", "SemanticClassifier"]

#: A semantic hook: (frames (T,3,H,W) in [0,1], tracks (N,T,2) px, visibility (N,T)) -> (N,) in [0,1], 1 = static.
SemanticClassifier = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class StaticFlags:
    is_static: torch.Tensor  # (N,) bool
    rigidity: torch.Tensor  # (N,) metres (median over neighbours of the std over time of their distance)
    displacement: torch.Tensor  # (N,) metres (max distance from the median stabilised position)
    inlier_fraction: torch.Tensor  # (N,) fraction of visible frames consistent with the camera motion
    semantic: Optional[torch.Tensor] = None  # (N,) semantic static score when a classifier ran


def _rigidity(raw: torch.Tensor, anchor: torch.Tensor, k: int) -> torch.Tensor:
    n = raw.shape[0]
    ok = torch.isfinite(anchor).all(-1)
    out = torch.full((n,), float("nan"), dtype=torch.float64)
    idx = ok.nonzero()[:, 0]
    if len(idx) < 2:
        return out.nan_to_num(0.0)
    a = anchor[idx]
    d = torch.cdist(a, a)
    d.fill_diagonal_(float("inf"))
    nb = idx[d.topk(min(k, len(idx) - 1), largest=False).indices]  # (M, k)
    pi, pj = raw[idx][:, None], raw[nb]  # (M,1,T,3), (M,k,T,3)
    dist = torch.linalg.vector_norm(pi - pj, dim=-1)  # M k T
    fin = torch.isfinite(dist)
    cnt = fin.sum(-1).clamp_min(1)
    mean = torch.where(fin, dist, 0).sum(-1) / cnt
    var = torch.where(fin, (dist - mean[..., None]) ** 2, 0).sum(-1) / cnt
    std = torch.where(fin.sum(-1) >= 2, var.sqrt(), torch.full_like(var, float("nan")))
    out[idx] = std.nanmedian(dim=1).values
    return out.nan_to_num(0.0)


def static_flags(
    raw_points: torch.Tensor,
    stabilised: torch.Tensor,
    inliers: torch.Tensor,
    *,
    neighbours: int = 8,
    abs_m: float = 0.05,
    rel: float = 0.03,
    min_inlier_fraction: float = 0.5,
    semantic: torch.Tensor | None = None,
    reliable: torch.Tensor | None = None,
) -> StaticFlags:
    """Static flags for (N, T, 3) camera-frame ``raw_points`` / ``stabilised`` points and (N, T) ``inliers``.

    ``semantic`` (N,) in [0, 1] (1 = static class), when given, is fused with a logical AND (score > 0.5).
    ``reliable`` (N, T) bool marks frames whose range can be trusted (e.g. not sampled on a depth edge);
    displacement and rigidity use only those frames, the bearing-based inlier test uses all.
    """
    inlier_valid = torch.isfinite(raw_points).all(-1)
    if reliable is not None:
        keep = reliable[..., None]
        raw_points = torch.where(keep, raw_points, torch.nan)
        stabilised = torch.where(keep, stabilised, torch.nan)
    raw, stab = raw_points.double(), stabilised.double()
    valid = torch.isfinite(raw).all(-1)
    rng = torch.linalg.vector_norm(raw, dim=-1)
    med_rng = torch.where(valid, rng, torch.nan).nanmedian(dim=1).values.nan_to_num(1.0)
    centre = torch.where(valid[..., None], stab, torch.nan).nanmedian(dim=1).values
    disp = torch.linalg.vector_norm(stab - centre[:, None], dim=-1)
    disp = torch.where(valid, disp, 0).amax(1)
    rig = _rigidity(raw, centre, neighbours)
    later = inlier_valid.clone()
    later[:, 0] = False
    frac = (inliers & later).sum(1) / later.sum(1).clamp_min(1)
    frac = torch.where(later.sum(1) > 0, frac.double(), torch.ones_like(frac, dtype=torch.float64))
    tol = torch.clamp(rel * med_rng, min=abs_m)
    is_static = (frac >= min_inlier_fraction) & (disp <= tol) & (rig <= tol) & inlier_valid.any(1)
    if semantic is not None:
        is_static = is_static & (semantic > 0.5)
    return StaticFlags(is_static, rig, disp, frac, semantic)


def semantic_static_from_masks(
    dynamic_masks: torch.Tensor, tracks: torch.Tensor, visibility: torch.Tensor, *, frac: float = 0.3,
    threshold: float = 0.5,
) -> torch.Tensor:
    """Reference rule: a track is dynamic when >= ``frac`` of its visible positions fall in a dynamic-class mask.

    ``dynamic_masks`` (T, H, W) bool from any detector/segmenter (e.g. people, vehicles, animals);
    returns (N,) float32, 1 = static.
    """
    t, h, w = dynamic_masks.shape
    xi = torch.remainder(torch.round(tracks[..., 0]).long(), w)
    yi = torch.round(tracks[..., 1]).long().clamp(0, h - 1)
    ti = torch.arange(t)[None].expand_as(xi)
    inside = dynamic_masks[ti, yi, xi]
    vis = visibility > threshold
    share = (inside & vis).sum(1) / vis.sum(1).clamp_min(1)
    return (share < frac).float()
