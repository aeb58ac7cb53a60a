"""What the viewer shows, read from a generation output folder, an eval results folder or a test split.

Every source becomes a list of :class:`ViewClip`: one clip = one or more ERP videos of the same scene (a
generation and its Round 1, the methods of an eval, the ground truth of a split), each with optional geometry,
plus the perspective input and its camera. The folder layouts are documented in docs/view.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from panoworld.errors import InputError
from panoworld.formats.run_records import GENERATION_OUTPUTS
from panoworld.io import IMAGE_SUFFIXES, probe_video

from . import _readers as readers

__all__ = ["Camera", "Geometry", "ViewVideo", "ViewClip", "read_sources", "source_kind"]


@dataclass(frozen=True)
class Camera:
    """The perspective input's pinhole camera: full horizontal field of view and orientation, degrees."""

    fov_x: float = 90.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0


@dataclass
class Geometry:
    """Geometry of one ERP video, each part optional.

    ``depth`` (K, H, W) metres (range along the ray) at ``depth_times`` (K,) seconds; ``tracks`` (N, M, 2) (x, y)
    pixels of a ``size`` = (H, W) ERP (pixel centres at integers) with ``visibility`` (N, M) bool at
    ``track_times`` (M,) seconds.
    """

    size: tuple[int, int]
    depth: np.ndarray | None = None
    depth_times: np.ndarray | None = None
    tracks: np.ndarray | None = None
    visibility: np.ndarray | None = None
    track_times: np.ndarray | None = None


@dataclass
class ViewVideo:
    """One ERP video of a clip: a label (method, "generated", "ground truth"), its file and lazy geometry."""

    label: str
    path: Path
    geometry: Callable[[], Geometry | None] = field(default=lambda: None, repr=False)


@dataclass
class ViewClip:
    """One scene: its videos (shown side by side, synchronised), input photo + camera, caption, metric rows."""

    title: str
    videos: list[ViewVideo]
    input_image: Path | None = None
    camera: Camera | None = None
    caption: str = ""
    info: dict = field(default_factory=dict)
    metrics: list[dict] = field(default_factory=list)


def _fps_frames(video: Path) -> tuple[float, int]:
    info = probe_video(video)
    return float(info.fps), info.num_frames


def _from_annotations(folder: Path, video: Path, depth_kind: str = "", pose_kind: str = "") -> Geometry | None:
    """Geometry from an annotation folder (reference §8.4 layout: depth/, tracks_2d.npy, visibility.npy, meta.json)."""
    if not readers.has_annotations(folder):
        return None
    fps, frames = _fps_frames(video)
    ann = readers.load_annotations(folder, video_fps=fps, video_frames=frames, depth_kind=depth_kind,
                                   pose_kind=pose_kind)
    geo = Geometry(size=tuple(ann.size))
    if ann.depth is not None:
        geo.depth, geo.depth_times = ann.depth.numpy(), ann.times[: len(ann.depth)]
    if ann.tracks_2d is not None:
        vis = ann.visibility if ann.visibility is not None else np.ones(ann.tracks_2d.shape[:2], bool)
        geo.tracks, geo.visibility = ann.tracks_2d, vis
        geo.track_times = ann.times[: ann.tracks_2d.shape[1]]
    return geo if geo.depth is not None or geo.tracks is not None else None


def _times(npz, n: int, fps: float) -> np.ndarray:
    if "times" in npz:
        return np.asarray(npz["times"], np.float64)[:n]
    if "frame_indices" in npz:
        return np.asarray(npz["frame_indices"], np.float64)[:n] / fps
    return np.arange(n, dtype=np.float64) / fps


