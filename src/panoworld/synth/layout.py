"""Helpers for building scenes: a primitive/material builder, 2-D footprint tests on the floor plane
(x, z in metres) and camera trajectories of the four kinds."""

from __future__ import annotations

import math
import random

from .scene import COLORS, TRAJECTORY_KINDS, Material, Prim, Trajectory

__all__ = ["Builder", "named", "clear_of", "segment_rect_distance", "camera_trajectory"]

Rect = tuple[float, float, float, float]  # (x0, x1, z0, z1)
Segment = tuple[tuple[float, float], tuple[float, float]]


def named(color: str | tuple[float, float, float]) -> tuple[float, float, float]:
    """RGB of a colour name from :data:`~panoworld.synth.scene.COLORS` (tuples pass through)."""
    return COLORS[color] if isinstance(color, str) else tuple(color)


class Builder:
    """Collects primitives, hands out instance ids (1 = room / ground, 0 = sky) and names materials."""

    def __init__(self):
        self.prims: list[Prim] = []
        self.objects: list[dict] = []
        self._next = 2

    def new_instance(self, label: str = "") -> int:
        inst = self._next
        self._next += 1
        return inst

    def add(self, prim: Prim) -> None:
        self.prims.append(prim)

    @staticmethod
    def material(pattern, color_a, color_b, scale, *, emissive: float = 0.0, word: str = "") -> Material:
        name_a = color_a if isinstance(color_a, str) else ""
        name = name_a if word in ("", name_a) else f"{name_a} {word}".strip()
        return Material(pattern, named(color_a), named(color_b), float(scale), emissive, name)


def clear_of(a: Rect, b: Rect, margin: float) -> bool:
    """True when rectangles ``a`` and ``b`` are at least ``margin`` apart (no overlap)."""
    return a[1] + margin <= b[0] or b[1] + margin <= a[0] or a[3] + margin <= b[2] or b[3] + margin <= a[2]


def segment_rect_distance(seg: Segment, rect: Rect) -> float:
    """Distance (m) between a 2-D segment and an axis-aligned rectangle (0 if they touch)."""
    (ax, az), (bx, bz) = seg
    best = math.inf
    for i in range(33):
        s = i / 32
        px, pz = ax + (bx - ax) * s, az + (bz - az) * s
        dx = max(rect[0] - px, 0.0, px - rect[1])
        dz = max(rect[2] - pz, 0.0, pz - rect[3])
        best = min(best, math.hypot(dx, dz))
    return best


def camera_trajectory(
    rng: random.Random,
    kind: str,
    region: tuple[float, float],
    *,
    height_range: tuple[float, float],
    speed: tuple[float, float],
    headings: tuple[float, ...] | None = None,
    start_z: float | None = None,
    horizon_s: float = 8.0,
) -> tuple[Trajectory, Segment]:
    """A camera path of ``kind`` inside the floor region |x| <= region[0], |z| <= region[1].

    Walking cameras move forward (along their initial heading, or along one of ``headings`` in degrees
    with up to 20 deg of look-around) for at most ``horizon_s`` seconds. Returns the trajectory and the
    floor segment it covers (furniture is kept away from it).
    """
    if kind not in TRAJECTORY_KINDS:
        raise ValueError(f"unknown trajectory kind {kind!r}; expected one of {TRAJECTORY_KINDS}")
    height = rng.uniform(*height_range)
    for _ in range(200):
        x0 = rng.uniform(-0.5, 0.5) * region[0]
        z0 = start_z if start_z is not None else rng.uniform(-0.5, 0.5) * region[1]
        if kind in ("static", "rotate"):
            yaw = rng.uniform(-180.0, 180.0)
            rate = 0.0 if kind == "static" else rng.choice([-1, 1]) * rng.uniform(4.0, 10.0)
            traj = Trajectory(kind, (x0, -height, z0), yaw, rate)
            return traj, ((x0, z0), (x0, z0))
        v = rng.uniform(*speed)
        if headings:
            heading = rng.choice(headings)
            yaw = heading + rng.uniform(-20.0, 20.0)
        else:
            heading = yaw = rng.uniform(-180.0, 180.0)
        dx, dz = math.sin(math.radians(heading)), math.cos(math.radians(heading))
        limit = math.inf
        for pos, dirc, bound in ((x0, dx, region[0]), (z0, dz, region[1])):
            if abs(dirc) > 1e-9:
                limit = min(limit, ((bound if dirc > 0 else -bound) - pos) / dirc)
        dist = min(v * horizon_s, limit)
        if dist < 0.5 * v * horizon_s or dist < 0.6:
            continue
        rate = 0.0 if kind == "walk" else rng.choice([-1, 1]) * rng.uniform(3.0, 6.0)
        traj = Trajectory(kind, (x0, -height, z0), yaw, rate, (dx, 0.0, dz), v, dist)
        return traj, ((x0, z0), (x0 + dx * dist, z0 + dz * dist))
    raise RuntimeError("could not fit a camera path into the scene")
