"""Exact frame arithmetic for cutting: target-fps resampling and fixed-length clip assembly.

Times are in seconds, rates are exact ``Fraction`` frames per second. Output frame ``j`` (0-based,
counted over the whole source video) sits at time ``j / fps_out`` and shows the source frame nearest
in time, ``round(j * fps_in / fps_out)`` (halves round up). Clips are runs of exactly
``clip_frames`` consecutive output frames, so every clip lasts exactly ``clip_frames / fps_out`` s.
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["clip_frame_count", "source_index", "OutputClock"]


def clip_frame_count(clip_seconds: float, fps: Fraction) -> int:
    """Frames in one clip of ``clip_seconds`` at ``fps`` (rounded to the nearest whole frame, >= 1)."""
    n = int(math.floor(Fraction(clip_seconds).limit_denominator(10**6) * fps + Fraction(1, 2)))
    if n < 1:
        raise ValueError(f"a {clip_seconds} s clip at {fps} fps holds no frame")
    return n


def source_index(j: int, fps_in: Fraction, fps_out: Fraction) -> int:
    """Source frame nearest in time to output frame ``j`` (halves round up)."""
    return int(math.floor(Fraction(j) * fps_in / fps_out + Fraction(1, 2)))


class OutputClock:
    """Maps the stream of decoded source frames to output frames at ``fps_out``.

    Feed source frame indices in order with :meth:`take`; it returns how many output frames that
    source frame fills (0 when down-sampling skips it, >1 when up-sampling repeats it).
    """

    def __init__(self, fps_in: Fraction, fps_out: Fraction):
        self.fps_in, self.fps_out = fps_in, fps_out
        self.next_out = 0

    def take(self, src_index: int) -> int:
        """Number of output frames that show source frame ``src_index``."""
        count = 0
        while source_index(self.next_out, self.fps_in, self.fps_out) == src_index:
            self.next_out += 1
            count += 1
        if count == 0 and source_index(self.next_out, self.fps_in, self.fps_out) < src_index:
            raise ValueError("source frames must be fed in order without gaps")
        return count

