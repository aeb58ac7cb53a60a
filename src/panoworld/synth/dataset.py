"""Write a synthetic split in the official test-set layout (reference sections 8.4 and 9.2), resumably.

The layout is :mod:`panoworld.formats.testset` (master.csv, split.json, videos/, inputs/, captions/) with one
:mod:`panoworld.formats.annotations` folder per clip (exact ground truth: depth in metres, instance ids, tracks,
poses; meta.json written last). docs/synth.md lists every file, shape, dtype and unit.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from panoworld.errors import InputError
from panoworld.formats.annotations import AnnotationWriter, is_complete, read_meta
from panoworld.formats.captions import Captions, write_captions
from panoworld.formats.job_record import Item, plan_items, read_record, settings_key, write_record
from panoworld.formats.testset import TestSetLayout, make_clip_id, write_master
from panoworld.io import VideoWriter, atomic_write_json, write_image
from panoworld.sphere import erp_to_perspective

from .captions import make_captions
from .render import ClipRenderer
from .scene import TRAJECTORY_KINDS, Scene

__all__ = [
    "ClipPlan",
    "plan_split",
    "write_clip",
    "write_split",
    "annotation_frame_indices",
    "check_settings",
    "input_size",
    "master_row",
]

DEFAULT_TRAJECTORIES = (25, 12, 8, 5)
#: Version of :func:`plan_split`'s rule (stored in split.json: a split planned otherwise cannot grow).
PLAN_VERSION = 2


@dataclass(frozen=True)
class ClipPlan:
    """What one clip of a split will be: its name, scene seed, scene kind and trajectory kind."""

    index: int
    name: str
    seed: int
    kind: str
    trajectory: str


def _counts(total: int, weights) -> list[int]:
    """Largest-remainder apportionment of ``total`` items to ``weights``."""
    w = [float(x) for x in weights]
    if any(not math.isfinite(x) or x < 0 for x in w) or sum(w) <= 0:
        raise InputError(f"proportions must be finite, non-negative with a positive sum, got {list(weights)}")
    raw = [total * x / sum(w) for x in w]
    base = [int(math.floor(r)) for r in raw]
    order = sorted(range(len(w)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[: total - sum(base)]:
        base[i] += 1
    return base


def _block_size(weights) -> int:
    """The fewest items that hold ``weights`` in exact proportion (weights as fractions of denominator <= 100)."""
    fractions = [Fraction(float(x)).limit_denominator(100) for x in weights]
    scale = math.lcm(*(f.denominator for f in fractions))
    counts = [int(f * scale) for f in fractions]
    return max(1, sum(counts) // math.gcd(*counts))


def _blocks(total: int, weights, rng: random.Random) -> list[int]:
    """Category index of items 0..total-1: consecutive blocks of :func:`_block_size` items, each apportioned
    exactly and shuffled. A prefix of the list is the list of a smaller total (so a split can grow)."""
    size = _block_size(weights)
    out: list[int] = []
    while len(out) < total:
        block = [k for k, n in enumerate(_counts(size, weights)) for _ in range(n)]
        rng.shuffle(block)
        out += block
    return out[:total]


def plan_split(clips: int, seed: int, *, trajectories=DEFAULT_TRAJECTORIES, indoor_fraction: float = 0.5) -> list[ClipPlan]:
    """Deterministic list of clips: trajectory kinds in the given proportions (static, rotate, walk,
    walk_rotate), indoor / outdoor in ``indoor_fraction``, both shuffled by ``seed``.

    Proportions are exact in every block of the smallest size that holds them (50 clips for the default
    25,12,8,5) and the plan of N clips is the first N clips of any longer plan, so ``--clips`` can grow a split.
    """
    if clips < 1:
        raise InputError(f"--clips must be at least 1, got {clips}")
    if len(trajectories) != len(TRAJECTORY_KINDS):
        raise InputError(f"give {len(TRAJECTORY_KINDS)} trajectory proportions ({', '.join(TRAJECTORY_KINDS)})")
    if not 0.0 <= indoor_fraction <= 1.0:
        raise InputError(f"indoor fraction must be in [0, 1], got {indoor_fraction}")
    kinds = _blocks(clips, trajectories, random.Random(f"panoworld-synth-kinds:{seed}"))
    scenes = _blocks(clips, (indoor_fraction, 1.0 - indoor_fraction), random.Random(f"panoworld-synth-scenes:{seed}"))
    seeds = random.Random(f"panoworld-synth-seeds:{seed}")
    return [ClipPlan(i, f"clip{i:04d}", seeds.randrange(2**31), ("indoor", "outdoor")[scenes[i]],
                     TRAJECTORY_KINDS[kinds[i]]) for i in range(clips)]


def annotation_frame_indices(n_frames: int, n_ann: int) -> list[int]:
    """``n_ann`` video frame indices evenly spread over [0, n_frames - 1] (all frames if fewer)."""
    if n_ann <= 0 or n_ann >= n_frames:
        return list(range(n_frames))
    return [int(round(i * (n_frames - 1) / (n_ann - 1))) for i in range(n_ann)] if n_ann > 1 else [0]


def input_size(height: int) -> tuple[int, int]:
    """Perspective input size for an ERP of ``height`` rows: 480x640 at 512 rows, same ratio otherwise."""
    return max(2, 2 * round(height * 480 / 1024)), max(2, 2 * round(height * 640 / 1024))


def write_clip(
    root: Path,
    plan: ClipPlan,
    scene: Scene,
    *,
    split: str,
    frames: int,
    size: tuple[int, int],
    fps: float,
    ann_frames: int,
    grid_size: int,
    device: str,
    supersample: int,
    shadows: bool,
    depth_dtype: str,
    input_fov: float,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Render one clip and write its files (meta.json last); returns its master.csv row."""
    height, width = size
    renderer = ClipRenderer(scene, frames=frames, size=size, fps=fps, device=device, supersample=supersample, shadows=shadows)
    ann_idx = annotation_frame_indices(frames, ann_frames)
    layout = TestSetLayout(root)
    max_depth = 0.0
    sky = []
    with AnnotationWriter(layout.path(layout.annotations(split, plan.name)), depth_dtype=depth_dtype) as ann:
        with VideoWriter(layout.path(layout.video(plan.name)), fps, crf=18, spherical=True) as writer:
            for i in range(frames):
                rgb, depth, inst = renderer.render_frame(i)
                writer.write(rgb.cpu())
                if i == 0:
                    persp = erp_to_perspective(rgb.cpu(), fov_x=input_fov, size=input_size(height))
                    write_image(layout.path(layout.input_image(plan.name)), persp)
                if i in ann_idx:
                    k = ann_idx.index(i)
                    d = depth.cpu().numpy()
                    max_depth = max(max_depth, float(np.nanmax(np.where(np.isfinite(d), d, np.nan))))
                    ann.depth(k, d)
                    ann.instances(k, inst.cpu().numpy())
                    sky.append(inst.cpu().numpy() == 0)
                if progress is not None:
                    progress(1)
        atomic_write_json(layout.path(layout.input_view(plan.name)),
                          {"fov_x": input_fov, "yaw": 0.0, "pitch": 0.0, "roll": 0.0, "size": list(input_size(height))})
        write_captions(layout.path(layout.captions(plan.name)), Captions(**make_captions(scene)))
        tr = renderer.tracks(grid_size)
        sel = torch.tensor(ann_idx)
        vis = tr.visibility[sel].T.numpy()
        nan = np.float32(np.nan)
        cam0 = tr.tracks3d_cam0[sel].permute(1, 0, 2).numpy().astype(np.float32)
        raw = tr.tracks3d_cam[sel].permute(1, 0, 2).numpy().astype(np.float32)
        poses = renderer.poses
        rel = torch.linalg.inv(poses[sel]) @ poses[0]  # frame-0 camera -> frame-t camera point transform
        ann.put(
            sky_mask=np.stack(sky),
            tracks_2d=tr.tracks2d[sel].permute(1, 0, 2).numpy(),
            visibility=vis,
            tracks_3d=np.where(vis[..., None], cam0, nan),
            tracks_3d_raw=np.where(vis[..., None], raw, nan),
            tracks_3d_world=tr.tracks3d_world[sel].permute(1, 0, 2).numpy(),
            track_is_static=tr.static.numpy(),
            query_points=tr.queries.numpy(),
            camera_poses=torch.cat([rel[:, :3, :3].reshape(-1, 9), rel[:, :3, 3]], 1).numpy(),
            camera_c2w=(torch.linalg.inv(poses[0]) @ poses[sel]).numpy(),
            camera_c2w_video=poses.numpy(),
            frame_indices=np.asarray(ann_idx),
        )
        meta = _meta(scene, plan, tr, ann_idx, size=size, fps=fps, frames=frames, grid_size=grid_size,
                     depth_dtype=depth_dtype, max_depth=max_depth)
        ann.commit(meta)
    return master_row(root, plan, split, meta, input_fov)


