"""The one ERP pixel convention: pixels <-> (lon, lat) <-> unit rays, solid angles, geodesics.

ERP image of H rows x W columns (W = 2H). Column ``j`` has its centre at
``lon = -pi + 2 pi (j + 0.5) / W`` and row ``i`` at ``lat = pi/2 - pi (i + 0.5) / H``.
Rays live in the OpenCV frame (x right, y down, z forward); the ray of (lon, lat) is
``(cos lat sin lon, -sin lat, cos lat cos lon)``. Everything here works in radians; the
degree-based public functions live in the modules that take camera angles.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "check_erp_size",
    "pixel_to_lonlat",
    "lonlat_to_pixel",
    "lonlat_to_direction",
    "direction_to_lonlat",
    "erp_lonlat",
    "erp_directions",
    "solid_angle_weights",
    "geodesic_distance",
]


def check_erp_size(height: int, width: int) -> None:
    """Raise ``ValueError`` unless (height, width) is a valid ERP size (W = 2H, both > 0)."""
    if height <= 0 or width <= 0:
        raise ValueError(f"ERP size must be positive, got {height}x{width}")
    if width != 2 * height:
        raise ValueError(
            f"an equirectangular image must be twice as wide as it is tall, got {height}x{width} "
            f"(H x W); resize or crop it to {height}x{2 * height} or {width // 2}x{width}"
        )


def pixel_to_lonlat(x: torch.Tensor, y: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Continuous pixel coordinates (column ``x``, row ``y``; centres at integers) -> (..., 2) (lon, lat) radians."""
    lon = -math.pi + 2.0 * math.pi * (x + 0.5) / width
    lat = math.pi / 2 - math.pi * (y + 0.5) / height
    return torch.stack([lon, lat], dim=-1)


def lonlat_to_pixel(lonlat: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(..., 2) (lon, lat) radians -> (..., 2) continuous (x, y) pixel coordinates, centres at integers.

    ``x`` is not wrapped: lon in [-pi, pi) maps to x in [-0.5, W - 0.5).
    """
    lon, lat = lonlat.unbind(-1)
    x = (lon + math.pi) * width / (2.0 * math.pi) - 0.5
    y = (math.pi / 2 - lat) * height / math.pi - 0.5
    return torch.stack([x, y], dim=-1)


def lonlat_to_direction(lonlat: torch.Tensor) -> torch.Tensor:
    """(..., 2) (lon, lat) radians -> (..., 3) unit rays in the OpenCV frame."""
    lon, lat = lonlat.unbind(-1)
    cos_lat = torch.cos(lat)
    return torch.stack([cos_lat * torch.sin(lon), -torch.sin(lat), cos_lat * torch.cos(lon)], dim=-1)


def direction_to_lonlat(direction: torch.Tensor) -> torch.Tensor:
    """(..., 3) rays (any length > 0) in the OpenCV frame -> (..., 2) (lon, lat) radians, lon in (-pi, pi]."""
    x, y, z = direction.unbind(-1)
    lon = torch.atan2(x, z)
    lat = torch.atan2(-y, torch.sqrt(x * x + z * z))
    return torch.stack([lon, lat], dim=-1)


def erp_lonlat(
    height: int, width: int, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(H, W, 2) (lon, lat) in radians of every ERP pixel centre."""
    ys = torch.arange(height, device=device, dtype=torch.float64)
    xs = torch.arange(width, device=device, dtype=torch.float64)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return pixel_to_lonlat(grid_x, grid_y, height, width).to(dtype)


def erp_directions(
    height: int, width: int, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(H, W, 3) unit rays (OpenCV frame) through every ERP pixel centre."""
    return lonlat_to_direction(erp_lonlat(height, width, device=device, dtype=torch.float64)).to(dtype)


def solid_angle_weights(
    height: int, width: int, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(H, W) exact solid angle of every ERP pixel in steradians; the total is 4 pi.

    A pixel spans ``2 pi / W`` of longitude between the latitudes of its top and bottom
    edges, so its area is ``(2 pi / W) (sin lat_top - sin lat_bottom)``.
    """
    edges = math.pi / 2 - math.pi * torch.arange(height + 1, device=device, dtype=torch.float64) / height
    band = torch.sin(edges[:-1]) - torch.sin(edges[1:])
    return (band[:, None] * (2.0 * math.pi / width)).expand(height, width).to(dtype).contiguous()


def geodesic_distance(lonlat_a: torch.Tensor, lonlat_b: torch.Tensor) -> torch.Tensor:
    """Great-circle angle in radians between (..., 2) (lon, lat) radian tensors; wraps at +-pi.

    Uses ``atan2(|a x b|, a . b)`` on unit rays, which is accurate for tiny and antipodal angles.
    """
    a = lonlat_to_direction(lonlat_a)
    b = lonlat_to_direction(lonlat_b)
    cross = torch.linalg.vector_norm(torch.cross(a, b, dim=-1), dim=-1)
    dot = (a * b).sum(-1)
    return torch.atan2(cross, dot)
