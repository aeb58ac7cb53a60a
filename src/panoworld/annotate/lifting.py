"""Lifting ERP tracks to 3-D: pixel -> (lon, lat) -> unit ray (OpenCV frame) x range from the depth maps."""

from __future__ import annotations

import torch

from panoworld.sphere import lonlat_to_direction, pixel_to_lonlat

__all__ = ["sample_erp", "sample_range", "lift_tracks"]


def _corners(maps: torch.Tensor, tracks: torch.Tensor):
    t, h, w = maps.shape
    x = tracks[..., 0].to(maps.dtype)
    y = tracks[..., 1].to(maps.dtype).clamp(0, h - 1)
    x0 = torch.floor(x)
    y0 = torch.floor(y).clamp(max=h - 2) if h > 1 else torch.zeros_like(y)
    fx, fy = x - x0, y - y0
    xi0 = torch.remainder(x0.long(), w)
    xi1 = torch.remainder(xi0 + 1, w)
    yi0 = y0.long()
    yi1 = (yi0 + 1).clamp(max=h - 1)
    ti = torch.arange(t, device=maps.device)[None].expand_as(xi0)
    corners = torch.stack([maps[ti, yi0, xi0], maps[ti, yi0, xi1], maps[ti, yi1, xi0], maps[ti, yi1, xi1]], -1)
    weights = torch.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], -1)
    return corners, weights


def sample_erp(maps: torch.Tensor, tracks: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of (T, H, W) maps at (N, T, 2) pixel positions -> (N, T); wraps in x, clamps in y."""
    corners, weights = _corners(maps, tracks)
    return (corners * weights).sum(-1)


def sample_range(depth: torch.Tensor, tracks: torch.Tensor, *, edge_ratio: float = 1.5,
                 min_depth: float = 0.01, return_edges: bool = False):
    """Range (N, T) in metres at (N, T, 2) track positions from (T, H, W) range maps.

    Inverse range is interpolated bilinearly (smooth along planes, unlike range). Where the four
    neighbours differ by more than ``edge_ratio`` (a depth edge, where a blend would be a point floating
    between two surfaces) one neighbour is taken: the one closest to the track's range at its temporally
    nearest frame without an edge (the nearest pixel when the track has none).
    """
    corners, weights = _corners(1.0 / depth.double().clamp_min(min_depth), tracks)
    blend = (corners * weights).sum(-1)
    lo, hi = corners.amin(-1), corners.amax(-1)
    edge = hi > edge_ratio * lo
    nearest = corners.gather(-1, weights.argmax(-1, keepdim=True))[..., 0]
    ref = torch.where(edge, torch.full_like(blend, float("nan")), blend)
    t = blend.shape[1]
    filled = ref.clone()
    for d in range(1, t):
        back = torch.full_like(ref, float("nan"))
        fwd = torch.full_like(ref, float("nan"))
        back[:, d:] = ref[:, :-d]
        fwd[:, :-d] = ref[:, d:]
        cand = torch.where(torch.isnan(back), fwd, back)
        filled = torch.where(torch.isnan(filled), cand, filled)
    pick = corners.gather(-1, (corners - filled[..., None]).abs().nan_to_num(0).argmin(-1, keepdim=True))[..., 0]
    chosen = torch.where(torch.isnan(filled), nearest, pick)
    rng = 1.0 / torch.where(edge, chosen, blend)
    return (rng, edge) if return_edges else rng
def lift_tracks(
    tracks: torch.Tensor,
    depth: torch.Tensor,
    visibility: torch.Tensor | None = None,
    *,
    threshold: float = 0.5,
    min_depth: float = 0.01,
    edge_ratio: float = 1.5,
) -> torch.Tensor:
    """(N, T, 2) pixels + (T, H, W) range in metres -> (N, T, 3) camera-frame points in metres (float64).

    Points are NaN where ``visibility <= threshold`` or the range is not finite; ranges come from
    :func:`sample_range` (edge-aware).
    """
    h, w = depth.shape[-2:]
    rng = sample_range(depth, tracks.double(), edge_ratio=edge_ratio, min_depth=min_depth)
    rays = lonlat_to_direction(pixel_to_lonlat(tracks[..., 0].double(), tracks[..., 1].double(), h, w))
    points = rays * rng[..., None]
    bad = ~torch.isfinite(rng)
    if visibility is not None:
        bad = bad | (visibility <= threshold)
    return torch.where(bad[..., None], torch.full_like(points, float("nan")), points)
