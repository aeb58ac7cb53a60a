"""Scene description: primitives, materials, object motions, lights and camera trajectories.

World frame (metres): OpenCV-like, x right, **y down**, z forward at yaw 0; the floor / ground is the
plane y = 0, so a camera 1.6 m above it sits at y = -1.6. Angles are degrees at the API.
Camera poses are camera-to-world 4x4 in the OpenCV camera convention of ``panoworld.sphere``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from panoworld.sphere import rotation_matrix

from .primitives import KINDS

__all__ = [
    "COLORS",
    "Material",
    "Motion",
    "Prim",
    "Decal",
    "Light",
    "Trajectory",
    "Scene",
    "TRAJECTORY_KINDS",
    "axis_angle_matrix",
]

TRAJECTORY_KINDS = ("static", "rotate", "walk", "walk_rotate")

#: Named colours (linear-ish RGB in [0, 1]); the names are used by the captions.
COLORS: dict[str, tuple[float, float, float]] = {
    "white": (0.88, 0.88, 0.86),
    "cream": (0.9, 0.85, 0.72),
    "beige": (0.78, 0.7, 0.56),
    "light grey": (0.7, 0.7, 0.7),
    "grey": (0.5, 0.5, 0.52),
    "dark grey": (0.25, 0.25, 0.27),
    "black": (0.07, 0.07, 0.08),
    "red": (0.8, 0.15, 0.12),
    "orange": (0.92, 0.5, 0.12),
    "yellow": (0.92, 0.8, 0.2),
    "green": (0.2, 0.6, 0.25),
    "olive": (0.45, 0.5, 0.2),
    "teal": (0.1, 0.5, 0.5),
    "blue": (0.15, 0.3, 0.75),
    "navy": (0.1, 0.14, 0.4),
    "purple": (0.5, 0.25, 0.6),
    "pink": (0.9, 0.55, 0.65),
    "brown": (0.45, 0.28, 0.15),
    "tan": (0.7, 0.55, 0.38),
    "terracotta": (0.75, 0.38, 0.25),
    "sage": (0.6, 0.68, 0.55),
    "sky blue": (0.55, 0.72, 0.9),
}


@dataclass(frozen=True)
class Material:
    """Surface look: a pattern from :data:`panoworld.synth.textures.PATTERNS`, two colours, a scale in
    metres, and an emission in [0, 1] (1 = self-lit, unshaded)."""

    pattern: str = "flat"
    color_a: tuple[float, float, float] = (0.7, 0.7, 0.7)
    color_b: tuple[float, float, float] = (0.3, 0.3, 0.3)
    scale: float = 1.0
    emissive: float = 0.0
    name: str = ""


def axis_angle_matrix(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (T, 3, 3) about unit ``axis`` (3,) by ``angle`` (T,) radians (Rodrigues)."""
    k = axis / torch.linalg.vector_norm(axis).clamp_min(1e-12)
    kx, ky, kz = k.tolist()
    kmat = torch.tensor([[0, -kz, ky], [kz, 0, -kx], [-ky, kx, 0]], dtype=angle.dtype, device=angle.device)
    eye = torch.eye(3, dtype=angle.dtype, device=angle.device)
    s, c = torch.sin(angle)[:, None, None], torch.cos(angle)[:, None, None]
    return eye + s * kmat + (1 - c) * (kmat @ kmat)


