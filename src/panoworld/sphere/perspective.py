"""ERP <-> pinhole perspective views, with camera angles in degrees.

Pinhole model: ``fov_x`` is the full horizontal field of view in degrees, ``fov_y`` follows
from the pixel aspect (square pixels), the principal point is the image centre, and pixel
centres sit at +0.5. Views are upright: image x goes right, image y goes down.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache

import torch

from .coords import check_erp_size, direction_to_lonlat, erp_directions, lonlat_to_pixel
from .rotation import rotation_matrix
from .sampling import GridPlan, apply_grid_plan, build_grid_plan

__all__ = ["erp_to_perspective", "perspective_to_erp", "perspective_rays", "focal_length_px", "check_fov"]

PLAN_CACHE_SIZE = 64


def check_fov(fov_x: float) -> None:
    """Raise ``ValueError`` unless 0 < fov_x < 180 degrees."""
    if not (0.0 < float(fov_x) < 180.0):
        raise ValueError(f"fov_x must be between 0 and 180 degrees (exclusive), got {fov_x}")


def focal_length_px(fov_x: float, width: int) -> float:
    """Pinhole focal length in pixels for a full horizontal field of view ``fov_x`` (degrees)."""
    check_fov(fov_x)
    return (width / 2.0) / math.tan(math.radians(fov_x) / 2.0)


def perspective_rays(
    height: int, width: int, fov_x: float, *, device: torch.device | str | None = None, dtype=torch.float64
) -> torch.Tensor:
    """(H, W, 3) camera-frame rays (z = 1) through every pixel centre of a pinhole view."""
    f = focal_length_px(fov_x, width)
    xs = (torch.arange(width, device=device, dtype=torch.float64) + 0.5 - width / 2.0) / f
    ys = (torch.arange(height, device=device, dtype=torch.float64) + 0.5 - height / 2.0) / f
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy, torch.ones_like(gx)], dim=-1).to(dtype)


def _size(size) -> tuple[int, int]:
    h, w = (int(size[0]), int(size[1]))
    if h <= 0 or w <= 0:
        raise ValueError(f"size must be positive (height, width), got {size}")
    return h, w


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def _erp_to_persp_plan(erp_size, out_size, fov_x, yaw, pitch, roll, mode, device) -> GridPlan:
    rays = perspective_rays(*out_size, fov_x, device=device)
    rot = rotation_matrix(yaw, pitch, roll, device=device)
    world = rays @ rot.T
    xy = lonlat_to_pixel(direction_to_lonlat(world), *erp_size)
    return build_grid_plan(xy[..., 0], xy[..., 1], erp_size, mode=mode, wrap_x=True)


def _circular_span(valid_cols: torch.Tensor) -> tuple[int, int]:
    """(start, width) of a circular column interval that holds every True entry of (W,) ``valid_cols``."""
    width = int(valid_cols.numel())
    if bool(valid_cols.all()):
        return 0, width
    start_gap = int(torch.nonzero(~valid_cols)[0])
    rolled = torch.roll(valid_cols, -start_gap)
    idx = torch.nonzero(rolled).squeeze(1)
    first, last = int(idx[0]), int(idx[-1])
    return (first + start_gap) % width, last - first + 1


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def _persp_to_erp_plan(image_size, erp_size, fov_x, yaw, pitch, roll, mode, device) -> tuple[GridPlan, torch.Tensor]:
    h, w = image_size
    rot = rotation_matrix(yaw, pitch, roll, device=device)
    cam = erp_directions(*erp_size, device=device, dtype=torch.float64) @ rot
    z = cam[..., 2]
    safe_z = torch.where(z > 0, z, torch.ones_like(z))
    f = focal_length_px(fov_x, w)
    u = cam[..., 0] / safe_z * f + w / 2.0
    v = cam[..., 1] / safe_z * f + h / 2.0
    valid = (z > 0) & (u >= 0) & (u <= w) & (v >= 0) & (v <= h)
    if not bool(valid.any()):
        valid_rows, c0, width = (0, 1), 0, 1
    else:
        rows = torch.nonzero(valid.any(dim=1)).squeeze(1)
        valid_rows = (int(rows[0]), int(rows[-1]) + 1)
        c0, width = _circular_span(valid.any(dim=0))
    cols = (torch.arange(width, device=device) + c0) % erp_size[1]
    r = slice(*valid_rows)
    plan = build_grid_plan(u[r][:, cols] - 0.5, v[r][:, cols] - 0.5, (h, w), mode=mode, wrap_x=False)
    plan = replace(
        plan, canvas_size=tuple(erp_size), rows=valid_rows, cols=(c0, width), window=valid[r][:, cols].contiguous()
    )
    return plan, valid


def _angles(yaw, pitch, roll) -> tuple[float, float, float]:
    return float(yaw), float(pitch), float(roll)


def erp_to_perspective(
    erp: torch.Tensor,
    *,
    fov_x: float,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    size: tuple[int, int],
    mode: str = "bilinear",
) -> torch.Tensor:
    """Render an upright pinhole view of an ERP image.

    Args:
        erp: (..., C, H, W) float ERP image, W = 2H, any device.
        fov_x: full horizontal field of view in degrees, in (0, 180).
        yaw, pitch, roll: camera angles in degrees (DESIGN.md convention).
        size: (height, width) of the view in pixels.
        mode: "bilinear" or "nearest".

    Returns:
        (..., C, height, width) view; its centre pixel looks at (lon, lat) = (yaw, pitch).
    """
    erp_size = tuple(erp.shape[-2:])
    check_erp_size(*erp_size)
    check_fov(fov_x)
    plan = _erp_to_persp_plan(erp_size, _size(size), float(fov_x), *_angles(yaw, pitch, roll), mode, erp.device)
    return apply_grid_plan(erp, plan)


def perspective_to_erp(
    image: torch.Tensor,
    *,
    fov_x: float,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    size: tuple[int, int],
    mode: str = "bilinear",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste a pinhole image into an ERP canvas.

    Args:
        image: (..., C, h, w) float perspective image.
        fov_x: its full horizontal field of view in degrees, in (0, 180).
        yaw, pitch, roll: camera angles in degrees.
        size: (H, W) of the ERP canvas, W = 2H.
        mode: "bilinear" or "nearest".

    Returns:
        ``(erp, mask)``: (..., C, H, W) with zeros outside the window, and a (..., 1, H, W) mask
        (same dtype) that is 1 where the ERP pixel centre's ray falls inside the image.
    """
    erp_size = _size(size)
    check_erp_size(*erp_size)
    check_fov(fov_x)
    image_size = tuple(image.shape[-2:])
    plan, valid = _persp_to_erp_plan(image_size, erp_size, float(fov_x), *_angles(yaw, pitch, roll), mode, image.device)
    erp = apply_grid_plan(image, plan)
    mask = valid.view(1, *erp_size).to(image.dtype)
    mask = mask.expand(*image.shape[:-3], 1, *erp_size)
    return erp, mask
