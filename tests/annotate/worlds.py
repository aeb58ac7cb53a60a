"""Hand-made synthetic worlds with exact ground truth for the annotation geometry tests.

A camera moves inside a box room; static points lie on the walls, dynamic points slide along them.
Everything is computed analytically with ``panoworld.sphere`` (OpenCV frame, ERP pixel convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from panoworld.sphere import direction_to_lonlat, erp_directions, lonlat_to_direction, lonlat_to_pixel, rotation_matrix

LO = torch.tensor([-4.0, -2.5, -5.0], dtype=torch.float64)
HI = torch.tensor([4.0, 1.5, 6.0], dtype=torch.float64)


@dataclass
class World:
    tracks: torch.Tensor  # (N, T, 2) px, x wrapped to [0, W)
    visibility: torch.Tensor  # (N, T)
    depth: torch.Tensor  # (T, H, W) metres (range)
    c2w: torch.Tensor  # (T, 4, 4)
    is_static: torch.Tensor  # (N,) bool
    kind: str


def _hit(origin: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """Range along unit world rays (..., 3) from ``origin`` to the box walls."""
    d = torch.where(dirs.abs() < 1e-12, torch.full_like(dirs, 1e-12), dirs)
    t = torch.maximum((LO - origin) / d, (HI - origin) / d)
    return t.amin(-1)


def trajectory(kind: str, t: int) -> torch.Tensor:
    """(T, 4, 4) camera-to-world poses for rotate / walk / walk_rotate / static / translate."""
    s = torch.linspace(0, 1, t, dtype=torch.float64)
    yaw = torch.zeros_like(s)
    pitch = torch.zeros_like(s)
    pos = torch.zeros(t, 3, dtype=torch.float64)
    if kind in ("rotate", "walk_rotate"):
        yaw = 70.0 * s
        pitch = 8.0 * torch.sin(3.0 * s)
    if kind in ("walk", "walk_rotate", "translate"):
        pos = torch.stack([0.6 * s, 0.1 * torch.sin(4 * s), 2.5 * s], dim=-1)
    pose = torch.eye(4, dtype=torch.float64).repeat(t, 1, 1)
    pose[:, :3, :3] = rotation_matrix(yaw, pitch, torch.zeros_like(s))
    pose[:, :3, 3] = pos
    return pose


def make_world(kind: str, *, frames: int = 8, height: int = 64, n_static: int = 200, n_dynamic: int = 20,
               seed: int = 0) -> World:
    width = 2 * height
    gen = torch.Generator().manual_seed(seed)
    c2w = trajectory(kind, frames)
    dirs = torch.randn(n_static + n_dynamic, 3, generator=gen, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    world0 = dirs * _hit(c2w[0, :3, 3], dirs)[:, None] + c2w[0, :3, 3]
    tmotion = torch.linspace(0, 1, frames, dtype=torch.float64)
    vel = torch.zeros(n_static + n_dynamic, 3, dtype=torch.float64)
    # dynamic points slide 1.5 m along their wall (tangent = an axis not normal to the wall they sit on)
    normal_axis = torch.minimum((world0 - LO).abs(), (HI - world0).abs()).argmin(-1)
    for i in range(n_static, n_static + n_dynamic):
        axis = (int(normal_axis[i]) + 1 + i % 2) % 3
        vel[i, axis] = 1.5 if i % 3 else -1.5
    pts = world0[:, None] + vel[:, None] * tmotion[None, :, None]
    pts = torch.maximum(torch.minimum(pts, HI), LO)
    rot, pos = c2w[:, :3, :3], c2w[:, :3, 3]
    cam = (rot.transpose(-1, -2)[None] @ (pts - pos[None])[..., None])[..., 0]
    px = lonlat_to_pixel(direction_to_lonlat(cam), height, width)
    px[..., 0] = torch.remainder(px[..., 0] + 0.5, width) - 0.5
    rays = erp_directions(height, width, dtype=torch.float64)
    depth = torch.stack([_hit(pos[k], rays @ rot[k].t()) for k in range(frames)])
    is_static = torch.zeros(n_static + n_dynamic, dtype=torch.bool)
    is_static[:n_static] = True
    return World(px.float(), torch.ones(px.shape[:2]), depth.float(), c2w, is_static, kind)


def relative_c2w(c2w: torch.Tensor) -> torch.Tensor:
    """Poses relative to frame 0 (world = frame-0 camera)."""
    return torch.linalg.inv(c2w[0])[None] @ c2w


def rotation_angle_deg(r: torch.Tensor) -> torch.Tensor:
    return torch.rad2deg(torch.arccos(((r.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)))