def _from_npz(folder: Path, video: Path, depth: str = "depth") -> Geometry | None:
    """Geometry from ``depth.npz`` (``depth`` (T, H, W) metres; else DAP's ``depth_dap.npz``, the same layout) and
    ``tracks.npz`` (``tracks_2d`` (N, T, 2) px, ``visibility`` (N, T)), each with optional ``frame_indices`` (video
    frames) or ``times`` (seconds). ``depth="depth_dap"``: DAP's depth even where the depth head's is there."""
    depth_file, tracks_file = folder / GENERATION_OUTPUTS[depth], folder / GENERATION_OUTPUTS["tracks"]
    if not depth_file.is_file():
        depth_file = folder / GENERATION_OUTPUTS["depth_dap"]
    if not depth_file.is_file() and not tracks_file.is_file():
        return None
    info = probe_video(video)
    fps = float(info.fps)
    geo = Geometry(size=(info.height, info.width))
    if depth_file.is_file():
        with np.load(depth_file, allow_pickle=False) as npz:
            if "depth" not in npz or npz["depth"].ndim != 3:
                raise InputError(f"{depth_file} must hold 'depth' (T, H, W) in metres")
            geo.depth = npz["depth"].astype(np.float32)
            geo.depth_times = _times(npz, len(geo.depth), fps)
    if tracks_file.is_file():
        with np.load(tracks_file, allow_pickle=False) as npz:
            tracks = npz.get("tracks_2d")
            if tracks is None or tracks.ndim != 3 or tracks.shape[2] != 2:
                raise InputError(f"{tracks_file} must hold 'tracks_2d' (N, T, 2) pixels")
            geo.tracks = tracks.astype(np.float64)
            vis = npz["visibility"] if "visibility" in npz else np.ones(tracks.shape[:2])
            geo.visibility = np.asarray(vis, np.float32) > 0.5
            geo.track_times = _times(npz, tracks.shape[1], fps)
            if "size" in npz:
                geo.size = tuple(int(v) for v in npz["size"])
    return geo


def _geometry_of(folder: Path, video: Path, **kinds) -> Callable[[], Geometry | None]:
    return lambda: _from_npz(folder, video) or _from_annotations(folder, video, **kinds)


def _dap_view(folder: Path, video: Path) -> list[ViewVideo]:
    """The generated video once more with DAP's depth (``generate --annotate depth``) when the depth head's
    ``depth.npz`` is shown first; nothing otherwise (DAP's depth is then the generated video's own)."""
    if not ((folder / GENERATION_OUTPUTS["depth"]).is_file() and (folder / GENERATION_OUTPUTS["depth_dap"]).is_file()):
        return []
    return [ViewVideo("generated, DAP depth", video, lambda: _from_npz(folder, video, depth="depth_dap"))]


