"""The outline of a perspective input's field of view on the sphere (the convention of ``panoworld.sphere``)."""

from __future__ import annotations

import math

import torch

from panoworld.sphere import check_fov, direction_to_lonlat, rotation_matrix

__all__ = ["fov_outline", "vertical_fov"]


def vertical_fov(fov_x: float, height: int, width: int) -> float:
    """Full vertical field of view (degrees) of a ``height`` x ``width`` pinhole image with horizontal ``fov_x``."""
    check_fov(fov_x)
    return math.degrees(2 * math.atan(math.tan(math.radians(fov_x) / 2) * height / width))


def fov_outline(fov_x: float, *, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0,
                aspect: float = 0.75, points_per_side: int = 24) -> torch.Tensor:
    """(4 * points_per_side, 2) (lon, lat) in degrees along the border of a pinhole image, clockwise from its
    top-left corner as seen from behind the camera.

    Args:
        fov_x: full horizontal field of view, degrees (0, 180).
        yaw, pitch, roll: the camera's orientation, degrees (``panoworld.sphere.rotation_matrix``).
        aspect: image height / width.
        points_per_side: samples along each edge (great-circle arcs are curves in longitude / latitude).
    """
    check_fov(fov_x)
    half_w = math.tan(math.radians(fov_x) / 2)
    half_h = half_w * aspect
    s = torch.linspace(-1.0, 1.0, points_per_side + 1, dtype=torch.float64)[:-1]
    edges = [
        torch.stack([s * half_w, torch.full_like(s, -half_h)], -1),   # top, left -> right
        torch.stack([torch.full_like(s, half_w), s * half_h], -1),    # right, top -> bottom
        torch.stack([-s * half_w, torch.full_like(s, half_h)], -1),   # bottom, right -> left
        torch.stack([torch.full_like(s, -half_w), -s * half_h], -1),  # left, bottom -> top
    ]
    xy = torch.cat(edges)
    rays = torch.cat([xy, torch.ones_like(xy[:, :1])], -1)  # camera frame: x right, y down, z forward
    world = rays @ rotation_matrix(yaw, pitch, roll).T
    return torch.rad2deg(direction_to_lonlat(world))
