"""Ray-cast ERP rendering of a :class:`~panoworld.synth.scene.Scene` with exact ground truth.

Units and shapes (T frames, H x W ERP, N tracks):

- ``frames`` (T, 3, H, W) float32 in [0, 1];
- ``depth`` (T, H, W) float32: metric range along each pixel-centre ray, metres (``inf`` where a ray
  leaves a scene without sky; never happens for :func:`make_scene` worlds);
- ``instances`` (T, H, W) int16: object id per pixel (0 = sky);
- ``poses`` (T, 4, 4) float64: camera-to-world, OpenCV camera axes (x right, y down, z forward);
- ``tracks2d`` (T, N, 2) float32: (x, y) continuous ERP pixel coordinates (pixel centres at integers,
  x wrapped into [-0.5, W - 0.5) by ``panoworld.sphere.wrap_x``); ``visibility`` (T, N) bool from exact ray
  casts (occlusion tests);
- ``tracks3d_world`` / ``tracks3d_cam0`` / ``tracks3d_cam`` (T, N, 3) float64 metres: the tracked
  surface point in the world, in the frame-0 camera and in the frame-t camera;
- ``static`` (N,) bool: the point lies on a non-moving object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch

from panoworld.sphere import (
    direction_to_lonlat,
    erp_directions,
    lonlat_to_direction,
    lonlat_to_pixel,
    pixel_to_lonlat,
    query_grid,
    wrap_x,
)

from .primitives import dot3, erp_windows, erp_windows_upright_box, intersect, inverse_directions
from .scene import Scene
from .shading import PackedScene, put_rows_, take_rows
from .shadows import ShadowMap

__all__ = ["RenderedClip", "ClipRenderer", "Tracks", "render_clip"]

_UNBOUNDED = ("room", "ground", "dome")


@dataclass
class Tracks:
    """Ground-truth point tracks of frame-0 grid queries (see the module docstring for units)."""

    queries: torch.Tensor
    tracks2d: torch.Tensor
    visibility: torch.Tensor
    tracks3d_world: torch.Tensor
    tracks3d_cam0: torch.Tensor
    tracks3d_cam: torch.Tensor
    static: torch.Tensor
    instances: torch.Tensor


@dataclass
class RenderedClip:
    """A rendered clip with its ground truth; see the module docstring for shapes and units."""

    frames: torch.Tensor
    depth: torch.Tensor
    instances: torch.Tensor
    poses: torch.Tensor
    times: torch.Tensor
    fps: float
    tracks: Tracks
    trajectory: str
    captions: dict
    scene: Scene
    instance_labels: dict = field(default_factory=dict)

    # Flat aliases of the track fields, so ``clip.tracks2d`` etc. work directly.
    @property
    def tracks2d(self) -> torch.Tensor:
        return self.tracks.tracks2d

    @property
    def visibility(self) -> torch.Tensor:
        return self.tracks.visibility

    @property
    def tracks3d_world(self) -> torch.Tensor:
        return self.tracks.tracks3d_world

    @property
    def tracks3d_cam0(self) -> torch.Tensor:
        return self.tracks.tracks3d_cam0

    @property
    def static(self) -> torch.Tensor:
        return self.tracks.static


class ClipRenderer:
    """Frame-by-frame renderer of one scene (streaming: memory is bounded by one frame).

    Args:
        scene: the world.
        frames: number of frames T; frame i is at time i / fps seconds.
        size: (H, W) of the ERP output, W = 2H.
        fps: frames per second.
        device: torch device for the image rays.
        supersample: odd factor s; colour is averaged over s x s rays per pixel, while depth and ids
            come from the middle ray, which is exactly the pixel centre.
        shadows: cast shadows (shadow maps filled by ray casts towards the light).
        optimize: cull primitives to their ERP windows and cast a static camera's background once
            (False gives the naive renderer with identical output, for benchmarks).
    """

    def __init__(
        self,
        scene: Scene,
        *,
        frames: int = 93,
        size: tuple[int, int] = (512, 1024),
        fps: float = 16.0,
        device: str | torch.device = "cpu",
        supersample: int = 1,
        shadows: bool = True,
        optimize: bool = True,
    ):
        height, width = size
        if width != 2 * height or height <= 0:
            raise ValueError(f"ERP size must be H x 2H, got {height}x{width}")
        if supersample < 1 or supersample % 2 == 0:
            raise ValueError(f"supersample must be an odd factor >= 1, got {supersample}")
        if frames < 1 or fps <= 0:
            raise ValueError(f"need frames >= 1 and fps > 0, got {frames} and {fps}")
        self.scene = scene
        self.size = (height, width)
        self.n_frames = frames
        self.fps = float(fps)
        self.device = torch.device(device)
        self.ss = supersample
        self.shadows = shadows
        self.times = torch.arange(frames, dtype=torch.float64) / self.fps
        self.poses = scene.trajectory.poses(self.times)
        self.packed = PackedScene(scene, self.times, self.device)
        hs, ws = height * supersample, width * supersample
        self.rays_cam = erp_directions(hs, ws, device=self.device, dtype=torch.float32)
        self.optimize = optimize
        self.static_camera = optimize and bool((self.poses - self.poses[:1]).abs().max() == 0)
        self._bg_cache = None
        self._rays_key, self._rays_cache, self._inv_cache = None, None, None
        self.shadow = None
        if shadows and self.packed.occluders:
            res = max(64, min(height * supersample, 512))
            self.shadow = ShadowMap(self.packed, self.poses[0, :3, 3].to(self.device, torch.float32), resolution=res)

    # ------------------------------------------------------------------ image rays
    def _camera(self, i: int):
        pose = self.poses[i]
        return pose[:3, :3], pose[:3, 3]

    def _rays(self, rot: torch.Tensor) -> torch.Tensor:
        """World directions (hs, ws, 3) float32 of the image rays for camera rotation ``rot``; reused while
        the rotation stays the same (static and walking cameras)."""
        key = rot.numpy().tobytes()
        if self._rays_key != key:
            rays = self.rays_cam @ rot.to(self.device, torch.float32).T
            # Planar storage (x, y, z planes; same values): per-component ray and shading arithmetic
            # then runs on contiguous memory, several times faster on the CPU.
            self._rays_cache = rays.permute(2, 0, 1).contiguous().permute(1, 2, 0)
            self._inv_cache = inverse_directions(self._rays_cache)  # shared by static boxes and rooms
            self._rays_key = key
        return self._rays_cache

    def _cast_culled(self, i: int, rays: torch.Tensor, ids: list[int], buffers) -> None:
        """Update (t, id, face) image buffers in place with primitives ``ids``, ray-casting only the ERP
        windows that can contain each primitive."""
        t_buf, id_buf, face_buf = buffers
        rot, cen = self._camera(i)
        cam_c = cen.to(self.device, torch.float32)
        hs, ws = rays.shape[:2]
        level = bool(abs(float(rot[1, 1]) - 1.0) < 1e-12)  # no pitch / roll: the horizon is the middle row
        fill_last = []
        for k in ids:
            kind = self.packed.kinds[k]
            if kind == "dome" and self.optimize:
                fill_last.append(k)
                continue
            if kind == "ground" and self.optimize and level and float(cen[1]) < 0:
                windows = [(max(0, hs // 2 - 1), hs, 0, ws)]
            elif kind in _UNBOUNDED or not self.optimize:
                windows = [(0, hs, 0, ws)]
            elif kind == "box" and level and not self.packed.dynamic[k]:
                yaw = math.atan2(float(rot[0, 2]), float(rot[2, 2]))
                rel = (self.packed.cen64[i, k] - cen).tolist()
                windows = erp_windows_upright_box(rel, self.packed.sizes[k], hs, ws, yaw)
            else:
                c_cam = (rot.T @ (self.packed.cen64[i, k] - cen)).tolist()
                windows = erp_windows(c_cam, self.packed.radius[k], hs, ws)
            for r0, r1, c0, c1 in windows:
                o_l, d_l = self.packed.local_rays(k, i, cam_c, rays[r0:r1, c0:c1])
                # Static primitives see the world rays unrotated: their reciprocals are shared.
                shared = rays is self._rays_cache and not self.packed.dynamic[k]
                inv_d = self._inv_cache[r0:r1, c0:c1] if shared else None
                t, face = intersect(kind, self.packed.sizes[k], o_l, d_l, inv_d)
                tv = t_buf[r0:r1, c0:c1]
                better = t < tv
                tv.copy_(torch.where(better, t, tv))
                id_buf[r0:r1, c0:c1].masked_fill_(better, k)
                fv = face_buf[r0:r1, c0:c1]
                fv.copy_(torch.where(better, face, fv))
        for k in fill_last:
            # Backdrops (the sky dome) only where nothing nearer was hit.
            miss = torch.isinf(t_buf).reshape(-1).nonzero().squeeze(-1)
            if miss.numel() == 0:
                continue
            o_l, d_l = self.packed.local_rays(k, i, cam_c, take_rows(rays.reshape(-1, 3), miss))
            t, face = intersect(self.packed.kinds[k], self.packed.sizes[k], o_l, d_l)
            t_buf.view(-1).index_copy_(0, miss, t)
            id_buf.view(-1).index_fill_(0, miss, k)
            face_buf.view(-1).index_copy_(0, miss, face)

    def _shade(self, i: int, t, ids, faces, d, cam_c):
        """Flat hit arrays (M,) -> (p, n, base, direct) (M, 3) each."""
        p = (t * d.T).add_(cam_c.view(3, 1)).T  # channel-major: contiguous for planar rays, same values
        n, base, direct = self.packed.surface(i, p, d, ids, faces)
        return p, n, base, direct

    def _background(self, i: int, rays: torch.Tensor, groups: tuple[list[int], ...]):
        """Primitives ``groups`` (cast group after group, e.g. static then moving ones): flat
        (t, id, face, base, direct[, shadow index, shadow reference]) per pixel."""
        hs, ws = rays.shape[:2]
        dev = self.device
        buffers = (
            torch.full((hs, ws), math.inf, device=dev),
            torch.full((hs, ws), -1, dtype=torch.int64, device=dev),
            torch.zeros((hs, ws), dtype=torch.int8, device=dev),
        )
        for ids in groups:
            self._cast_culled(i, rays, ids, buffers)
        t, ids, faces = (b.reshape(-1) for b in buffers)
        d = rays.reshape(-1, 3)
        cam_c = self._camera(i)[1].to(dev, torch.float32)
        hit = ids >= 0
        if bool(hit.all()):
            out = list(self._shade(i, t, ids, faces, d, cam_c))
        else:
            out = [torch.zeros(d.shape[0], 3, device=dev) for _ in range(4)]
            if bool(hit.any()):
                for buf, val in zip(out, self._shade(i, t[hit], ids[hit], faces[hit], d[hit], cam_c)):
                    buf[hit] = val
        coords = list(self.shadow.coords(out[0], out[1])) if self.shadow is not None else []
        return (t, ids, faces, out[2], out[3], *coords)

    def render_frame(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Frame ``i`` -> (rgb (3, H, W) float32 [0, 1], depth (H, W) float32 m, instances (H, W) int16)."""
        rot, cen = self._camera(i)
        rays = self._rays(rot)
        cast_moving = bool(self.packed.dynamic_ids) and self.static_camera
        if self.static_camera and self._bg_cache is not None:
            bg = self._bg_cache
        elif self.static_camera:
            bg = self._bg_cache = self._background(i, rays, (self.packed.static_ids,))
        else:
            # A moving camera sees a new background every frame: cast and shade everything in one pass.
            bg = self._background(i, rays, (self.packed.static_ids, self.packed.dynamic_ids))
        t_bg, id_bg, face_bg, base, direct = bg[:5]
        shadow_coords = bg[5:]
        hs, ws = rays.shape[:2]
        t, ids = t_bg, id_bg
        lit_map = self.shadow.frame_map(i) if self.shadow is not None else None
        if lit_map is not None:
            color = torch.addcmul(base.T, direct.T, self.shadow.test(lit_map, *shadow_coords)).T
        else:
            color = base + direct
        if cast_moving:
            t = t_bg.clone().reshape(hs, ws)
            ids = id_bg.clone().reshape(hs, ws)
            faces = face_bg.clone().reshape(hs, ws)
            self._cast_culled(i, rays, self.packed.dynamic_ids, (t, ids, faces))
            t, ids, faces = t.reshape(-1), ids.reshape(-1), faces.reshape(-1)
            changed = (ids != id_bg).nonzero().squeeze(-1)
            if changed.numel():
                d = take_rows(rays.reshape(-1, 3), changed)
                cam_c = cen.to(self.device, torch.float32)
                sub = (x.index_select(0, changed) for x in (t, ids, faces))
                p_ch, n_ch, base_ch, direct_ch = self._shade(i, *sub, d, cam_c)
                if lit_map is not None:
                    lit_ch = self.shadow.test(lit_map, *self.shadow.coords(p_ch, n_ch))
                    color_ch = torch.addcmul(base_ch, direct_ch, lit_ch.unsqueeze(-1))
                else:
                    color_ch = base_ch + direct_ch
                color = put_rows_(color, changed, color_ch)
        color = color.clamp_(0, 1).reshape(hs, ws, 3).permute(2, 0, 1)
        depth = t.reshape(hs, ws)
        inst = torch.where(ids >= 0, self.packed.instance.index_select(0, ids.clamp_min(0)), torch.zeros_like(ids))
        inst = inst.reshape(hs, ws)
        if self.ss > 1:
            s, mid = self.ss, self.ss // 2
            color = torch.nn.functional.avg_pool2d(color[None], s)[0]
            depth = depth[mid::s, mid::s]
            inst = inst[mid::s, mid::s]
        return color.contiguous(), depth.contiguous(), inst.to(torch.int16).contiguous()

    def iter_frames(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Yield :meth:`render_frame` for every frame in order."""
        for i in range(self.n_frames):
            yield self.render_frame(i)

    # ------------------------------------------------------------------ tracks
    def _cast_all_frames(self, cens: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
        """Nearest hit range (T, N) float64 of rays from camera centres ``cens`` (T, 3) along ``dirs``
        (T, N, 3), each frame against every primitive where it is then; static primitives are cast for
        all frames at once (same arithmetic per ray as one frame at a time)."""
        packed = self.packed
        t_best = torch.full(dirs.shape[:-1], math.inf, dtype=dirs.dtype)
        for k, kind in enumerate(packed.kinds):
            if packed.dynamic[k]:
                per_frame = []
                for i in range(dirs.shape[0]):
                    o_l, d_l = packed.local_rays(k, i, cens[i], dirs[i], f64=True)
                    per_frame.append(intersect(kind, packed.sizes[k], o_l, d_l)[0])
                t = torch.stack(per_frame)
            else:
                o_l, d_l = packed.local_rays(k, 0, cens[:, None], dirs, f64=True)
                t, _ = intersect(kind, packed.sizes[k], o_l, d_l)
            t_best = torch.where(t < t_best, t, t_best)
        return t_best

    def tracks(self, grid_size: int = 30) -> Tracks:
        """Exact tracks of a ``grid_size`` x ``grid_size`` grid of frame-0 queries (float64 ray casts)."""
        height, width = self.size
        packed = self.packed
        everything = list(range(len(packed.kinds)))
        queries = query_grid(height, width, grid_size, dtype=torch.float64)
        d_cam = lonlat_to_direction(pixel_to_lonlat(queries[:, 0], queries[:, 1], height, width))
        rot0, cen0 = self._camera(0)
        d0 = d_cam @ rot0.T
        t0, k0, _ = packed.cast(0, cen0, d0, everything, f64=True)
        hit = torch.isfinite(t0)
        p0 = cen0 + torch.where(hit, t0, torch.zeros_like(t0)).unsqueeze(-1) * d0
        k0 = k0.clamp_min(0)
        # Surface point in its primitive's frame at frame 0, carried along with the primitive.
        p_local = ((p0 - packed.cen64[0, k0]).unsqueeze(-2) @ packed.rot64[0, k0]).squeeze(-2)
        world = packed.cen64[:, k0] + (packed.rot64[:, k0] @ p_local.unsqueeze(-1)).squeeze(-1)
        rots, cens = self.poses[:, :3, :3], self.poses[:, :3, 3]
        cam = ((world - cens[:, None]).unsqueeze(-2) @ rots[:, None]).squeeze(-2)
        cam0 = ((world - cens[0]).unsqueeze(-2) @ rots[0]).squeeze(-2)
        pix = lonlat_to_pixel(direction_to_lonlat(cam), height, width)
        pix[..., 0] = wrap_x(pix[..., 0], width)
        rel = world - cens[:, None]
        dist = dot3(rel, rel).sqrt()
        dirs = rel / dist.clamp_min(1e-12).unsqueeze(-1)
        visible = hit & (self._cast_all_frames(cens, dirs) >= dist * (1 - 1e-6) - 1e-6)
        dynamic = torch.tensor(packed.dynamic, dtype=torch.bool)
        static = hit & ~dynamic[k0]
        inst = torch.where(hit, packed.instance.cpu()[k0], torch.zeros_like(k0))
        nan = torch.full_like(world, math.nan)
        world = torch.where(hit[None, :, None], world, nan)
        cam = torch.where(hit[None, :, None], cam, nan)
        cam0 = torch.where(hit[None, :, None], cam0, nan)
        return Tracks(
            queries=queries.float(),
            tracks2d=pix.float(),
            visibility=visible,
            tracks3d_world=world,
            tracks3d_cam0=cam0,
            tracks3d_cam=cam,
            static=static,
            instances=inst,
        )


def render_clip(
    scene: Scene,
    *,
    frames: int = 93,
    size: tuple[int, int] = (512, 1024),
    fps: float = 16.0,
    device: str | torch.device = "cpu",
    supersample: int = 1,
    shadows: bool = True,
    grid_size: int = 30,
    progress: Callable[[int], None] | None = None,
) -> RenderedClip:
    """Render ``frames`` ERP frames of ``scene`` with full ground truth (see the module docstring).

    Frames, depth and instances are returned on the CPU; ``progress(1)`` is called after each frame.
    """
    from .captions import make_captions

    renderer = ClipRenderer(
        scene, frames=frames, size=size, fps=fps, device=device, supersample=supersample, shadows=shadows
    )
    height, width = size
    rgb = torch.empty(frames, 3, height, width)
    depth = torch.empty(frames, height, width)
    inst = torch.empty(frames, height, width, dtype=torch.int16)
    for i, (c, d, k) in enumerate(renderer.iter_frames()):
        rgb[i], depth[i], inst[i] = c.cpu(), d.cpu(), k.cpu()
        if progress is not None:
            progress(1)
    return RenderedClip(
        frames=rgb,
        depth=depth,
        instances=inst,
        poses=renderer.poses,
        times=renderer.times,
        fps=float(fps),
        tracks=renderer.tracks(grid_size),
        trajectory=scene.trajectory.kind,
        captions=make_captions(scene),
        scene=scene,
        instance_labels=scene.instance_labels(),
    )
