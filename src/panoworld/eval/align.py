"""The common clock and the common size: every video and annotation is compared on the same time grid.

Videos are resampled to ``n_frames`` frames at ``fps`` (default 80 @ 16 fps = 5 s) by nearest source frame
in time (``round(t * fps_src)``, clamped to the last frame, so a short source repeats its last frame) and
resized to the GT size. Annotation frames (depth, tracks, poses) are paired by their timestamps, not by index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from panoworld.io import probe_video, read_video

__all__ = ["AlignConfig", "grid_times", "grid_indices", "match_times", "resize_video", "load_aligned_video"]


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


def grid_indices(n_src: int, fps_src: float, cfg: AlignConfig = AlignConfig()) -> list[int]:
    """Source frame index of every evaluation frame: ``min(round(i / fps * fps_src), n_src - 1)``."""
    if n_src < 1 or fps_src <= 0:
        raise ValueError(f"a source needs >= 1 frame and fps > 0, got {n_src} frames @ {fps_src}")
    idx = np.floor(grid_times(cfg) * float(fps_src) + 0.5 + 1e-9).astype(int)
    return np.minimum(idx, n_src - 1).tolist()


def match_times(src_times, target_times) -> np.ndarray:
    """For every target time (s), the index of the nearest source time (ties go to the earlier one)."""
    src = np.asarray(src_times, np.float64)
    tgt = np.asarray(target_times, np.float64)
    if src.size == 0:
        raise ValueError("no source times to match")
    return np.abs(tgt[:, None] - src[None, :]).argmin(axis=1)


def resize_video(video: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize (T, C, H, W) to ``size`` (height, width); ERP longitude wraps (circular padding)."""
    if tuple(video.shape[-2:]) == tuple(size):
        return video
    h, w = video.shape[-2:]
    pad = max(1, w // 64)
    padded = F.pad(video, (pad, pad, 0, 0), mode="circular")
    scale = size[1] / w
    out_w = size[1] + 2 * round(pad * scale)
    out = F.interpolate(padded, size=(size[0], out_w), mode="bilinear", align_corners=False, antialias=True)
    left = round(pad * scale)
    return out[..., left : left + size[1]].clamp(0, 1)


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
    info = probe_video(path)
    src_fps = float(fps or info.fps)
    n_src = max(1, info.num_frames)
    wanted = grid_indices(n_src, src_fps, cfg)
    unique = sorted(set(wanted))
    frames = read_video(path, frame_indices=unique)
    pos = {f: min(i, frames.shape[0] - 1) for i, f in enumerate(unique)}
    video = frames[[pos[i] for i in wanted]]
    return resize_video(video, size) if size is not None else video
