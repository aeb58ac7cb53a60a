"""Method runners: a declarative registry, one small module per method (see :mod:`.base`).

The built-in method ids are known without importing their modules (``BUILTINS``), so listing them and
rejecting an unknown id needs no torch; a method's module is imported when it is used.
"""

from __future__ import annotations

import importlib
import sys

from panoworld._lazy import lazy_exports

__all__ = ["REGISTRY", "MethodSpec", "RunRequest", "get_method", "register", "run_method", "BUILTINS",
           "DEGRADATION_KINDS", "SANITY_METHODS", "method_ids", "check_method_ids", "check_config"]

#: Built-in method id -> module (in this package) that registers it.
BUILTINS = {"oracle": "oracle", "static": "static", "fov-only": "fov_only", "panoworld": "panoworld",
            "argus": "argus", "360dvd": "dvd360", "follow-your-canvas": "follow_your_canvas",
            "imagine360": "imagine360", "omniroam": "omniroam"}
#: Controlled degradations of the GT (``panoworld.eval.degrade``), one method ``degrade-<kind>`` each.
DEGRADATION_KINDS = ("seam", "poles", "flicker", "frozen", "shuffled", "noise", "depth_scale", "tracks_drift")
BUILTINS.update({f"degrade-{kind}": "degraded" for kind in DEGRADATION_KINDS})
#: Methods that see the GT or copy the input (bounds, not competitors): listed after the others in reports.
SANITY_METHODS = ("oracle", "static", "fov-only", *(f"degrade-{kind}" for kind in DEGRADATION_KINDS))

__getattr__, __dir__ = lazy_exports(__name__, {name: ".base" for name in
                                               ("REGISTRY", "MethodSpec", "RunRequest", "register", "run_method")})


def method_ids() -> list[str]:
    """Every known method id: the built-ins and any registered at run time."""
    base = sys.modules.get(f"{__name__}.base")  # methods registered at run time live in its REGISTRY
    return sorted(set(BUILTINS) | set(getattr(base, "REGISTRY", {})))


def check_method_ids(names: list[str]) -> None:
    """Raise ``InputError`` naming the known ids when a name is unknown (imports nothing heavy)."""
    from panoworld.errors import InputError

    unknown = [n for n in names if n not in method_ids()]
    if unknown:
        raise InputError(f"--methods: unknown method(s) {', '.join(unknown)}; known: {', '.join(method_ids())} "
                         "(`panoworld eval methods` lists them)")
    if not names:
        raise InputError("--methods: give at least one method id (`panoworld eval methods` lists them)")


def get_method(name: str):
    """The :class:`MethodSpec` of ``name`` (imports its module)."""
    from .base import REGISTRY

    check_method_ids([name])
    if name not in REGISTRY:
        importlib.import_module(f"{__name__}.{BUILTINS[name]}")
    return REGISTRY[name]


def check_config(spec, config: dict) -> None:
    """Fail before any work when a method's runner-config table cannot work (missing command, weights)."""
    from ._command import check_command_config

    check_command_config(spec, config)
    if spec.name == "panoworld" and not config.get("command"):
        from .panoworld import check_panoworld_config

        check_panoworld_config(config)
