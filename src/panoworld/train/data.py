"""Every on-disk read of training data, behind one narrow interface (to be re-pointed at ``panoworld.formats``).

- :func:`list_clips` -> :class:`ClipRecord` per clip of a source: a ``panoworld synth`` split or any folder with
  a ``master.csv`` (columns ``clip_id``, ``video_path``, ``caption_path``, ``annotation_dir``, ``split``), or a
  training package from ``panoworld data package`` (``manifest.json`` / ``<split>.csv`` + ``videos/``,
  ``captions/``, ``annotations/``) with annotations inside it or in a separate ``panoworld annotate`` folder.
- :func:`read_clip_video`: the first ``num_frames`` frames at the training frame rate and size, (T, 3, H, W) in
  [0, 1], plus the time in seconds of every returned frame.
- :func:`read_clip_annotations`: depth in metres, a sky / invalid mask, 2-D tracks, visibility and static flags
  with the time of every annotation frame (``panoworld annotate`` and ``panoworld synth`` layouts).
- :func:`resize_erp`: the seam-aware ERP resize the samples use (re-exported so that this module is the one place
  to re-point).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from panoworld.data.resize import resize_erp
from panoworld.errors import InputError

__all__ = ["ClipRecord", "ClipAnnotations", "list_clips", "read_clip_video", "read_clip_annotations", "resize_erp"]

CAPTION_STYLES = ("short", "medium", "long")


@dataclass(frozen=True)
class ClipRecord:
    """One clip: a unique name, its video, captions by style, and its annotation folder (or None)."""

    name: str
    video: Path
    captions: dict
    annotation_dir: Path | None


@dataclass
class ClipAnnotations:
    """Geometry of one clip at its annotation frames (K of them), in the annotation's (H, W) pixel grid.

    Attributes:
        times: (K,) float64 seconds from the clip start.
        size: (H, W) of the annotated frames.
        depth: (K, H, W) float32 range along the ray in metres, or None.
        invalid: (K, H, W) bool sky / invalid pixels (no usable range), or None.
        tracks: (N, K, 2) float64 (x, y) pixels (centres at integers, x in [0, W)), or None.
        visible: (N, K) bool, or None.
        static: (N,) bool (True = on a non-moving surface), or None.
    """

    times: np.ndarray
    size: tuple[int, int]
    depth: torch.Tensor | None = None
    invalid: torch.Tensor | None = None
    tracks: np.ndarray | None = None
    visible: np.ndarray | None = None
    static: np.ndarray | None = None


def _read_captions(path: Path | None) -> dict:
    """{style: text} from a caption JSON (flat ``{short, medium, long}``, or one level deeper per model)."""
    if path is None or not path.is_file():
        return {}
    data = json.loads(path.read_text())
    if isinstance(data, dict) and not any(k in data for k in CAPTION_STYLES):
        data = next((v for v in data.values() if isinstance(v, dict)), {})
    return {k: str(data[k]) for k in CAPTION_STYLES if isinstance(data.get(k), str) and data[k].strip()}


def _from_master_csv(root: Path, split: str) -> list[ClipRecord]:
    with open(root / "master.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        if split and row.get("split") != split:
            continue
        ann = row.get("annotation_dir") or ""
        cap = row.get("caption_path") or ""
        out.append(ClipRecord(
            name=row["clip_id"].replace("::", "__"),
            video=root / row["video_path"],
            captions=_read_captions(root / cap if cap else None),
            annotation_dir=(root / ann) if ann else None,
        ))
    return out


def _from_package(root: Path, split: str, annotations: str) -> list[ClipRecord]:
    splits = ("train", "val") if split == "all" else (split or "train",)
    names = []
    for s in splits:
        path = root / f"{s}.csv"
        if not path.is_file():
            raise InputError(f"training package {root} has no {s}.csv")
        with open(path, newline="") as fh:
            names += [r["video_basename"] for r in csv.DictReader(fh) if r.get("video_basename")]
    ann_root = Path(annotations) if annotations else root / "annotations"
    out = []
    for name in names:
        ann = ann_root / name
        out.append(ClipRecord(name=name, video=root / "videos" / f"{name}.mp4",
                              captions=_read_captions(root / "captions" / f"{name}.json"),
                              annotation_dir=ann if (ann / "meta.json").is_file() else None))
    return out


def list_clips(path: str | Path, *, split: str = "", annotations: str = "") -> list[ClipRecord]:
    """The clips of one source (see the module docstring); raises :class:`InputError` for an unknown layout."""
    root = Path(path).expanduser()
    if (root / "master.csv").is_file():
        clips = _from_master_csv(root, split)
        if annotations:
            clips = [ClipRecord(c.name, c.video, c.captions, Path(annotations) / c.name) for c in clips]
    elif (root / "videos").is_dir() and ((root / "manifest.json").is_file() or (root / "train.csv").is_file()):
        clips = _from_package(root, split, annotations)
    else:
        raise InputError(f"{root} is neither a synth split / master.csv folder nor a training package "
                         "(panoworld data package)")
    if not clips:
        raise InputError(f"{root}: no clips{f' in split {split!r}' if split else ''}")
    return clips


def read_clip_video(clip: ClipRecord, *, num_frames: int, fps: float,
                    size: tuple[int, int]) -> tuple[torch.Tensor, np.ndarray]:
    """The first ``num_frames`` frames resampled to ``fps`` (nearest source frame) and resized to ``size``.

    Returns ((T, 3, H, W) float32 in [0, 1], (T,) float64 source times in seconds). Raises :class:`InputError`
    for a clip that is too short or not 2:1.
    """
    from panoworld.io import probe_video, read_video

    info = probe_video(clip.video)
    if info.width != 2 * info.height:
        raise InputError(f"clip {clip.name}: {info.width}x{info.height} is not an ERP video (width = 2 x height)")
    src_fps = float(info.fps) if info.fps else fps
    index = np.rint(np.arange(num_frames) * src_fps / fps).astype(np.int64)
    if info.num_frames and index[-1] >= info.num_frames:
        raise InputError(f"clip {clip.name}: {info.num_frames} frames at {src_fps:g} fps is shorter than the "
                         f"{num_frames} frames at {fps:g} fps training needs (data.num_frames / data.fps)")
    unique, inverse = np.unique(index, return_inverse=True)
    frames = read_video(clip.video, frame_indices=unique.tolist())
    if frames.shape[0] != len(unique):
        raise InputError(f"clip {clip.name}: decoded {frames.shape[0]} of the {len(unique)} frames training needs")
    frames = resize_erp(frames[torch.from_numpy(inverse)], size)
    return frames, index / src_fps


def _annotation_times(folder: Path, meta: dict, count: int) -> np.ndarray:
    if "frame_times_s" in meta:
        return np.asarray(meta["frame_times_s"], np.float64)[:count]
    fps = float(meta.get("source_fps") or meta.get("fps") or 0)
    indices = meta.get("frame_indices")
    if indices is None and (folder / "frame_indices.npy").is_file():
        indices = np.load(folder / "frame_indices.npy", allow_pickle=False)
    if indices is None or not fps:
        raise InputError(f"annotations {folder}: cannot tell which video frames were annotated "
                         "(no frame_times_s, or frame_indices and fps, in meta.json / frame_indices.npy)")
    return np.asarray(indices, np.float64)[:count] / fps


def _invalid_mask(folder: Path, depth: torch.Tensor) -> torch.Tensor:
    """Sky / invalid pixels: ``sky_mask.npy`` (annotate), instance id 0 (synth), plus non-finite or <= 0 range."""
    bad = ~torch.isfinite(depth) | (depth <= 0)
    if (folder / "sky_mask.npy").is_file():
        bad |= torch.from_numpy(np.load(folder / "sky_mask.npy", allow_pickle=False).astype(bool))
    elif (folder / "instances").is_dir():
        files = sorted((folder / "instances").glob("*.npy"))
        if len(files) == depth.shape[0]:
            ids = np.stack([np.load(f, allow_pickle=False) for f in files])
            bad |= torch.from_numpy(ids == 0)
    return bad


def read_clip_annotations(clip: ClipRecord) -> ClipAnnotations | None:
    """The clip's geometry annotations, or None when it has none (see :class:`ClipAnnotations`)."""
    from panoworld.eval.annotations import load_annotations

    folder = clip.annotation_dir
    if folder is None or not (folder / "meta.json").is_file():
        return None
    meta = json.loads((folder / "meta.json").read_text())
    fps = float(meta.get("source_fps") or meta.get("fps") or 16.0)
    ann = load_annotations(folder, video_fps=fps)
    count = ann.depth.shape[0] if ann.depth is not None else (ann.tracks_2d.shape[1] if ann.tracks_2d is not None
                                                              else 0)
    if not count:
        return None
    out = ClipAnnotations(times=_annotation_times(folder, meta, count), size=tuple(int(v) for v in ann.size))
    if ann.depth is not None:
        out.depth = ann.depth.float()
        out.invalid = _invalid_mask(folder, out.depth)
        out.size = tuple(out.depth.shape[-2:])
    if ann.tracks_2d is not None and ann.visibility is not None:
        out.tracks, out.visible = ann.tracks_2d, ann.visibility.astype(bool)
        n = out.tracks.shape[0]
        out.static = ann.static.astype(bool) if ann.static is not None else np.zeros(n, bool)
    return out
