"""Lifting ERP tracks to 3-D: pixel -> (lon, lat) -> unit ray (OpenCV frame) x range from the depth maps.

A track follows one scene point, so it lies on one surface for its whole life. Where a track sits on a depth
edge (the four depth pixels around it belong to different surfaces) the surface is chosen so that the track's
range changes as little as possible over time (a shortest path over its visible frames), and frames whose depth
map shows only other surfaces (a sub-pixel thin structure, a tracker slipping over a silhouette) get no range
instead of a jump to another surface.
"""

from __future__ import annotations

import math

import torch

from panoworld.sphere import lonlat_to_direction, pixel_to_lonlat

__all__ = ["sample_erp", "sample_range", "lift_tracks"]

#: Cost of switching surfaces between two frames, in units of surface weight (the bilinear weight of the corners
#: on the chosen surface, 1 for a frame off any edge): a switch costs as much as one frame spent off the surface.
SWITCH_COST = 1.0
#: Cost per unit of |log range change| between frames: among paths with the same switches, the smoothest wins.
SMOOTHNESS_COST = 0.05


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


def _one_surface(inverse: torch.Tensor, weights: torch.Tensor, seen: torch.Tensor, edge: torch.Tensor,
                 ratio: float) -> torch.Tensor:
    """One surface per track through its seen frames -> (N, T) inverse range, NaN where dropped or not seen.

    ``inverse`` (N, T, 4) inverse ranges of the four corners with bilinear ``weights``; ``seen`` (N, T) frames to
    use; ``edge`` (N, T) frames on a depth edge. Corners within ``ratio`` of each other are one surface; state k of
    a frame is corner k's surface, valued at the weighted mean of its corners' inverse ranges, with weight
    ``s_k`` = the bilinear weight of those corners. A Viterbi pass over each track's seen frames minimises
    sum (1 - s_k) + :data:`SWITCH_COST` per jump by more than ``ratio`` + :data:`SMOOTHNESS_COST` |jump of log
    range|. The path is cut at its jumps next to an edge frame (a jump between two edge-free frames is motion)
    and the piece with the largest total surface weight is kept (ties: the nearer surface, the occluding side of
    a silhouette); the track's other frames show only other surfaces and get no range.
    """
    n, t, k = inverse.shape
    log_ratio = math.log(ratio)
    ratios = (inverse[..., :, None].log() - inverse[..., None, :].log()).abs()
    same = (ratios <= log_ratio).to(inverse.dtype)  # (N, T, 4, 4)
    surface = (same * weights[..., None, :]).sum(-1)  # (N, T, 4)
    value = (same * (weights * inverse)[..., None, :]).sum(-1) / surface.clamp_min(1e-12)
    order = torch.sort((~seen).to(torch.int8), dim=1, stable=True).indices  # seen frames first, in time order
    pick = order[..., None].expand(-1, -1, k)
    lv, sw = value.gather(1, pick).log(), surface.gather(1, pick)
    valid, on_edge = seen.gather(1, order), edge.gather(1, order)
    cost = 1 - sw[:, 0]
    back = torch.zeros(n, t, k, dtype=torch.long, device=inverse.device)
    stay = torch.arange(k, device=inverse.device).expand(n, k)
    for p in range(1, t):
        step = (lv[:, p, :, None] - lv[:, p - 1, None, :]).abs()  # [n, state, previous state]
        total = cost[:, None, :] + SWITCH_COST * (step > log_ratio) + SMOOTHNESS_COST * step
        best, arg = total.min(-1)
        ok = valid[:, p, None]
        cost = torch.where(ok, best + 1 - sw[:, p], cost)
        back[:, p] = torch.where(ok, arg, stay)
    state = cost.argmin(-1)
    path = torch.empty(n, t, dtype=torch.long, device=inverse.device)
    for p in range(t - 1, -1, -1):
        path[:, p] = state
        state = back[:, p].gather(1, state[:, None])[:, 0]
    chosen, weight = lv.gather(2, path[..., None])[..., 0], sw.gather(2, path[..., None])[..., 0]
    jump = torch.zeros_like(valid)
    jump[:, 1:] = (valid[:, 1:] & valid[:, :-1] & (on_edge[:, 1:] | on_edge[:, :-1])
                   & ((chosen[:, 1:] - chosen[:, :-1]).abs() > log_ratio))
    piece = torch.cumsum(jump.long(), 1)
    zero = torch.zeros(n, t, dtype=inverse.dtype, device=inverse.device)
    mass = zero.scatter_add(1, piece, torch.where(valid, weight, zero))
    count = zero.scatter_add(1, piece, valid.to(inverse.dtype))
    level = zero.scatter_add(1, piece, torch.where(valid, chosen, zero)) / count.clamp_min(1)
    score = torch.where(count > 0, mass + 1e-3 * torch.sigmoid(level), torch.full_like(mass, -1.0))
    kept = valid & (piece == score.argmax(1, keepdim=True))
    packed = torch.where(kept, chosen.exp(), torch.full_like(chosen, float("nan")))
    return torch.full_like(packed, float("nan")).scatter(1, order, packed)


def sample_range(depth: torch.Tensor, tracks: torch.Tensor, visibility: torch.Tensor | None = None, *,
                 threshold: float = 0.5, edge_ratio: float = 1.5, min_depth: float = 0.01,
                 return_edges: bool = False):
    """Range (N, T) in metres at (N, T, 2) track positions from (T, H, W) range maps.

    Inverse range is interpolated bilinearly (smooth along planes, unlike range). Where the four neighbours
    differ by more than ``edge_ratio`` (a depth edge, where a blend would be a point floating between two
    surfaces) only the neighbours of one surface are interpolated, the surface chosen over the track's frames so
    that the track keeps one surface (:func:`_one_surface`). NaN where ``visibility <= threshold`` (when given),
    the depth is not finite, or the frame shows only another surface than the track's. With ``return_edges``
    also the (N, T) bool map of samples taken on an edge.
    """
    corners, weights = _corners(depth.double(), tracks)
    finite = torch.isfinite(corners).all(-1)
    inverse = 1.0 / corners.clamp_min(min_depth).nan_to_num(1.0)
    inverse = inverse.clamp_min(1e-9)
    edge = inverse.amax(-1) > edge_ratio * inverse.amin(-1)
    seen = finite if visibility is None else finite & (visibility.to(finite.device) > threshold)
    rng = 1.0 / _one_surface(inverse, weights, seen, edge, edge_ratio)
    return (rng, edge) if return_edges else rng


def lift_tracks(
    tracks: torch.Tensor,
    depth: torch.Tensor,
    visibility: torch.Tensor | None = None,
    *,
    threshold: float = 0.5,
    min_depth: float = 0.01,
    edge_ratio: float = 1.5,
    return_edges: bool = False,
):
    """(N, T, 2) pixels + (T, H, W) range in metres -> (N, T, 3) camera-frame points in metres (float64).

    Points are NaN where ``visibility <= threshold`` or :func:`sample_range` gives no range (one surface per
    track). With ``return_edges`` also the (N, T) map of samples taken on a depth edge.
    """
    h, w = depth.shape[-2:]
    rng, edge = sample_range(depth, tracks.double(), visibility, threshold=threshold, edge_ratio=edge_ratio,
                             min_depth=min_depth, return_edges=True)
    rays = lonlat_to_direction(pixel_to_lonlat(tracks[..., 0].double(), tracks[..., 1].double(), h, w))
    points = rays * rng[..., None]
    points = torch.where(torch.isfinite(rng)[..., None], points, torch.full_like(points, float("nan")))
    return (points, edge) if return_edges else points
