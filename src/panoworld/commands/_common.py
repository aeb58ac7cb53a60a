"""Helpers shared by CLI commands: typer app settings, argument parsing, output checks, messages, progress.

Nothing here imports torch or Rich at module import, so a command's usage errors stay fast.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

import typer

from panoworld.errors import BatchFailedError, InputError

__all__ = ["APP_SETTINGS", "finite_floats", "open_range", "new_app", "parse_size", "parse_shard",
           "take_shard", "parse_list", "output_dir", "output_file", "check_writable", "say", "progress_bar",
           "raise_failures"]

#: Settings shared by every typer app of the CLI (plain help text: no Rich markup eats "[method]").
APP_SETTINGS = dict(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                    context_settings={"help_option_names": ["-h", "--help"]})

T = TypeVar("T")


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


def new_app(help: str) -> typer.Typer:
    """A command group with the CLI's shared settings."""
    return typer.Typer(help=help, no_args_is_help=True, **APP_SETTINGS)


def parse_size(text: str, *, name: str = "--size") -> tuple[int, int]:
    """Parse ``HxW`` (e.g. ``512x1024``) into (height, width) pixels."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"{name} must look like HEIGHTxWIDTH, e.g. 512x1024; got {text!r}") from None
    if h <= 0 or w <= 0:
        raise InputError(f"{name} must be positive, got {text!r}")
    return h, w


def parse_shard(text: str | None, *, name: str = "--shard") -> tuple[int, int]:
    """Parse ``i/n`` (0-based shard i of n, 0 <= i < n) into (i, n); None or "" means everything: (0, 1)."""
    if not text:
        return 0, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise InputError(f"{name} must look like i/n (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise InputError(f"{name} i/n needs 0 <= i < n, got {text!r}")
    return i, n


def take_shard(items: Sequence[T], i: int, n: int) -> list[T]:
    """Shard i of n of a list, strided by position (items i, i + n, i + 2n, ...): stable as the list grows."""
    return list(items[i::n])


def parse_list(text: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None or "" -> None."""
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


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


def say(message: str) -> None:
    """One status line on stderr (plain text: brackets are printed as they are)."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (Rich); yields ``advance(n=1)``. Hidden when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.progress import TimeRemainingColumn

    console = Console(stderr=True, quiet=not sys.stderr.isatty() and not os.environ.get("PANOWORLD_PROGRESS"))
    with Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


def raise_failures(failed: dict[str, str], where: str) -> None:
    """End a batch job whose items ``failed`` (name -> reason) with exit code 1, naming the first failure."""
    if failed:
        name, reason = next(iter(failed.items()))
        raise BatchFailedError(f"{len(failed)} item(s) failed ({where}); first: {name}: {reason}; re-run the same "
                               "command to retry them")
