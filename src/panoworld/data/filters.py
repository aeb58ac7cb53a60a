"""ERP sanity filters: reject clips that are not equirectangular, have a broken seam, are black or frozen.

Every rule has a stable reason code used in the cut manifest:

- ``not_2to1``: the video's width is not twice its height (relative tolerance ``aspect_tolerance``);
  decided from the header, the whole video is dropped without decoding.
- ``mostly_black``: on average more than ``black_fraction`` of the pixels have luma below ``black_level``.
- ``seam_discontinuous``: the mean absolute difference between the first and last column (the same
  meridian in a true ERP) exceeds both ``seam_min`` and ``seam_ratio`` times the mean difference
  between neighbouring interior columns.
- ``frozen``: no two consecutive frames differ by more than ``frozen_level`` in mean absolute luma.

Pixel values are in [0, 1]. Statistics are accumulated per clip while it streams (:class:`ClipStats`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

__all__ = ["FilterConfig", "ClipStats", "aspect_reason", "REASONS"]

REASONS = {
    "not_2to1": "width is not twice the height (not an equirectangular video)",
    "mostly_black": "most pixels are black",
    "seam_discontinuous": "left and right edges do not meet (not a full 360-degree ERP)",
    "frozen": "the frames do not change",
    "shot_boundary": "a shot cut falls inside the clip",
    "short_tail": "the remaining frames are fewer than one clip",
    "unreadable": "the video cannot be decoded",
}


@dataclass(frozen=True)
class FilterConfig:
    """Thresholds of the ERP filters (see the module docstring); ``enabled=False`` keeps everything."""

    enabled: bool = True
    aspect_tolerance: float = 0.01
    black_level: float = 0.0625
    black_fraction: float = 0.9
    seam_min: float = 0.04
    seam_ratio: float = 3.0
    frozen_level: float = 0.002

    def to_dict(self) -> dict:
        return asdict(self)


def aspect_reason(height: int, width: int, config: FilterConfig) -> str | None:
    """``"not_2to1"`` when ``width / height`` is not 2 within tolerance, else None."""
    if not config.enabled:
        return None
    if height <= 0 or abs(width / height - 2.0) > 2.0 * config.aspect_tolerance:
        return "not_2to1"
    return None


def _luma(frames: torch.Tensor) -> torch.Tensor:
    return 0.299 * frames[:, 0] + 0.587 * frames[:, 1] + 0.114 * frames[:, 2]


def _unit_float(frames: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 or float [0, 1] frames -> float32 in [0, 1]."""
    return frames.float().div_(255.0) if frames.dtype == torch.uint8 else frames.float()


class ClipStats:
    """Running statistics of one clip's frames ((t, 3, H, W) float [0, 1] or uint8 chunks, in order)."""

    def __init__(self, black_level: float = FilterConfig.black_level) -> None:
        self.black_level = float(black_level)
        self.frames = 0
        self._black = 0.0
        self._seam = 0.0
        self._interior = 0.0
        self._max_motion = 0.0
        self._last: torch.Tensor | None = None

    def update(self, frames: torch.Tensor) -> None:
        """Accumulate a chunk of consecutive frames of the clip.

        Black fraction and motion use every 4th row and column, the interior column difference every
        4th row (all columns), the seam difference the full edge columns: cheap next to encoding.
        """
        rows = _unit_float(frames[..., ::4, :])
        small = _luma(rows[..., ::4])
        self.frames += frames.shape[0]
        self._black += float((small < self.black_level).float().mean(dim=(1, 2)).sum())
        edges = _unit_float(frames[..., :: frames.shape[-1] - 1])
        self._seam += float((edges[..., 0] - edges[..., -1]).abs().mean(dim=(1, 2)).sum())
        self._interior += float((rows[..., 1:] - rows[..., :-1]).abs().mean(dim=(1, 2, 3)).sum())
        if self._last is not None:
            small = torch.cat([self._last[None], small])
        if small.shape[0] > 1:
            motion = (small[1:] - small[:-1]).abs().mean(dim=(1, 2)).max()
            self._max_motion = max(self._max_motion, float(motion))
        self._last = small[-1]

    def summary(self) -> dict:
        """Mean black fraction, seam / interior column differences and the largest frame-to-frame change."""
        n = max(self.frames, 1)
        return {
            "black_fraction": round(self._black / n, 4),
            "seam_diff": round(self._seam / n, 4),
            "column_diff": round(self._interior / n, 4),
            "max_motion": round(self._max_motion, 5),
        }

    def reason(self, config: FilterConfig) -> str | None:
        """The first failing rule (black, seam, frozen) or None when the clip passes."""
        if not config.enabled or self.frames == 0:
            return None
        s = self.summary()
        if s["black_fraction"] > config.black_fraction:
            return "mostly_black"
        if s["seam_diff"] > max(config.seam_min, config.seam_ratio * s["column_diff"]):
            return "seam_discontinuous"
        if self.frames > 1 and self._max_motion <= config.frozen_level:
            return "frozen"
        return None
