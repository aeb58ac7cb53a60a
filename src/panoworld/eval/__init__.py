"""Evaluation harness: alignment on a common clock, metrics, method runners, scoring and reports.

Test sets, annotation folders and results folders are read and written through :mod:`panoworld.formats`.
See docs/eval.md. Submodules are imported on first use (PEP 562), so ``import panoworld.eval`` (e.g. to list the
method ids) does not import torch.
"""

from panoworld._lazy import lazy_exports

_EXPORTS = {"AlignConfig": ".align", "grid_indices": ".align", "load_aligned_video": ".align",
            "match_times": ".align"}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
