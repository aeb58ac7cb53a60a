"""Evaluation harness: alignment on a common clock, metrics, method runners, scoring and reports.

Test sets, annotation folders and results folders are read and written through :mod:`panoworld.formats`.
See docs/eval.md.
"""

from .align import AlignConfig, grid_indices, load_aligned_video, match_times

__all__ = ["AlignConfig", "grid_indices", "load_aligned_video", "match_times"]
