"""Helpers shared by CLI commands: argument parsing, progress bars, media-kind detection."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from panoworld.errors import InputError
from panoworld.formats.clips import is_video_path

__all__ = ["parse_size", "parse_shard", "take_shard", "is_video_path", "progress_bar", "console"]

console = Console(stderr=True)

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


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator:
    """A rich progress bar on stderr; yields ``advance(n)``. Hidden when stderr is not a terminal."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)
