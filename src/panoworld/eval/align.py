"""The common clock and the common size: every video and annotation is compared on the same time grid.

Videos are resampled to ``n_frames`` frames at ``fps`` (default 80 @ 16 fps = 5 s) by nearest source frame
in time (``round(t * fps_src)``, clamped to the last frame, so a short source repeats its last frame) and
resized to the GT size with the seam wrap (``panoworld.sphere.resize_erp``). Annotation frames (depth, tracks,
poses) are paired by their timestamps, not by index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from panoworld.io import probe_video, read_video
from panoworld.sphere import resize_erp

__all__ = ["AlignConfig", "grid_times", "grid_indices", "covered_frames", "nearest_frames", "match_times",
           "read_frames_at", "load_aligned_video", "clock_video"]


@dataclass(frozen=True)
class AlignConfig:
    """Evaluation clock: ``n_frames`` frames at ``fps`` frames per second (default 80 @ 16 fps)."""

    n_frames: int = 80
    fps: float = 16.0

    def __post_init__(self):
        if self.n_frames < 1 or self.fps <= 0:
            raise ValueError(f"the evaluation clock needs n_frames >= 1 and fps > 0, got {self.n_frames} @ {self.fps}")


def grid_times(cfg: AlignConfig) -> np.ndarray:
    """(n,) times in seconds of the evaluation frames: ``i / fps``."""
    return np.arange(cfg.n_frames, dtype=np.float64) / cfg.fps


def nearest_frames(times, n_src: int, fps_src: float) -> list[int]:
    """Source frame nearest to each time (s): ``min(round(t * fps_src), n_src - 1)``, halves rounding up."""
    if n_src < 1 or fps_src <= 0:
        raise ValueError(f"a source needs >= 1 frame and fps > 0, got {n_src} frames @ {fps_src}")
    idx = np.floor(np.asarray(times, np.float64) * float(fps_src) + 0.5 + 1e-9).astype(int)
    return np.minimum(idx, n_src - 1).tolist()


def grid_indices(n_src: int, fps_src: float, cfg: AlignConfig = AlignConfig()) -> list[int]:
    """Source frame index of every evaluation frame: ``min(round(i / fps * fps_src), n_src - 1)``."""
    return nearest_frames(grid_times(cfg), n_src, fps_src)


def covered_frames(n_src: int, fps_src: float, cfg: AlignConfig = AlignConfig()) -> int:
    """How many leading clock frames a source of ``n_src`` frames at ``fps_src`` covers; fewer than
    ``cfg.n_frames`` means the clock pads it with its last frame."""
    raw = np.floor(grid_times(cfg) * float(fps_src) + 0.5 + 1e-9)
    return int((raw <= n_src - 1).sum())


def match_times(src_times, target_times) -> np.ndarray:
    """For every target time (s), the index of the nearest source time (ties go to the earlier one)."""
    src = np.asarray(src_times, np.float64)
    tgt = np.asarray(target_times, np.float64)
    if src.size == 0:
        raise ValueError("no source times to match")
    return np.abs(tgt[:, None] - src[None, :]).argmin(axis=1)


def read_frames_at(path: str | os.PathLike, indices: list[int], size: tuple[int, int] | None = None) -> torch.Tensor:
    """Frames ``indices`` (repeats allowed, each decoded once) of a video as (len, 3, H, W) float [0, 1], resized
    to ``size`` with the seam wrap when given. Indices past the end repeat the last decoded frame."""
    unique = sorted(set(indices))
    frames = read_video(path, frame_indices=unique)
    pos = {f: min(i, frames.shape[0] - 1) for i, f in enumerate(unique)}
    video = frames[[pos[i] for i in indices]]
    return resize_erp(video, size) if size is not None else video


def load_aligned_video(
    path: str | os.PathLike,
    size: tuple[int, int] | None = None,
    cfg: AlignConfig = AlignConfig(),
    *,
    fps: float | None = None,
) -> torch.Tensor:
    """Read a video on the evaluation clock: (cfg.n_frames, 3, H, W) float [0, 1], resized to ``size``.

    ``fps`` overrides the container's frame rate (for files whose header is wrong).
    """
    return clock_video(path, size, cfg, fps=fps)[0]


def clock_video(path: str | os.PathLike, size: tuple[int, int] | None = None, cfg: AlignConfig = AlignConfig(), *,
                fps: float | None = None) -> tuple[torch.Tensor, list[int], int]:
    """:func:`load_aligned_video` plus the source frame index of every clock frame and how many leading clock
    frames the source covers (:func:`covered_frames`)."""
    info = probe_video(path)
    n_src, rate = max(1, info.num_frames), float(fps or info.fps)
    indices = grid_indices(n_src, rate, cfg)
    return read_frames_at(path, indices, size), indices, covered_frames(n_src, rate, cfg)
