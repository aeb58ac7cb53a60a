"""Dataset building: clip cutting with ERP filters, 4-view captions through VLM backends, training packages."""

from .batch import cut_videos, find_videos, read_manifest, write_manifest
from .cut import CutOptions, clip_name, cut_video
from .filters import REASONS, ClipStats, FilterConfig
from .resize import resize_erp
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
    "clip_name",
    "cut_video",
    "cut_videos",
    "find_videos",
    "read_manifest",
    "resize_erp",
    "source_index",
    "write_manifest",
]
