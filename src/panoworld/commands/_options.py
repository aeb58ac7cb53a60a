"""Option helpers shared by CLI commands: app settings, finite floats, open ranges, writable outputs.

Nothing here imports torch: these checks run while the command line is parsed.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Callable

import typer

from panoworld.errors import InputError

__all__ = ["APP_SETTINGS", "new_app", "finite_floats", "open_range", "check_writable", "output_dir", "output_file"]

#: Settings shared by every typer app of the CLI (plain help text: no Rich markup eats "[method]").
APP_SETTINGS = dict(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                    context_settings={"help_option_names": ["-h", "--help"]})


def new_app(help: str) -> typer.Typer:
    """A command group with the CLI's shared settings."""
    return typer.Typer(help=help, no_args_is_help=True, **APP_SETTINGS)


def _finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    return True


def _finite_check(callback: Callable | None) -> Callable:
    def check(ctx: typer.Context, param: typer.CallbackParam, value):
        if not _finite(value):
            raise typer.BadParameter(f"{value} is not a finite number", ctx=ctx, param=param)
        return callback(ctx, param, value) if callback is not None else value

    check.finite_check = True
    return check


def open_range(low: float, high: float) -> Callable:
    """Option callback: the value must lie strictly between ``low`` and ``high`` (typer's min/max are closed)."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value):
        if value is not None and not low < value < high:
            raise typer.BadParameter(f"{value:g} is not in the open range ({low:g}, {high:g})", ctx=ctx, param=param)
        return value

    return check


def finite_floats(command) -> None:
    """Make every float parameter of a click ``command`` (and of its sub-commands) reject NaN and +-inf.

    ``panoworld.cli`` applies this to every command it loads, so no command can forget it. The check runs
    after type conversion, before the parameter's own callback (works with every typer/click version).
    """
    for param in getattr(command, "params", []):
        if not getattr(param.callback, "finite_check", False):
            param.callback = _finite_check(param.callback)
    for sub in getattr(command, "commands", {}).values():
        finite_floats(sub)


def check_writable(path: Path, *, folder: bool) -> None:
    """Raise ``InputError`` unless ``path`` (a folder when ``folder``, else a file) can be created or replaced.

    Probes the nearest existing ancestor with a temporary file (removed at once), so read-only mounts and
    permissions are found even for root; nothing is left behind.
    """
    path = Path(path).expanduser().absolute()
    if path.exists() and path.is_dir() != folder:
        raise InputError(f"{path} exists and is {'a file' if folder else 'a folder'}")
    anchor = path if folder and path.is_dir() else path.parent
    while not anchor.exists():
        anchor = anchor.parent
    if not anchor.is_dir():
        raise InputError(f"cannot create {path}: {anchor} is a file")
    try:
        with tempfile.TemporaryFile(dir=anchor):
            pass
    except OSError as exc:
        raise InputError(f"cannot write in {anchor} ({exc.strerror or exc})") from None


def _output_check(folder: bool) -> Callable:
    def check(ctx: typer.Context, param: typer.CallbackParam, value):
        if value is None or ctx.resilient_parsing:
            return value
        try:
            check_writable(Path(value), folder=folder)
        except InputError as exc:
            raise typer.BadParameter(str(exc), ctx=ctx, param=param) from None
        return value

    return check


#: Option/argument callbacks: the output folder / file must be writable (checked before any work).
output_dir = _output_check(folder=True)
output_file = _output_check(folder=False)
