"""Lifting ERP tracks to 3-D: pixel -> (lon, lat) -> unit ray (OpenCV frame) x range from the depth maps."""

from __future__ import annotations

import torch

from panoworld.sphere import lonlat_to_direction, pixel_to_lonlat

__all__ = ["sample_erp", "lift_tracks"]


def sample_erp(maps: torch.Tensor, tracks: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of (T, H, W) maps at (N, T, 2) pixel positions -> (N, T); wraps in x, clamps in y."""
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
    v00, v01 = maps[ti, yi0, xi0], maps[ti, yi0, xi1]
    v10, v11 = maps[ti, yi1, xi0], maps[ti, yi1, xi1]
    return (v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy


def lift_tracks(
    tracks: torch.Tensor,
    depth: torch.Tensor,
    visibility: torch.Tensor | None = None,
    *,
    threshold: float = 0.5,
    min_depth: float = 0.01,
) -> torch.Tensor:
    """(N, T, 2) pixels + (T, H, W) range in metres -> (N, T, 3) camera-frame points in metres (float64).

    Points are NaN where ``visibility <= threshold`` or the range is not finite.
    """
    h, w = depth.shape[-2:]
    rng = sample_erp(depth.double(), tracks.double()).clamp_min(min_depth)
    rays = lonlat_to_direction(pixel_to_lonlat(tracks[..., 0].double(), tracks[..., 1].double(), h, w))
    points = rays * rng[..., None]
    bad = ~torch.isfinite(rng)
    if visibility is not None:
        bad = bad | (visibility <= threshold)
    return torch.where(bad[..., None], torch.full_like(points, float("nan")), points)