@dataclass(frozen=True)
class Motion:
    """Rigid motion of a dynamic object over time (seconds).

    kinds: ``line`` (start ``a`` + ``velocity`` t), ``pingpong`` (back and forth between ``a`` and ``b``
    at ``speed`` m/s), ``circle`` (around ``a`` with ``radius`` m at ``speed`` m/s, starting at angle
    ``phase`` deg), ``bounce`` (pingpong plus hops of ``hop`` m every ``period`` s). ``roll_radius`` > 0
    makes the object roll on the floor without slipping (a ball); otherwise it turns to face its heading.
    """

    kind: str
    a: tuple[float, float, float]
    b: tuple[float, float, float] = (0.0, 0.0, 0.0)
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    speed: float = 1.0
    radius: float = 1.0
    phase: float = 0.0
    hop: float = 0.0
    period: float = 1.0
    roll_radius: float = 0.0

    def poses(self, times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(R (T, 3, 3), c (T, 3)) float64: object-to-world rotation and position at ``times`` (T,) s."""
        t = times.to(torch.float64)
        a = torch.tensor(self.a, dtype=torch.float64)
        if self.kind == "line":
            v = torch.tensor(self.velocity, dtype=torch.float64)
            c = a + t[:, None] * v
            travel, heading = t * torch.linalg.vector_norm(v), v
        elif self.kind in ("pingpong", "bounce"):
            b = torch.tensor(self.b, dtype=torch.float64)
            length = float(torch.linalg.vector_norm(b - a).clamp_min(1e-9))
            x = torch.remainder(self.speed * t / length + self.phase / 180.0, 2.0)
            frac = 1.0 - (1.0 - x).abs()
            c = a + frac[:, None] * (b - a)
            travel, heading = frac * length, b - a
            if self.kind == "bounce":
                hop = self.hop * torch.sin(math.pi * t / self.period).abs()
                c = c + torch.stack([torch.zeros_like(hop), -hop, torch.zeros_like(hop)], -1)
        elif self.kind == "circle":
            ang = math.radians(self.phase) + self.speed * t / self.radius
            off = torch.stack([torch.sin(ang), torch.zeros_like(ang), torch.cos(ang)], -1) * self.radius
            c = a + off
            travel = self.speed * t
            tangent = torch.stack([torch.cos(ang), torch.zeros_like(ang), -torch.sin(ang)], -1)
            if self.roll_radius <= 0:
                yaw = torch.rad2deg(torch.atan2(tangent[:, 0], tangent[:, 2]))
                return rotation_matrix(yaw), c
            heading = tangent[0]
        else:
            raise ValueError(f"unknown motion kind {self.kind!r}")
        if self.roll_radius > 0:
            if self.kind == "circle":
                # Rolling on a circle: spin about the horizontal axis towards the centre.
                angle = travel / self.roll_radius
                rots = []
                for i in range(t.shape[0]):
                    radial = (a - c[i]) / torch.linalg.vector_norm(a - c[i]).clamp_min(1e-9)
                    rots.append(axis_angle_matrix(radial, angle[i : i + 1])[0])
                return torch.stack(rots), c
            up = torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64)
            axis = torch.linalg.cross(up, heading)
            if float(torch.linalg.vector_norm(axis)) < 1e-9:
                return torch.eye(3, dtype=torch.float64).expand(t.shape[0], 3, 3).clone(), c
            return axis_angle_matrix(axis, travel / self.roll_radius), c
        yaw = math.degrees(math.atan2(float(heading[0]), float(heading[2])))
        return rotation_matrix(torch.full_like(t, yaw)), c


@dataclass(frozen=True)
class Prim:
    """One analytic primitive (see :mod:`panoworld.synth.primitives` for ``kind`` and ``size``).

    ``center`` is the world position of a static primitive, or the offset from its object's origin
    (in the object frame) for a moving one; ``instance`` groups primitives into one object (0 = sky).
    ``material`` is one :class:`Material` or a tuple of six, one per flat face code (+x, -x, +y, -y,
    +z, -z; e.g. a room's walls, ceiling (+y normal) and floor (-y normal)).
    """

    kind: str
    size: tuple[float, float, float]
    center: tuple[float, float, float]
    material: Material | tuple[Material, ...]
    instance: int
    label: str = ""
    motion: Motion | None = None

    def face_materials(self) -> tuple[Material, ...]:
        """Eight materials, one per face code 0..7 (round faces use the first)."""
        if isinstance(self.material, Material):
            return (self.material,) * 8
        mats = tuple(self.material)
        if len(mats) != 6:
            raise ValueError("a per-face material needs exactly 6 entries")
        return mats + (mats[0], mats[0])

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown primitive kind {self.kind!r}")


@dataclass(frozen=True)
class Decal:
    """A flat rectangle painted on a room wall: ``window`` (self-lit sky), ``painting``, ``door``.

    ``axis`` (0 = x, 2 = z) is the wall's normal axis and ``center`` a point on the wall; ``half`` is
    (half width along the wall, half height) in metres.
    """

    kind: str
    axis: int
    center: tuple[float, float, float]
    half: tuple[float, float]
    color: tuple[float, float, float] = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class Light:
    """Lighting: ``point`` (a lamp at ``position``) or ``sun`` (towards ``direction``), plus ambient."""

    kind: str
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, float, float] = (0.0, -1.0, 0.0)
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ambient: tuple[float, float, float] = (0.3, 0.3, 0.3)
    sky_zenith: tuple[float, float, float] = (0.25, 0.45, 0.85)
    sky_horizon: tuple[float, float, float] = (0.75, 0.85, 0.95)


@dataclass(frozen=True)
class Trajectory:
    """Camera path: start position (m), initial yaw (deg), yaw rate (deg/s), walking direction (unit
    world vector), speed (m/s) and the longest distance walked (m; the camera stops there)."""

    kind: str
    start: tuple[float, float, float]
    yaw: float = 0.0
    yaw_rate: float = 0.0
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    speed: float = 0.0
    max_distance: float = 0.0

    def poses(self, times: torch.Tensor) -> torch.Tensor:
        """Camera-to-world poses (T, 4, 4) float64 at ``times`` (T,) seconds."""
        t = times.to(torch.float64)
        yaw = self.yaw + self.yaw_rate * t
        dist = (self.speed * t).clamp(max=self.max_distance)
        c = torch.tensor(self.start, dtype=torch.float64) + dist[:, None] * torch.tensor(
            self.direction, dtype=torch.float64
        )
        out = torch.eye(4, dtype=torch.float64).repeat(t.shape[0], 1, 1)
        out[:, :3, :3] = rotation_matrix(yaw)
        out[:, :3, 3] = c
        return out


@dataclass
class Scene:
    """A procedural world: primitives (static and moving), wall decals, light, camera trajectory and a
    plain description (used for captions). Build one with :func:`panoworld.synth.make_scene`."""

    kind: str
    seed: int
    prims: list[Prim]
    light: Light
    trajectory: Trajectory
    decals: list[Decal] = field(default_factory=list)
    sky: bool = False
    description: dict = field(default_factory=dict)

    @property
    def dynamic_instances(self) -> set[int]:
        """Instance ids of moving objects."""
        return {p.instance for p in self.prims if p.motion is not None}

    def instance_labels(self) -> dict[int, str]:
        """Instance id -> object label (the first primitive's label)."""
        out: dict[int, str] = {0: "sky"} if self.sky else {}
        for p in self.prims:
            out.setdefault(p.instance, p.label)
        return out
