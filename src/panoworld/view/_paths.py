"""Where a viewer goes by default (light: the CLI checks it before the viewer's heavier modules load)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_out"]


def default_out(paths: list[str | os.PathLike]) -> Path:
    """``<folder>/viewer`` for a single folder, else ``./panoworld_view``."""
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return Path(paths[0]) / "viewer"
    return Path("panoworld_view")
