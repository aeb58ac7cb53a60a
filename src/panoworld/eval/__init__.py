"""Evaluation harness: test-set reading, alignment, metrics, method runners, scoring and reports.

See docs/eval.md. Submodules import lazily so that ``import panoworld.eval`` stays cheap.
"""

from .align import AlignConfig, grid_indices, load_aligned_video, match_times, resize_video
from .testset import Clip, read_master

__all__ = ["AlignConfig", "Clip", "grid_indices", "load_aligned_video", "match_times", "read_master", "resize_video"]