def _meta(scene: Scene, plan: ClipPlan, tr, ann_idx: list[int], *, size, fps, frames, grid_size, depth_dtype,
          max_depth) -> dict:
    """The clip's annotation meta.json (what :func:`master_row` reads back on resume)."""
    height, width = size
    is_static = scene.trajectory.kind == "static"
    return {
        "video_resolution": [width, height],
        "n_frames": len(ann_idx),
        "n_tracks": int(tr.queries.shape[0]),
        "grid_size": grid_size,
        "max_depth_m": round(max_depth, 4),
        "camera_motion": {"method": "ground_truth", "is_static": is_static, "inlier_ratio": 1.0},
        "track_method": "analytic_depth_pose",
        "frame_indices": ann_idx,
        "frame_times_s": [round(i / fps, 6) for i in ann_idx],
        "fps": fps,
        "n_video_frames": frames,
        "depth_dtype": depth_dtype,
        "depth_kind": "synth_gt",
        "pose_convention": "camera_poses: [R|t] row-major, p_t = R p_0 + t (frame-0 camera -> frame-t camera), "
                           "OpenCV axes; camera_c2w: camera-to-world per annotation frame, world = frame-0 camera; "
                           "camera_c2w_video: camera-to-world per video frame, world of tracks_3d_world",
        "trajectory_kind": scene.trajectory.kind,
        "scene_kind": scene.kind,
        "scene_id": f"{scene.kind}/{scene.description.get('place', '')}/{plan.seed}",
        "seed": plan.seed,
        "instance_labels": {str(k): v for k, v in sorted(scene.instance_labels().items())},
        "dynamic_instances": sorted(scene.dynamic_instances),
        "n_static_tracks": int(tr.static.sum()),
    }


