"""Method runners: a declarative registry, one small module per method (see :mod:`.base`)."""

from __future__ import annotations

import importlib

from .base import REGISTRY, MethodSpec, RunRequest, get_method, register, run_method

__all__ = ["REGISTRY", "MethodSpec", "RunRequest", "get_method", "register", "run_method", "BUILTINS"]

BUILTINS = ("oracle", "static", "fov_only", "panoworld", "argus", "dvd360", "follow_your_canvas", "imagine360",
            "omniroam")


def _load_builtins() -> None:
    for name in BUILTINS:
        importlib.import_module(f"{__name__}.{name}")
