"""Camera angles (degrees) <-> rotation matrices in the OpenCV frame (x right, y down, z forward).

``rotation_matrix(yaw, pitch, roll)`` is camera-to-world: a camera ray ``d`` points along
``R @ d`` in the world. ``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)``:

- yaw turns right: the optical axis moves to longitude = yaw;
- pitch looks up: the optical axis moves to latitude = pitch;
- roll turns the camera clockwise as seen from behind it (its right side goes down).
"""

from __future__ import annotations

import math

import torch

__all__ = ["rotation_matrix", "rotation_to_angles"]


def _as_radians(value: float | torch.Tensor, dtype: torch.dtype, device) -> torch.Tensor:
    return torch.deg2rad(torch.as_tensor(value, dtype=dtype, device=device))


def rotation_matrix(
    yaw: float | torch.Tensor = 0.0,
    pitch: float | torch.Tensor = 0.0,
    roll: float | torch.Tensor = 0.0,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Camera-to-world rotation (..., 3, 3) from yaw / pitch / roll in degrees (scalars or batched tensors)."""
    y, p, r = torch.broadcast_tensors(
        _as_radians(yaw, dtype, device), _as_radians(pitch, dtype, device), _as_radians(roll, dtype, device)
    )
    one, zero = torch.ones_like(y), torch.zeros_like(y)
    cy, sy, cp, sp, cr, sr = torch.cos(y), torch.sin(y), torch.cos(p), torch.sin(p), torch.cos(r), torch.sin(r)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(*y.shape, 3, 3)
    rx = torch.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).reshape(*y.shape, 3, 3)
    rz = torch.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).reshape(*y.shape, 3, 3)
    return ry @ rx @ rz


def rotation_to_angles(matrix: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rotation_matrix`: (..., 3, 3) -> (..., 3) (yaw, pitch, roll) in degrees.

    Pitch is in [-90, 90]; at exactly +-90 (gimbal lock) the roll is folded into the yaw.
    """
    m = matrix.to(torch.float64)
    pitch = torch.asin(torch.clamp(-m[..., 1, 2], -1.0, 1.0))
    yaw = torch.atan2(m[..., 0, 2], m[..., 2, 2])
    roll = torch.atan2(m[..., 1, 0], m[..., 1, 1])
    locked = torch.abs(torch.cos(pitch)) < 1e-9
    if bool(locked.any()):
        yaw_locked = torch.atan2(-m[..., 2, 0], m[..., 0, 0])
        yaw = torch.where(locked, yaw_locked, yaw)
        roll = torch.where(locked, torch.zeros_like(roll), roll)
    out = torch.stack([yaw, pitch, roll], dim=-1) * (180.0 / math.pi)
    return out.to(matrix.dtype)
