"""Import a ``bench/`` script in a test: ``bench_module("_common")`` is ``bench/_common.py`` as a module."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def bench_module(name: str):
    """``bench/<name>.py``, imported with ``bench/`` on ``sys.path`` for the import only (the scripts import their
    siblings, e.g. ``_common``, as top-level modules)."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))
