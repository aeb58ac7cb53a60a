"""A cheap shot-boundary detector: colour-histogram distance between consecutive frames.

Each frame is reduced to a joint RGB histogram with ``bins`` levels per channel (``bins**3`` cells,
normalised to sum 1) computed on a 2x-decimated copy. The distance between consecutive frames is
half the L1 distance of their histograms, in [0, 1] (0 = same colour distribution, 1 = disjoint).
A cut is declared when it exceeds ``threshold`` (default 0.5) and the previous cut is at least
``min_shot_frames`` source frames back. It catches hard cuts, not slow dissolves; camera motion
inside one ERP scene changes the histogram little because the whole sphere stays in view.
"""

from __future__ import annotations

import torch

__all__ = ["ShotDetector", "colour_histogram"]


def colour_histogram(frames: torch.Tensor, bins: int = 8) -> torch.Tensor:
    """(T, 3, H, W) float [0, 1] or uint8 -> (T, bins**3) joint RGB histograms that sum to 1."""
    small = frames[..., ::2, ::2]
    if small.dtype == torch.uint8:
        small = small.float().div_(255.0)
    q = (small.clamp(0, 1) * (bins - 1e-6)).long()
    idx = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]
    idx = idx.flatten(1)
    hist = torch.zeros(frames.shape[0], bins**3, dtype=torch.float32)
    hist.scatter_add_(1, idx, torch.ones_like(idx, dtype=torch.float32))
    return hist / idx.shape[1]


class ShotDetector:
    """Streaming hard-cut detector; :meth:`update` returns the frame offsets in a chunk that start a new shot."""

    def __init__(self, threshold: float = 0.5, *, bins: int = 8, min_shot_frames: int = 8):
        if not 0 < threshold <= 1:
            raise ValueError(f"the shot threshold must be in (0, 1], got {threshold}")
        self.threshold, self.bins, self.min_shot_frames = float(threshold), int(bins), int(min_shot_frames)
        self._prev: torch.Tensor | None = None
        self._since_cut = 0

    def update(self, chunk: torch.Tensor) -> list[int]:
        """Feed (t, 3, H, W) consecutive frames; return offsets (0..t-1) of frames that begin a new shot."""
        hist = colour_histogram(chunk, self.bins)
        cuts: list[int] = []
        for k in range(hist.shape[0]):
            if self._prev is not None:
                self._since_cut += 1
                dist = 0.5 * float((hist[k] - self._prev).abs().sum())
                if dist > self.threshold and self._since_cut >= self.min_shot_frames:
                    cuts.append(k)
                    self._since_cut = 0
            self._prev = hist[k]
        return cuts