def master_row(root: Path, plan: ClipPlan, split: str, meta: dict, input_fov: float) -> dict:
    """The master.csv row of a written clip (paths relative to ``root``)."""
    width, height = meta["video_resolution"]
    layout = TestSetLayout(root)
    return {
        "clip_id": make_clip_id(split, plan.name),
        "split": split,
        "video_path": layout.video(plan.name),
        "annotation_dir": layout.annotations(split, plan.name),
        "caption_path": layout.captions(plan.name),
        "n_frames": meta["n_frames"],
        "fps": meta["fps"],
        "resolution": f"{width}x{height}",
        "is_static": int(meta["camera_motion"]["is_static"]),
        "has_depth": 1,
        "has_tracks": 1,
        "has_camera_poses": 1,
        "depth_kind": "synth_gt",
        "pose_kind": "synth_gt",
        "trajectory_kind": meta["trajectory_kind"],
        "scene_id": meta["scene_id"],
        "input_path": layout.input_image(plan.name),
        "input_fov_x": input_fov,
        "input_yaw": 0.0,
        "input_pitch": 0.0,
        "scene_kind": meta["scene_kind"],
        "n_video_frames": meta["n_video_frames"],
        "seed": plan.seed,
    }


def check_settings(*, size, frames, fps, grid_size, depth_dtype, split, clips, trajectories, indoor_fraction,
                   supersample) -> None:
    """Raise :class:`InputError` (one line) for settings :func:`write_split` cannot use."""
    height, width = size
    if width != 2 * height or height < 2 or height % 2:
        raise InputError(f"--size must be HxW with W = 2H and H even, got {height}x{width}")
    if frames < 1 or not (math.isfinite(fps) and fps > 0) or grid_size < 1:
        raise InputError("--frames, --fps and --grid must be positive (and finite)")
    if supersample < 1 or supersample % 2 == 0:
        raise InputError(f"--supersample must be odd (1, 3, 5, ...), got {supersample}")
    if depth_dtype not in ("float16", "float32"):
        raise InputError(f"--depth-dtype must be float16 or float32, got {depth_dtype!r}")
    if not split or "/" in split or "::" in split:
        raise InputError(f"--split-name must be a plain name, got {split!r}")
    plan_split(clips, 0, trajectories=trajectories, indoor_fraction=indoor_fraction)