def _input_image(folder: Path, record: dict) -> Path | None:
    for path in sorted(folder.glob("input.*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return path
    given = (record.get("arguments") or {}).get("image")
    if given:
        for candidate in (Path(given), folder / given, folder.parent / given):
            if candidate.is_file():
                return candidate
    return None


def read_generation(folder: Path) -> list[ViewClip]:
    """A ``panoworld generate`` output folder: pano.mp4 (+ round1.mp4), run.json, optional geometry."""
    record = readers.read_json(folder / readers.RUN_RECORD)
    config, args = record.get("config") or {}, record.get("arguments") or {}
    video = folder / readers.GENERATION_VIDEO
    videos = [ViewVideo("generated", video, _geometry_of(folder, video)), *_dap_view(folder, video)]
    round1 = folder / readers.GENERATION_ROUND1
    if round1.is_file():
        videos.append(ViewVideo("round 1", round1))
    camera = Camera(*(float(config.get(k, d)) for k, d in (("fov_x", 90), ("yaw", 0), ("pitch", 0), ("roll", 0))))
    caption = " / ".join(t for t in (args.get("prompt"), args.get("pano_prompt")) if t)
    info = {k: config[k] for k in ("num_steps", "guidance", "seed", "chained", "motion") if k in config}
    return [ViewClip(folder.name, videos, _input_image(folder, record), camera if record else None, caption, info)]


def _split_clip(clip, base: Path, label: str = "ground truth") -> tuple[ViewVideo, Path | None, Camera | None]:
    """A master.csv clip as a video with its annotations, input image (relative to ``base``) and camera."""
    extra = clip.extra
    ann = clip.annotation_dir if clip.annotation_dir and clip.annotation_dir.is_dir() else None
    video = ViewVideo(label, clip.video_path, lambda: ann and _from_annotations(
        ann, clip.video_path, depth_kind=clip.depth_kind, pose_kind=clip.pose_kind))
    image = base / extra["input_path"] if extra.get("input_path") else None
    if image is not None and not image.is_file():
        image = None
    camera = None
    if extra.get("input_fov_x"):
        side = readers.read_json(image.with_suffix(".json")) if image is not None else {}
        camera = Camera(float(extra["input_fov_x"]), float(extra.get("input_yaw") or 0),
                        float(extra.get("input_pitch") or 0), float(side.get("roll", 0.0)))
    return video, image, camera


def _master_path(path: Path) -> Path:
    return path / readers.MASTER if path.is_dir() else path


def read_split(path: Path) -> list[ViewClip]:
    """A test split: ``master.csv`` (or its folder) with videos, inputs, captions and annotations."""
    out, master = [], _master_path(path)
    for clip in readers.read_master(master):
        video, image, camera = _split_clip(clip, master.resolve().parent)
        info = {"trajectory": clip.motion_kind, "scene": clip.scene_type, "depth": clip.depth_kind or "none"}
        out.append(ViewClip(clip.clip_id, [video], image, camera, clip.caption, info))
    return out


def _result_methods(results: Path) -> list[str]:
    return sorted(p.name for p in results.iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")) and any(p.glob(f"*/{readers.RESULT_VIDEO}")))


def read_results(results: Path, master: Path | None = None) -> list[ViewClip]:
    """An eval results folder: ``<method>/<split>__<clip>/video.mp4`` (+ annotations) and ``results_long.csv``;
    with ``master`` the clips' ground truth, input and caption are added."""
    methods = _result_methods(results)
    names = sorted({p.parent.name for m in methods for p in (results / m).glob(f"*/{readers.RESULT_VIDEO}")})
    master = _master_path(master).resolve() if master else None
    gt = {c.dirname: c for c in readers.read_master(master)} if master else {}
    long_csv = results / readers.RESULTS_LONG
    rows = readers.read_long_csv(long_csv) if long_csv.is_file() else []
    out = []
    for name in names:
        clip_id = name.replace("__", "::", 1)
        videos, image, camera, caption = [], None, None, ""
        if name in gt:
            video, image, camera = _split_clip(gt[name], master.parent)
            videos.append(video)
            caption = gt[name].caption
        for method in methods:
            folder = results / method / name
            if (folder / readers.RESULT_VIDEO).is_file():
                videos.append(ViewVideo(method, folder / readers.RESULT_VIDEO,
                                        _geometry_of(folder, folder / readers.RESULT_VIDEO)))
        metrics = [r for r in rows if r.get("clip_id") == clip_id and not r.get("bucket")]
        out.append(ViewClip(clip_id, videos, image, camera, caption, {}, metrics))
    return out


def source_kind(path: Path) -> str:
    """``generation``, ``split``, ``results`` or ``video`` for a path; InputError for anything else."""
    if path.is_file() and path.suffix.lower() == ".csv":
        return "split"
    if path.is_file() and path.suffix.lower() == ".mp4":
        return "video"
    if path.is_dir():
        if (path / readers.GENERATION_VIDEO).is_file():
            return "generation"
        if (path / readers.MASTER).is_file():
            return "split"
        if (path / readers.RESULTS_LONG).is_file() or _result_methods(path):
            return "results"
    raise InputError(f"{path} is not a generation folder (pano.mp4), an eval results folder "
                     f"(<method>/<clip>/video.mp4), a split (master.csv) or an .mp4 file")


def read_sources(paths: list[str | os.PathLike], *, master: str | os.PathLike | None = None) -> list[ViewClip]:
    """All clips of the given paths, in order. ``master``: the test split of eval results (ground truth)."""
    if not paths:
        raise InputError("give at least one folder to view")
    clips: list[ViewClip] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise InputError(f"not found: {path}")
        kind = source_kind(path)
        if kind == "generation":
            clips += read_generation(path)
        elif kind == "split":
            clips += read_split(path)
        elif kind == "results":
            clips += read_results(path, Path(master) if master else None)
        else:
            clips.append(ViewClip(path.stem, [ViewVideo("video", path)]))
    if not any(c.videos for c in clips):
        raise InputError("no videos found in " + ", ".join(str(p) for p in paths))
    return [c for c in clips if c.videos]
