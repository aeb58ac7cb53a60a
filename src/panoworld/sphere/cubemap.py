"""ERP <-> cubemap (6 faces of 90 degrees) and whole-panorama rotation.

Faces are ordered front, right, back, left, up, down (:data:`FACE_NAMES`). The four side
faces are upright as seen from the cube centre; the up face's bottom edge touches the front
face and the down face's top edge touches the front face (the usual "dice" layout).
"""

from __future__ import annotations

from functools import lru_cache

import torch

from .coords import check_erp_size, direction_to_lonlat, erp_directions, lonlat_to_pixel
from .perspective import PLAN_CACHE_SIZE, _size, erp_to_perspective
from .rotation import rotation_matrix
from .sampling import GridPlan, SamplingPlan, apply_grid_plan, apply_plan, build_grid_plan, build_plan

__all__ = ["FACE_NAMES", "FACE_ANGLES", "erp_to_cubemap", "cubemap_to_erp", "rotate_erp"]

FACE_NAMES = ("front", "right", "back", "left", "up", "down")
#: (yaw, pitch) in degrees of each face's optical axis, in :data:`FACE_NAMES` order.
FACE_ANGLES = ((0.0, 0.0), (90.0, 0.0), (180.0, 0.0), (-90.0, 0.0), (0.0, 90.0), (0.0, -90.0))


def erp_to_cubemap(erp: torch.Tensor, face_size: int, *, mode: str = "bilinear") -> torch.Tensor:
    """(..., C, H, W) ERP -> (..., 6, C, s, s) cube faces in :data:`FACE_NAMES` order."""
    faces = [
        erp_to_perspective(erp, fov_x=90.0, yaw=yaw, pitch=pitch, size=(face_size, face_size), mode=mode)
        for yaw, pitch in FACE_ANGLES
    ]
    return torch.stack(faces, dim=-4)


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def _cubemap_to_erp_plan(face_size: int, erp_size, mode: str, device) -> SamplingPlan:
    s = face_size
    dirs = erp_directions(*erp_size, device=device, dtype=torch.float64)
    best = torch.full(erp_size, -1.0, dtype=torch.float64, device=device)
    face = torch.zeros(erp_size, dtype=torch.long, device=device)
    u = torch.zeros(erp_size, dtype=torch.float64, device=device)
    v = torch.zeros(erp_size, dtype=torch.float64, device=device)
    for k, (yaw, pitch) in enumerate(FACE_ANGLES):
        cam = dirs @ rotation_matrix(yaw, pitch, device=device)
        z = cam[..., 2]
        take = z > best
        safe_z = torch.where(z > 0, z, torch.ones_like(z))
        best = torch.where(take, z, best)
        face = torch.where(take, torch.full_like(face, k), face)
        u = torch.where(take, cam[..., 0] / safe_z * (s / 2.0) + s / 2.0 - 0.5, u)
        v = torch.where(take, cam[..., 1] / safe_z * (s / 2.0) + s / 2.0 - 0.5, v)
    # Sample a (6*s, s) strip: clamp inside each face so bilinear never bleeds into a neighbour.
    u = u.clamp(0, s - 1)
    v = v.clamp(0, s - 1)
    plan = build_plan(u, v, (s, s), mode=mode, wrap_x=False)
    offset = (face.reshape(-1) * s * s)[None]
    return SamplingPlan(
        index=plan.index + offset, weight=plan.weight, valid=plan.valid, src_size=(6 * s, s), out_size=erp_size
    )


def cubemap_to_erp(faces: torch.Tensor, size: tuple[int, int], *, mode: str = "bilinear") -> torch.Tensor:
    """(..., 6, C, s, s) cube faces (:data:`FACE_NAMES` order) -> (..., C, H, W) ERP of ``size`` = (H, W)."""
    if faces.shape[-4] != 6 or faces.shape[-1] != faces.shape[-2]:
        raise ValueError(f"expected (..., 6, C, s, s) faces, got {tuple(faces.shape)}")
    erp_size = _size(size)
    check_erp_size(*erp_size)
    s = int(faces.shape[-1])
    strip = faces.movedim(-4, -3).reshape(*faces.shape[:-4], faces.shape[-3], 6 * s, s)
    return apply_plan(strip, _cubemap_to_erp_plan(s, erp_size, mode, faces.device))


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def _rotate_plan(erp_size, matrix: tuple, mode: str, device) -> GridPlan:
    rot = torch.tensor(matrix, dtype=torch.float64, device=device).view(3, 3)
    src = erp_directions(*erp_size, device=device, dtype=torch.float64) @ rot.T
    xy = lonlat_to_pixel(direction_to_lonlat(src), *erp_size)
    return build_grid_plan(xy[..., 0], xy[..., 1], erp_size, mode=mode, wrap_x=True)


def rotate_erp(
    erp: torch.Tensor,
    *,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    matrix: torch.Tensor | None = None,
    mode: str = "bilinear",
) -> torch.Tensor:
    """Re-render an ERP as seen by a camera turned by (yaw, pitch, roll) degrees.

    ``out(d) = erp(R d)`` for every output ray ``d``, with ``R = rotation_matrix(yaw, pitch, roll)``
    or the given 3x3 ``matrix``. So the output centre shows what was at (lon, lat) = (yaw, pitch);
    ``rotate_erp(rotate_erp(x, R1), R2) = rotate_erp(x, R1 @ R2)`` and ``R.T`` undoes ``R``.
    A yaw that is a multiple of 360/W degrees is an exact column roll.
    """
    erp_size = tuple(erp.shape[-2:])
    check_erp_size(*erp_size)
    if matrix is None:
        matrix = rotation_matrix(yaw, pitch, roll)
    elif any(v != 0 for v in (yaw, pitch, roll)):
        raise ValueError("give either yaw/pitch/roll or matrix, not both")
    key = tuple(float(v) for v in matrix.detach().to("cpu", torch.float64).reshape(9).tolist())
    return apply_grid_plan(erp, _rotate_plan(erp_size, key, mode, erp.device))
