"""Analytic ray / primitive intersection, batched over rays (pure torch, any device and float dtype).

Every finite primitive lives in its own *local* frame (centred at the origin, axis along local y);
rays are given in that frame. Functions take ray origins ``o`` (..., 3) and unit directions ``d``
(..., 3) (broadcastable) and return ``(t, face)``: the range along the ray in metres (``inf`` for a
miss) and an integer face code (int8) that :func:`local_normal` turns into a surface normal:

- 0..5: the flat faces +x, -x, +y, -y, +z, -z (outward normals of a solid; the inside of a room box
  reports the wall it hits with its inward normal);
- 6: a round surface whose normal is ``p - q`` with ``q = (0, clamp(p_y, -a, a), 0)`` (sphere: a = 0,
  cylinder side: a = half height, capsule: a = half segment length);
- 7: the inside of a sphere (sky dome), normal pointing to the centre.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "KINDS",
    "FACE_ROUND",
    "FACE_DOME",
    "FACE_NORMALS",
    "dot3",
    "inverse_directions",
    "intersect",
    "local_normal",
    "bounding_radius",
    "erp_windows",
    "erp_windows_upright_box",
]

#: Primitive kinds. ``size`` is (hx, hy, hz) half extents for boxes/rooms, (r, a, 0) for round kinds
#: (radius, half length of the axis segment), (radius, 0, 0) for the dome; ``ground`` is the plane y = 0.
KINDS = ("box", "room", "sphere", "cylinder", "capsule", "ground", "dome")
FACE_ROUND = 6
FACE_DOME = 7
_EPS = 1e-6


def _miss_like(x: torch.Tensor) -> torch.Tensor:
    return torch.full_like(x, math.inf)


def dot3(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dot product over the last axis of size 3, written out (reductions over a size-3 axis are slow)."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def inverse_directions(d: torch.Tensor) -> torch.Tensor:
    """Per-component reciprocals (..., 3) of ray directions for the slab test (components below 1e-12 in
    magnitude are replaced by 1e-12); pass them to :func:`intersect` as ``inv_d`` to share them."""
    if d.dim() == 3 and d.stride(-1) == d.shape[0] * d.shape[1]:  # planar rays: work on the planes
        planes = d.permute(2, 0, 1)
        return torch.where(planes.abs() < 1e-12, 1e-12, planes).reciprocal_().permute(1, 2, 0)
    return 1.0 / torch.where(d.abs() < 1e-12, 1e-12, d)


def _slabs(o, d, half: tuple[float, float, float], *, need_min: bool = True, inv_d=None):
    """Per-axis entry/exit ranges of the slab test: two lists of three (...,) tensors (entries empty
    when ``need_min`` is False)."""
    tmins, tmaxs = [], []
    for axis in range(3):
        if inv_d is None:
            da = d[..., axis]
            inv = 1.0 / torch.where(da.abs() < 1e-12, 1e-12, da)
        else:
            inv = inv_d[..., axis]
        oa = o[..., axis]
        t1 = (-half[axis] - oa) * inv
        t2 = (half[axis] - oa) * inv
        if need_min:
            tmins.append(torch.minimum(t1, t2))
        tmaxs.append(torch.maximum(t1, t2))
    return tmins, tmaxs


def _face(d: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """Face code 2*axis + (d[axis] > 0) (the outward face entered, or the room wall left)."""
    comp = torch.where(axis == 0, d[..., 0], torch.where(axis == 1, d[..., 1], d[..., 2]))
    return (2 * axis + (comp > 0).to(torch.int8)).to(torch.int8)


def _arg3(best: torch.Tensor, values: list[torch.Tensor]) -> torch.Tensor:
    """Index (int8) of the first of three tensors equal to ``best``."""
    return torch.where(values[0] == best, 0, torch.where(values[1] == best, 1, 2)).to(torch.int8)


def _box(o, d, half, inv_d=None):
    tmin, tmax = _slabs(o, d, half, inv_d=inv_d)
    tnear = torch.maximum(torch.maximum(tmin[0], tmin[1]), tmin[2])
    tfar = torch.minimum(torch.minimum(tmax[0], tmax[1]), tmax[2])
    hit = (tnear <= tfar) & (tnear > _EPS)
    return torch.where(hit, tnear, math.inf), _face(d, _arg3(tnear, tmin))


def _room(o, d, half, inv_d=None):
    _, tmax = _slabs(o, d, half, need_min=False, inv_d=inv_d)
    tfar = torch.minimum(torch.minimum(tmax[0], tmax[1]), tmax[2])
    return torch.where(tfar > _EPS, tfar, math.inf), _face(d, _arg3(tfar, tmax))


def _sphere_t(o, d, r, *, inside: bool = False):
    b = dot3(o, d)
    c = dot3(o, o) - r * r
    disc = b * b - c
    root = torch.sqrt(disc.clamp_min(0))
    if inside:
        t = -b + root
    else:
        q = -b - root
        # For rays that start inside (q < 0) the far root is not a visible front face; count a miss.
        t = q
    ok = (disc >= 0) & (t > _EPS)
    return torch.where(ok, t, _miss_like(t))


def _sphere(o, d, r):
    t = _sphere_t(o, d, r)
    return t, torch.full(t.shape, FACE_ROUND, dtype=torch.int8, device=t.device)


def _dome(o, d, r):
    t = _sphere_t(o, d, r, inside=True)
    return t, torch.full(t.shape, FACE_DOME, dtype=torch.int8, device=t.device)


def _side(o, d, r, a):
    """Entry range of the infinite cylinder x^2 + z^2 = r^2 restricted to |y| <= a."""
    ox, oy, oz = o.unbind(-1)
    dx, dy, dz = d.unbind(-1)
    qa = dx * dx + dz * dz
    qb = ox * dx + oz * dz
    qc = ox * ox + oz * oz - r * r
    disc = qb * qb - qa * qc
    t = (-qb - torch.sqrt(disc.clamp_min(0))) / qa.clamp_min(1e-12)
    y = oy + t * dy
    ok = (disc >= 0) & (qa > 1e-12) & (t > _EPS) & (y.abs() <= a)
    return torch.where(ok, t, _miss_like(t))


def _cylinder(o, d, r, a):
    t_side = _side(o, d, r, a)
    dy = d[..., 1]
    oy = o[..., 1]
    safe = torch.where(dy.abs() < 1e-12, torch.full_like(dy, 1e-12), dy)
    cap_y = torch.where(dy > 0, torch.full_like(dy, -a), torch.full_like(dy, a))
    t_cap = (cap_y - oy) / safe
    px = o[..., 0] + t_cap * d[..., 0]
    pz = o[..., 2] + t_cap * d[..., 2]
    cap_ok = (t_cap > _EPS) & (px * px + pz * pz <= r * r) & (dy.abs() >= 1e-12)
    t_cap = torch.where(cap_ok, t_cap, _miss_like(t_cap))
    cap_face = torch.where(dy > 0, 3, 2).to(torch.int8)
    use_cap = t_cap < t_side
    t = torch.minimum(t_cap, t_side)
    face = torch.where(use_cap, cap_face, torch.full_like(cap_face, FACE_ROUND))
    return t, face


def _capsule(o, d, r, a):
    t = _side(o, d, r, a)
    for sign in (-1.0, 1.0):
        shift = torch.zeros(3, dtype=o.dtype, device=o.device)
        shift[1] = sign * a
        t = torch.minimum(t, _sphere_t(o - shift, d, r))
    return t, torch.full(t.shape, FACE_ROUND, dtype=torch.int8, device=t.device)


def _ground(o, d):
    dy = d[..., 1]
    oy = o[..., 1]
    t = -oy / torch.where(dy.abs() < 1e-12, torch.full_like(dy, 1e-12), dy)
    t = torch.where((dy > 1e-12) & (t > _EPS), t, _miss_like(t))
    return t, torch.full(t.shape, 3, dtype=torch.int8, device=t.device)


def intersect(kind: str, size: tuple[float, float, float], o: torch.Tensor, d: torch.Tensor, inv_d=None):
    """Intersect rays with one primitive in its local frame; returns (t (...,), face (...,) int8).

    A single origin ``o`` of shape (3,) is kept as is: its per-axis terms are then computed once, as
    0-d tensors, instead of once per ray (the same float arithmetic, so the same values). ``inv_d``
    (optional, shaped like ``d``): :func:`inverse_directions` of ``d``, used by boxes and rooms.
    """
    if o.dim() != 1 or d.dim() == 1:
        o, d = torch.broadcast_tensors(o, d)
    if kind == "box":
        return _box(o, d, size, inv_d)
    if kind == "room":
        return _room(o, d, size, inv_d)
    if kind == "sphere":
        return _sphere(o, d, size[0])
    if kind == "cylinder":
        return _cylinder(o, d, size[0], size[1])
    if kind == "capsule":
        return _capsule(o, d, size[0], size[1])
    if kind == "ground":
        return _ground(o, d)
    if kind == "dome":
        return _dome(o, d, size[0])
    raise ValueError(f"unknown primitive kind {kind!r}; expected one of {KINDS}")


FACE_NORMALS = torch.tensor(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=torch.float64
)


def local_normal(face: torch.Tensor, p_local: torch.Tensor, axis_half: torch.Tensor | float) -> torch.Tensor:
    """Unit normals (..., 3) from face codes (...,) and local hit points (..., 3).

    ``axis_half`` (scalar or (...,)) is the half axis-segment length used by round faces (code 6).
    """
    table = FACE_NORMALS.to(device=p_local.device, dtype=p_local.dtype)
    flat = table[face.long().clamp(0, 5)]
    a = torch.as_tensor(axis_half, dtype=p_local.dtype, device=p_local.device)
    qy = torch.maximum(torch.minimum(p_local[..., 1], a), -a)
    q = torch.stack([torch.zeros_like(qy), qy, torch.zeros_like(qy)], -1)
    radial = p_local - q
    radial = torch.where((face == FACE_DOME).unsqueeze(-1), -p_local, radial)
    radial = radial / dot3(radial, radial).sqrt().clamp_min(1e-12).unsqueeze(-1)
    return torch.where((face >= FACE_ROUND).unsqueeze(-1), radial, flat)


def bounding_radius(kind: str, size: tuple[float, float, float]) -> float:
    """Radius of a sphere around the local origin that contains the primitive (``inf`` if unbounded)."""
    if kind == "box":
        return math.sqrt(sum(s * s for s in size))
    if kind == "sphere":
        return size[0]
    if kind == "cylinder":
        return math.hypot(size[0], size[1])
    if kind == "capsule":
        return size[0] + size[1]
    return math.inf


def erp_windows(center_cam, radius: float, height: int, width: int) -> list[tuple[int, int, int, int]]:
    """ERP pixel windows (row0, row1, col0, col1), end-exclusive, that contain every pixel whose ray can
    hit a sphere of ``radius`` around ``center_cam`` (camera frame, 3 floats). Wraps become two windows."""
    x, y, z = (float(v) for v in center_cam)
    dist = math.sqrt(x * x + y * y + z * z)
    if not math.isfinite(radius) or dist <= radius * 1.02 + 1e-6:
        return [(0, height, 0, width)]
    alpha = math.asin(min(1.0, radius / dist))
    lon = math.atan2(x, z)
    lat = math.atan2(-y, math.hypot(x, z))
    lat_hi, lat_lo = lat + alpha, lat - alpha
    margin = 1.5
    row0 = max(0, int(math.floor((math.pi / 2 - lat_hi) * height / math.pi - 0.5 - margin)))
    row1 = min(height, int(math.ceil((math.pi / 2 - lat_lo) * height / math.pi - 0.5 + margin)) + 1)
    if lat_hi >= math.pi / 2 or lat_lo <= -math.pi / 2:
        return [(row0, row1, 0, width)]
    cos_edge = math.cos(max(abs(lat_hi), abs(lat_lo)))
    s = math.sin(alpha) / max(cos_edge, 1e-9)
    if s >= 1.0:
        return [(row0, row1, 0, width)]
    dlon = math.asin(s)
    col0 = int(math.floor((lon - dlon + math.pi) * width / (2 * math.pi) - 0.5 - margin))
    col1 = int(math.ceil((lon + dlon + math.pi) * width / (2 * math.pi) - 0.5 + margin)) + 1
    if col1 - col0 >= width:
        return [(row0, row1, 0, width)]
    if col0 < 0:
        return [(row0, row1, 0, col1), (row0, row1, col0 + width, width)]
    if col1 > width:
        return [(row0, row1, col0, width), (row0, row1, 0, col1 - width)]
    return [(row0, row1, col0, col1)]


def erp_windows_upright_box(center_rel, half, height: int, width: int, yaw_rad: float) -> list[tuple[int, int, int, int]]:
    """Tight ERP windows of an axis-aligned box seen by a level camera (no pitch / roll) turned by
    ``yaw_rad``; ``center_rel`` is the box centre minus the camera position (world axes, y down).

    Longitudes come from the four vertical edges, latitudes from the top / bottom faces at the
    smallest horizontal distance; returns the whole image when the camera is above or below the box.
    """
    cx, cy, cz = (float(v) for v in center_rel)
    hx, hy, hz = (float(v) for v in half)
    dx = max(abs(cx) - hx, 0.0)
    dz = max(abs(cz) - hz, 0.0)
    dmin = math.hypot(dx, dz)
    if dmin < 1e-3:
        return [(0, height, 0, width)]
    lat_hi = math.atan2(-(cy - hy), dmin)
    lat_lo = math.atan2(-(cy + hy), dmin)
    lat_hi = max(lat_hi, math.atan2(-(cy - hy), dmin + 2 * (hx + hz)))
    lat_lo = min(lat_lo, math.atan2(-(cy + hy), dmin + 2 * (hx + hz)))
    lon_c = math.atan2(cx, cz)
    rel = []
    for sx in (-1, 1):
        for sz in (-1, 1):
            lon = math.atan2(cx + sx * hx, cz + sz * hz)
            rel.append((lon - lon_c + math.pi) % (2 * math.pi) - math.pi)
    lon_lo, lon_hi = lon_c + min(rel) - yaw_rad, lon_c + max(rel) - yaw_rad
    margin = 1.5
    row0 = max(0, int(math.floor((math.pi / 2 - lat_hi) * height / math.pi - 0.5 - margin)))
    row1 = min(height, int(math.ceil((math.pi / 2 - lat_lo) * height / math.pi - 0.5 + margin)) + 1)
    col0 = int(math.floor((lon_lo + math.pi) * width / (2 * math.pi) - 0.5 - margin))
    col1 = int(math.ceil((lon_hi + math.pi) * width / (2 * math.pi) - 0.5 + margin)) + 1
    if col1 - col0 >= width:
        return [(row0, row1, 0, width)]
    shift = (col0 // width) * width
    col0, col1 = col0 - shift, col1 - shift
    if col1 > width:
        return [(row0, row1, col0, width), (row0, row1, 0, col1 - width)]
    return [(row0, row1, col0, col1)]
