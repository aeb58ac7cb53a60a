"""Dataset building: clip cutting with ERP filters, 4-view captions through VLM backends, training packages."""

from panoworld.formats.clips import find_videos

from .batch import cut_videos
from .cut import CutOptions, cut_video
from .filters import REASONS, ClipStats, FilterConfig
from .shots import ShotDetector
from .timing import OutputClock, clip_frame_count, source_index

__all__ = [
    "REASONS",
    "ClipStats",
    "CutOptions",
    "FilterConfig",
    "OutputClock",
    "ShotDetector",
    "clip_frame_count",
    "cut_video",
    "cut_videos",
    "find_videos",
    "source_index",
]
