"""Every read of training data, through the on-disk contracts of :mod:`panoworld.formats`.

- :func:`list_clips` -> :class:`ClipRecord` per clip of a source: a test set (a ``panoworld synth`` split folder
  or its ``master.csv``, :mod:`panoworld.formats.testset`) or a training package from ``panoworld data package``
  (:mod:`panoworld.formats.package`), whose annotations lie inside it or in a separate ``panoworld annotate``
  output folder (one ``<clip>/`` annotation folder per clip).
- :func:`read_clip_video`: the first ``num_frames`` frames at the training frame rate and size, (T, 3, H, W) in
  [0, 1], plus the time in seconds of every returned frame.
- :func:`read_clip_annotations`: depth in metres, a sky / invalid mask, 2-D tracks, visibility and static flags
  with the time of every annotation frame (:func:`panoworld.formats.annotations.read_annotations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from panoworld.errors import InputError
from panoworld.formats.annotations import is_complete, read_annotations
from panoworld.formats.captions import CAPTION_STYLES, read_captions
from panoworld.formats.package import PACKAGE_SPLITS, PackageLayout, is_package, package_clips
from panoworld.formats.testset import MASTER_CSV, TestSetLayout, read_master
from panoworld.sphere import resize_erp

__all__ = ["ClipRecord", "ClipAnnotations", "list_clips", "read_clip_video", "read_clip_annotations"]


@dataclass(frozen=True)
class ClipRecord:
    """One clip: a unique name, its video, captions by style ({style: text}, styles with text only), its
    annotation folder (or None) and the test set's ``depth_kind`` ("" elsewhere; it tells legacy depth units)."""

    name: str
    video: Path
    captions: dict
    annotation_dir: Path | None
    depth_kind: str = ""


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


def _captions(path: Path | None) -> dict:
    """{style: text} of the clip's caption file (any layout :mod:`panoworld.formats.captions` reads); {} if none."""
    if path is None or not path.is_file():
        return {}
    caps = read_captions(path)
    return {style: getattr(caps, style).strip() for style in CAPTION_STYLES
            if isinstance(getattr(caps, style), str) and getattr(caps, style).strip()}


def _from_test_set(master: Path, split: str, annotations: str) -> list[ClipRecord]:
    clips = read_master(master, splits=[split] if split else None, load_captions=False)
    return [ClipRecord(name=c.dirname, video=c.video_path, captions=_captions(c.caption_path),
                       annotation_dir=Path(annotations) / c.dirname if annotations else c.annotation_dir,
                       depth_kind=c.depth_kind) for c in clips]


def _from_package(root: Path, split: str, annotations: str) -> list[ClipRecord]:
    split = split or "train"
    if split not in (*PACKAGE_SPLITS, "all"):
        raise InputError(f"training package {root}: split must be train, val or all, got {split!r}")
    layout = PackageLayout(root)
    out = []
    for name, video in package_clips(root, split):
        ann = Path(annotations) / name if annotations else layout.path(layout.annotations(name))
        out.append(ClipRecord(name=name, video=video, captions=_captions(layout.path(layout.captions(name))),
                              annotation_dir=ann if is_complete(ann) else None))
    return out


def list_clips(path: str | Path, *, split: str = "", annotations: str = "") -> list[ClipRecord]:
    """The clips of one source (see the module docstring); raises :class:`InputError` for an unknown layout.

    Args:
        path: a test-set folder (``panoworld synth`` split), its ``master.csv``, or a training package.
        split: test set: keep the clips of this split ("" = all); package: train (default), val or all.
        annotations: a folder of per-clip annotation folders that replaces the source's own ("" = the source's).
    """
    root = Path(path).expanduser()
    master = root if root.is_file() and root.name == MASTER_CSV else TestSetLayout(root).master
    if master.is_file():
        clips = _from_test_set(master, split, annotations)
    elif is_package(root):
        clips = _from_package(root, split, annotations)
    else:
        raise InputError(f"{root} is neither a test set (a panoworld synth split or its {MASTER_CSV}) nor a "
                         "training package (panoworld data package)")
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


def read_clip_annotations(clip: ClipRecord) -> ClipAnnotations | None:
    """The clip's geometry annotations, or None when it has none (see :class:`ClipAnnotations`).

    Times of annotation frames come from the folder's ``meta.json`` or, where it only lists frame indices, the
    video's frame rate; a pixel is invalid where the folder's sky mask says so or its range is not finite and > 0.
    """
    from panoworld.io import probe_video

    folder = clip.annotation_dir
    if folder is None or not is_complete(folder):
        return None
    info = probe_video(clip.video)
    ann = read_annotations(folder, video_fps=float(info.fps or 0) or 16.0, video_frames=info.num_frames,
                           video_size=(info.height, info.width), depth_kind=clip.depth_kind)
    if not len(ann.times):
        return None
    out = ClipAnnotations(times=ann.times, size=tuple(int(v) for v in ann.size))
    if ann.depth is not None:
        out.depth = ann.depth.float()
        out.invalid = ~torch.isfinite(out.depth) | (out.depth <= 0)
        if ann.sky is not None:
            out.invalid |= torch.from_numpy(np.asarray(ann.sky, bool))
        out.size = tuple(out.depth.shape[-2:])
    if ann.tracks_2d is not None and ann.visibility is not None:
        out.tracks, out.visible = ann.tracks_2d, np.asarray(ann.visibility, bool)
        n = out.tracks.shape[0]
        out.static = np.asarray(ann.static, bool) if ann.static is not None else np.zeros(n, bool)
    return out
