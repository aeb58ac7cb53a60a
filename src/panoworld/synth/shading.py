"""Packed scene tables and shading: albedo from procedural textures, ambient + Lambert + light, shadows.

``PackedScene`` turns a :class:`~panoworld.synth.scene.Scene` into per-primitive tensors on one
device (float32 for images, float64 for ground-truth rays) and the per-frame object poses.
"""

from __future__ import annotations

import math

import torch

from .primitives import FACE_NORMALS, FACE_ROUND, bounding_radius, dot3, intersect, local_normal
from .scene import Scene
from .textures import PATTERNS, evaluate_pattern, sky_color

__all__ = ["PackedScene", "take_rows", "put_rows_"]

_NO_SHADOW = ("room", "ground", "dome")
_NO_NORMAL = ("flat", "noise", "ball", "person", "road")  # patterns that ignore the normal


def _planar(x: torch.Tensor) -> bool:
    return x.dim() == 2 and x.shape[1] > 1 and x.stride(0) == 1


def take_rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[index]`` for (M,) or (M, C) tensors; planar (column-major) inputs give planar outputs."""
    if _planar(x):
        return x.T.index_select(1, index).T
    return x.index_select(0, index)


def put_rows_(dest: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """``dest[index] = src`` in place (any layouts), returns ``dest``."""
    if _planar(dest):
        dest.T.index_copy_(1, index, src.T)
        return dest
    return dest.index_copy_(0, index, src)


class PackedScene:
    """Per-primitive tensors and per-frame poses of a scene at ``times`` (T,) seconds."""

    def __init__(self, scene: Scene, times: torch.Tensor, device: torch.device, dtype=torch.float32):
        self.scene = scene
        self.device = device
        self.dtype = dtype
        prims = scene.prims
        self.kinds = [p.kind for p in prims]
        self.sizes = [tuple(float(v) for v in p.size) for p in prims]
        self.radius = [bounding_radius(p.kind, p.size) for p in prims]
        self.dynamic = [p.motion is not None for p in prims]
        self.static_ids = [k for k, p in enumerate(prims) if p.motion is None]
        self.dynamic_ids = [k for k, p in enumerate(prims) if p.motion is not None]
        self.occluders = [
            k for k, p in enumerate(prims) if p.kind not in _NO_SHADOW and p.face_materials()[0].emissive < 0.5
        ]
        self.instance = torch.tensor([p.instance for p in prims], dtype=torch.int64, device=device)
        self.axis_half = torch.tensor(
            [p.size[1] if p.kind in ("cylinder", "capsule") else 0.0 for p in prims], dtype=dtype, device=device
        )
        mats = [m for p in prims for m in p.face_materials()]
        self.pattern = torch.tensor([PATTERNS.index(m.pattern) for m in mats], dtype=torch.int64, device=device)
        self.color_a = torch.tensor([m.color_a for m in mats], dtype=dtype, device=device)
        self.color_b = torch.tensor([m.color_b for m in mats], dtype=dtype, device=device)
        self.scale = torch.tensor([m.scale for m in mats], dtype=dtype, device=device)
        self.emissive = torch.tensor([m.emissive for m in mats], dtype=dtype, device=device)
        self.is_room = torch.tensor([p.kind == "room" for p in prims], dtype=torch.bool, device=device)
        self.is_dynamic = torch.tensor(self.dynamic, dtype=torch.bool, device=device)
        self.face_normals = FACE_NORMALS.to(device=device, dtype=dtype)
        # Transposed (3, n) copies: gathering columns gives (M, 3) hit arrays stored column by column
        # ("planar"), whose per-channel elementwise ops run on contiguous memory (same values).
        self._planar = {
            "face_normals": self.face_normals.T.contiguous(),
            "color_a": self.color_a.T.contiguous(),
            "color_b": self.color_b.T.contiguous(),
        }
        # Object poses per frame, float64 (T, K, 3, 3) and (T, K, 3) for every primitive.
        n_t, n_k = times.shape[0], len(prims)
        rot = torch.eye(3, dtype=torch.float64).expand(n_t, n_k, 3, 3).clone()
        cen = torch.tensor([p.center for p in prims], dtype=torch.float64).expand(n_t, n_k, 3).clone()
        for k, p in enumerate(prims):
            if p.motion is not None:
                r_obj, c_obj = p.motion.poses(times)
                rot[:, k] = r_obj
                cen[:, k] = c_obj + (r_obj @ torch.tensor(p.center, dtype=torch.float64)[:, None])[..., 0]
        self.rot64, self.cen64 = rot, cen
        self.rot = rot.to(device=device, dtype=dtype)
        self.cen = cen.to(device=device, dtype=dtype)
        light = scene.light
        self.light_kind = light.kind
        self.light_pos = torch.tensor(light.position, dtype=dtype, device=device)
        sun = torch.tensor(light.direction, dtype=torch.float64)
        self.light_dir = (sun / torch.linalg.vector_norm(sun)).to(device=device, dtype=dtype)
        self.light_color = torch.tensor(light.color, dtype=dtype, device=device)
        self.ambient = torch.tensor(light.ambient, dtype=dtype, device=device)
        self.decals = scene.decals

    # ------------------------------------------------------------------ ray casting
    def local_rays(self, k: int, frame: int, o: torch.Tensor, d: torch.Tensor, *, f64: bool = False):
        """Origins and directions of world rays in primitive ``k``'s local frame at ``frame``."""
        rot = (self.rot64 if f64 else self.rot)[frame, k]
        cen = (self.cen64 if f64 else self.cen)[frame, k]
        if self.dynamic[k]:
            # Row-major operands keep the matrix product's arithmetic independent of the ray layout.
            return (o - cen) @ rot, d.contiguous() @ rot
        return o - cen, d

    def cast(self, frame: int, o: torch.Tensor, d: torch.Tensor, ids: list[int], *, f64: bool = False):
        """Nearest hit of world rays (o (...,3) or (3,), d (..., 3)) over primitives ``ids``, no culling.

        Returns (t (...,), prim id (...,) int64, -1 for none, face (...,) int8).
        """
        shape = d.shape[:-1]
        t_best = torch.full(shape, math.inf, dtype=d.dtype, device=d.device)
        id_best = torch.full(shape, -1, dtype=torch.int64, device=d.device)
        face_best = torch.zeros(shape, dtype=torch.int8, device=d.device)
        for k in ids:
            o_l, d_l = self.local_rays(k, frame, o, d, f64=f64)
            t, face = intersect(self.kinds[k], self.sizes[k], o_l, d_l)
            better = t < t_best
            t_best = torch.where(better, t, t_best)
            id_best = torch.where(better, torch.full_like(id_best, k), id_best)
            face_best = torch.where(better, face, face_best)
        return t_best, id_best, face_best

    # ------------------------------------------------------------------ shading
    def surface(self, frame: int, p: torch.Tensor, d: torch.Tensor, ids: torch.Tensor, faces: torch.Tensor):
        """World normals (M, 3) and (base, direct) radiance (M, 3) each of hit points ``p`` (M, 3).

        The final colour is ``base + direct * lit`` where ``lit`` in [0, 1] is the shadow factor.
        """
        # index_select instead of advanced indexing: same values, several times faster on the CPU.
        ids = ids.clamp_min(0)
        face = faces.long()
        mat = ids * 8 + face
        n_world = self._gather("face_normals", face.clamp(max=5))
        p_tex, n_tex = p, n_world
        # Round faces (spheres, cylinders, capsules, dome) and moving primitives need local coordinates.
        special = (self.is_dynamic.index_select(0, ids) | (face == FACE_ROUND)).nonzero().squeeze(-1)
        if special.numel():
            k_sp = ids.index_select(0, special)
            rot = self.rot[frame].index_select(0, k_sp)
            p_loc = ((take_rows(p, special) - self.cen[frame].index_select(0, k_sp)).unsqueeze(-2) @ rot).squeeze(-2)
            n_loc = local_normal(faces.index_select(0, special), p_loc, self.axis_half.index_select(0, k_sp))
            put_rows_(n_world, special, (rot @ n_loc.unsqueeze(-1)).squeeze(-1))
            dyn = self.is_dynamic.index_select(0, k_sp).nonzero().squeeze(-1)
            if dyn.numel():
                p_tex = put_rows_(p.clone(), special[dyn], p_loc[dyn])
                n_tex = put_rows_(n_world.clone(), special[dyn], n_loc[dyn])
            else:
                n_tex = n_world
        pats = self.pattern.index_select(0, mat)
        present = torch.bincount(pats, minlength=len(PATTERNS)).nonzero().squeeze(-1).tolist()
        if len(present) == 1:
            albedo = self._albedo(PATTERNS[present[0]], p_tex, n_tex, mat, d)
        else:
            albedo = torch.empty_like(p)
            for index in present:
                sel = (pats == index).nonzero().squeeze(-1)
                name = PATTERNS[index]
                if name == "sky":
                    val = self._albedo(name, None, None, None, take_rows(d, sel))
                elif name in _NO_NORMAL:
                    val = self._albedo(name, take_rows(p_tex, sel), None, mat.index_select(0, sel), None)
                else:
                    n_sel = take_rows(n_tex, sel)
                    val = self._albedo(name, take_rows(p_tex, sel), n_sel, mat.index_select(0, sel), None)
                put_rows_(albedo, sel, val)
        emit = self.emissive.index_select(0, mat)
        if self.decals:
            emit = self._apply_decals(p, ids, albedo, emit, d)
        up = n_world[:, 1].mul(-0.2).add_(0.8)
        # Channel-major (3, M) arithmetic on the transposed views: contiguous for planar inputs.
        base = (albedo.T * self.ambient.view(3, 1)).mul_(up).T
        if self.light_kind == "point":
            to_light = (self.light_pos.view(3, 1) - p.T).T
            dist2 = dot3(to_light, to_light)
            lam = (dot3(n_world, to_light) / dist2.sqrt().clamp_min(1e-6)).clamp_min(0)
            lam = lam.mul_(6.0).div_(4.0 + dist2)
        else:
            lam = dot3(n_world, self.light_dir).clamp_min(0)
        direct = (albedo.T * self.light_color.view(3, 1)).mul_(lam).T
        glow = (emit > 0).nonzero().squeeze(-1)
        if glow.numel():
            e = emit.index_select(0, glow).unsqueeze(-1)
            put_rows_(base, glow, take_rows(base, glow) * (1 - e) + take_rows(albedo, glow) * e)
            put_rows_(direct, glow, take_rows(direct, glow) * (1 - e))
        return n_world, base, direct

    def _gather(self, name: str, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` (M,) of the (n, 3) table ``name`` as an (M, 3) planar (column-major) tensor."""
        return self._planar[name].index_select(1, index).T

    def _albedo(self, pattern: str, p_tex, n_tex, mat, d):
        if pattern == "sky":
            light = self.scene.light
            return sky_color(d, self.light_dir, light.sky_zenith, light.sky_horizon)
        a, b = self._gather("color_a", mat), self._gather("color_b", mat)
        return evaluate_pattern(pattern, p_tex, n_tex, a, b, self.scale.index_select(0, mat))

    def _apply_decals(self, p, ids, albedo, emit, d):
        """Paint windows / paintings / doors onto room-wall hits (in place on ``albedo``); returns emission."""
        y_lo = min(dec.center[1] - dec.half[1] for dec in self.decals)
        y_hi = max(dec.center[1] + dec.half[1] for dec in self.decals)
        y = p[:, 1]
        sel = (self.is_room.index_select(0, ids) & (y >= y_lo) & (y <= y_hi)).nonzero().squeeze(-1)
        if sel.numel() == 0:
            return emit
        emit = emit.clone()
        pw = take_rows(p, sel).T.contiguous()  # (3, S): contiguous rows are faster than columns
        walls = {}  # (axis, wall coordinate) -> (indices into sel, their points (3, S_w)), shared by decals
        for dec in self.decals:
            c = torch.tensor(dec.center, dtype=p.dtype, device=p.device)
            along = 2 - dec.axis  # the horizontal coordinate along the wall
            key = (dec.axis, float(c[dec.axis]))
            if key not in walls:
                on = ((pw[dec.axis] - c[dec.axis]).abs() < 1e-3).nonzero().squeeze(-1)
                walls[key] = (on, pw.index_select(1, on))
            on, pwall = walls[key]
            du = pwall[along] - c[along]
            dv = pwall[1] - c[1]
            inside = (du.abs() <= dec.half[0]) & (dv.abs() <= dec.half[1])
            if not bool(inside.any()):
                continue
            idx = sel.index_select(0, on[inside])
            u, v = du[inside] / dec.half[0], dv[inside] / dec.half[1]
            frame = ((u.abs() > 0.94) | (v.abs() > 0.94)).to(p.dtype).unsqueeze(-1)
            col = torch.tensor(dec.color, dtype=p.dtype, device=p.device)
            if dec.kind == "window":
                mullion = ((u.abs() < 0.03) | (v.abs() < 0.03)).to(p.dtype).unsqueeze(-1)
                sky = sky_color(take_rows(d, idx), self.light_dir, self.scene.light.sky_zenith, self.scene.light.sky_horizon)
                white = torch.full_like(sky, 0.92)
                put_rows_(albedo, idx, sky + (white - sky) * torch.maximum(frame, mullion))
                emit[idx] = 1.0
            elif dec.kind == "painting":
                art = 0.5 + 0.5 * torch.sin(3.0 * u + 2.0 * torch.sin(4.0 * v) + col[0] * 6.0)
                inner = col * (0.6 + 0.4 * art.unsqueeze(-1))
                put_rows_(albedo, idx, inner + (torch.full_like(inner, 0.15) - inner) * frame)
            else:
                knob = ((u - 0.75).pow(2) + (v - 0.05).pow(2) < 0.004).to(p.dtype).unsqueeze(-1)
                panel = col * (0.85 + 0.15 * (v.abs() > 0.5).to(p.dtype)).unsqueeze(-1)
                put_rows_(albedo, idx, panel + (torch.full_like(panel, 0.8) - panel) * torch.maximum(frame * 0.5, knob))
        return emit
