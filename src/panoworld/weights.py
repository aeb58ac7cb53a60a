"""Where user-supplied weights live: ``$PANOWORLD_WEIGHTS``, else ``./weights`` (one rule for every module)."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the weights folder.
WEIGHTS_ENV = "PANOWORLD_WEIGHTS"


def weights_root() -> Path:
    """The weights folder: ``$PANOWORLD_WEIGHTS`` or ``./weights`` (relative to the working directory)."""
    return Path(os.environ.get(WEIGHTS_ENV) or "weights")
