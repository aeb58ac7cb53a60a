"""Reading geometry annotations (reference §8.4 layout) of a GT clip or of a generated video.

Files in the folder (all optional): ``depth/NNNN.npy`` (H, W) per annotation frame, ``tracks_2d.npy``
(N, T, 2) pixels, ``visibility.npy`` (N, T), ``tracks_3d.npy`` (N, T, 3) metres, ``track_is_static.npy``
(N,), ``camera_poses.npy`` ((T, 4, 4) camera-to-world, or the reference's (T, 12) ``[R | t]`` point
transform frame 0 -> frame t) and ``meta.json``.

Timestamps of the annotation frames: ``meta["frame_times"]`` or ``meta["frame_times_s"]`` (seconds) if present, else
``meta["frame_indices"]`` / video fps, else the reference rule (every ``max(1, n_video // T)``-th video frame).
Depth units: ``meta["depth_unit"]`` (``"m"`` or ``"dap"``) or ``meta["depth_scale"]`` (multiplier to metres)
if present; else the master's ``depth_kind == "dap_estimated"`` means DAP codes; else a float16 map with all
values <= 1.5 is taken as a DAP code (the reference's own rule). A DAP code of 1.0 is 100 m.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from panoworld.errors import InputError

__all__ = ["DAP_METRES", "Annotations", "load_annotations", "poses_to_c2w", "has_annotations"]

#: Metres represented by a DAP depth code of 1.0.
DAP_METRES = 100.0
FILES = ("depth", "tracks_2d.npy", "camera_poses.npy", "meta.json")


@dataclass
class Annotations:
    """Geometry of one video: times (T,) s, annotated size (H, W), and whatever of the rest exists."""

    times: np.ndarray
    size: tuple[int, int]
    depth: torch.Tensor | None = None
    tracks_2d: np.ndarray | None = None
    visibility: np.ndarray | None = None
    tracks_3d: np.ndarray | None = None
    static: np.ndarray | None = None
    poses: np.ndarray | None = None


def has_annotations(folder: str | os.PathLike | None) -> bool:
    """True if the folder holds any annotation file."""
    return folder is not None and any((Path(folder) / f).exists() for f in FILES)


#: OpenGL / Habitat camera axes (x right, y up, z backward) -> OpenCV axes (x right, y down, z forward).
GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])


def poses_to_c2w(poses: np.ndarray, *, opengl: bool = False) -> np.ndarray:
    """(T, 4, 4) camera-to-world as is (``opengl=True``: camera axes y up / -z forward, as Habitat writes them,
    converted to OpenCV axes); (T, 12) reference point transforms ``P_t = R P_0 + t`` -> their inverse, i.e.
    camera-to-world with the frame-0 camera as the world."""
    poses = np.asarray(poses, np.float64)
    if poses.ndim == 3 and poses.shape[1:] == (4, 4):
        return poses @ GL_TO_CV if opengl else poses
    if poses.ndim == 2 and poses.shape[1] == 12:
        out = np.tile(np.eye(4), (len(poses), 1, 1))
        rot, t = poses[:, :9].reshape(-1, 3, 3), poses[:, 9:]
        out[:, :3, :3] = rot.transpose(0, 2, 1)
        out[:, :3, 3] = -np.einsum("tji,tj->ti", rot, t)
        return out
    raise InputError(f"camera_poses must be (T, 4, 4) or (T, 12), got {poses.shape}")


def _times(meta: dict, n_ann: int, video_fps: float, video_frames: int) -> np.ndarray:
    for key in ("frame_times", "frame_times_s"):
        if key in meta:
            return np.asarray(meta[key], np.float64)[:n_ann]
    fps = float(meta.get("fps") or video_fps)
    if "frame_indices" in meta:
        return np.asarray(meta["frame_indices"], np.float64)[:n_ann] / fps
    step = max(1, int(video_frames) // max(1, n_ann)) if video_frames else 1
    return np.arange(n_ann, dtype=np.float64) * step / fps


def _depth_scale(meta: dict, depth_kind: str, sample: np.ndarray) -> float:
    unit = str(meta.get("depth_unit", "")).lower()
    if "depth_scale" in meta:
        return float(meta["depth_scale"])
    if unit in ("m", "metre", "meter", "metres", "meters"):
        return 1.0
    if unit == "dap" or depth_kind == "dap_estimated":
        return DAP_METRES
    if sample.dtype == np.float16 and np.nanmax(sample) <= 1.5:
        return DAP_METRES
    return 1.0


def load_annotations(
    folder: str | os.PathLike,
    *,
    video_fps: float,
    video_frames: int = 0,
    video_size: tuple[int, int] = (0, 0),
    depth_kind: str = "",
    pose_kind: str = "",
) -> Annotations:
    """Load an annotation folder. ``video_*`` describe the annotated video (for timestamps and size).

    (T, 4, 4) poses are taken as OpenGL-axis camera-to-world when ``pose_kind == "habitat_gt"`` (the reference's
    Habitat renderer: y up, -z forward) or ``meta["pose_axes"] == "opengl"``; otherwise OpenCV axes (DESIGN.md).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"annotation folder not found: {root}")
    meta = json.loads((root / "meta.json").read_text()) if (root / "meta.json").is_file() else {}
    res = meta.get("video_resolution")
    size = (int(res[1]), int(res[0])) if res else tuple(video_size)

    def opt(name: str):
        p = root / name
        return np.load(p, allow_pickle=False) if p.is_file() else None

    depth = None
    depth_files = sorted((root / "depth").glob("*.npy")) if (root / "depth").is_dir() else []
    if depth_files:
        maps = [np.load(f, allow_pickle=False) for f in depth_files]
        scale = _depth_scale(meta, depth_kind, maps[0])
        depth = torch.from_numpy(np.stack(maps).astype(np.float32)) * scale
        if not size[0]:
            size = tuple(depth.shape[-2:])
    tracks = opt("tracks_2d.npy")
    vis = opt("visibility.npy")
    poses = opt("camera_poses.npy")
    lengths = [len(depth) if depth is not None else 0, tracks.shape[1] if tracks is not None else 0]
    lengths.append(len(poses) if poses is not None else 0)
    n_ann = int(meta.get("n_frames") or max(lengths) or 0)
    return Annotations(
        times=_times(meta, n_ann, video_fps, video_frames),
        size=size,
        depth=depth,
        tracks_2d=None if tracks is None else tracks.astype(np.float64),
        visibility=None if vis is None else (vis.astype(np.float32) > 0.5),
        tracks_3d=None if opt("tracks_3d.npy") is None else opt("tracks_3d.npy").astype(np.float64),
        static=opt("track_is_static.npy"),
        poses=None if poses is None else poses_to_c2w(
            poses, opengl=pose_kind == "habitat_gt" or str(meta.get("pose_axes", "")).lower() == "opengl"),
    )