def _clip_done(root: Path, split: str, plan: ClipPlan) -> dict | None:
    """The meta.json of a finished clip (annotations committed and every other file present), else None."""
    layout = TestSetLayout(root)
    ann = layout.path(layout.annotations(split, plan.name))
    needed = [layout.video(plan.name), layout.input_image(plan.name), layout.input_view(plan.name),
              layout.captions(plan.name)]
    if is_complete(ann) and all(layout.path(p).is_file() for p in needed):
        return read_meta(ann)
    return None


def write_split(
    out_dir: str | os.PathLike,
    *,
    clips: int = 50,
    frames: int = 93,
    size: tuple[int, int] = (512, 1024),
    seed: int = 0,
    fps: float = 16.0,
    trajectories=DEFAULT_TRAJECTORIES,
    indoor_fraction: float = 0.5,
    ann_frames: int = 20,
    grid_size: int = 30,
    split: str = "synth",
    device: str = "cpu",
    supersample: int = 1,
    shadows: bool = True,
    depth_dtype: str = "float16",
    input_fov: float = 90.0,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
) -> Path:
    """Render and write a split of ``clips`` clips; returns the path of ``master.csv``.

    Resumable: finished clips (their meta.json exists) are skipped; the same settings and seed give
    byte-identical files. A split made with the same other settings grows to ``clips`` (its first clips
    are kept); other settings stop the run naming ``--force`` (``force`` re-renders every clip).
    ``progress(n)`` is called with the number of frames rendered.
    """
    check_settings(size=size, frames=frames, fps=fps, grid_size=grid_size, depth_dtype=depth_dtype, split=split,
                   clips=clips, trajectories=trajectories, indoor_fraction=indoor_fraction, supersample=supersample)
    height, width = size
    root = Path(out_dir)
    settings = {
        "frames": frames, "size": [height, width], "seed": seed, "fps": fps, "plan_version": PLAN_VERSION,
        "trajectories": list(trajectories), "indoor_fraction": indoor_fraction, "ann_frames": ann_frames,
        "grid_size": grid_size, "split": split, "supersample": supersample, "shadows": shadows,
        "depth_dtype": depth_dtype, "input_fov": input_fov,
    }
    settings_path = TestSetLayout(root).settings
    key = settings_key(settings)
    plan_items([Item(str(root), settings_path, key)], force=force)  # other settings: stop, naming --force
    existing = (read_record(settings_path) or {}).get("clips", 0)
    if not force and clips < existing:
        raise InputError(f"{root} holds {existing} clips; --clips can only grow a split (or use --force)")
    root.mkdir(parents=True, exist_ok=True)
    write_record(settings_path, {"clips": clips, **settings}, key)
    from . import make_scene

    rows = []
    for plan in plan_split(clips, seed, trajectories=trajectories, indoor_fraction=indoor_fraction):
        meta = None if force else _clip_done(root, split, plan)
        if meta is not None:
            rows.append(master_row(root, plan, split, meta, input_fov))
            if progress is not None:
                progress(frames)
            continue
        scene = make_scene(plan.seed, plan.kind, plan.trajectory)
        rows.append(write_clip(root, plan, scene, split=split, frames=frames, size=size, fps=fps, ann_frames=ann_frames,
                               grid_size=grid_size, device=device, supersample=supersample, shadows=shadows,
                               depth_dtype=depth_dtype, input_fov=input_fov, progress=progress))
    return write_master(TestSetLayout(root).master, rows)

