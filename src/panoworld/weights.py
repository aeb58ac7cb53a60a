"""Where user-supplied weights live: ``$PANOWORLD_WEIGHTS``, else ``./weights`` (one rule for every module)."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the weights folder.
WEIGHTS_ENV = "PANOWORLD_WEIGHTS"


def weights_root() -> Path:
    """The weights folder: ``$PANOWORLD_WEIGHTS`` or ``./weights`` (relative to the working directory)."""
    return Path(os.environ.get(WEIGHTS_ENV) or "weights")


#: Single-file weights of the annotation networks: name -> (path under the weights root, what, where to get it).
ANNOTATION_WEIGHTS: dict[str, tuple[str, str, str]] = {
    "dap": ("dap/model.pth", "DAP panoramic depth (panoworld annotate)",
            "https://huggingface.co/Insta360-Research/DAP-weights (model.pth)"),
    "cotracker3": ("cotracker3/scaled_offline.pth", "CoTracker3 offline point tracker (panoworld annotate)",
                   "https://huggingface.co/facebook/cotracker3 (scaled_offline.pth)"),
}
