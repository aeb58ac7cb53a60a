"""Evaluation harness: test-set reading, alignment, metrics, method runners, scoring and reports.

See docs/eval.md. Submodules are imported on first use (PEP 562), so ``import panoworld.eval`` (e.g. to list the
method ids) does not import torch.
"""

from panoworld._lazy import lazy_exports

_EXPORTS = {"AlignConfig": ".align", "grid_indices": ".align", "load_aligned_video": ".align",
            "match_times": ".align", "resize_video": ".align", "Clip": ".testset", "read_master": ".testset"}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
