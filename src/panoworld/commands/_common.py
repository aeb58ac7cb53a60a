"""Helpers shared by CLI commands: argument parsing, messages, progress, batch failures.

Nothing here imports torch or Rich at module import, so a command's usage errors stay fast.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, TypeVar

from panoworld.errors import BatchFailedError, InputError

__all__ = ["parse_size", "parse_shard", "take_shard", "parse_list", "say", "progress_bar", "raise_failures"]

T = TypeVar("T")


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
