"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A crash or ``kill -9`` leaves either the old file or the new one, never half a file. The temporary name
carries the writer's process id; the next write of the same target removes temporaries whose process is gone,
so a killed job's leftovers disappear when it is re-run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "remove_stale_temporaries"]


#: Temporary names: ``.<target stem>.<pid>.<random>.tmp<ext>``.
_TEMPORARY = re.compile(r"\..+\.(\d+)\.[A-Za-z0-9_]+\.tmp(\.[^.]*)?")
_CLEANED: set[tuple[int, str]] = set()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> None:
    """Delete the temporary files in ``folder`` whose writing process no longer runs (left by a killed run).

    Done once per process and folder, on the first atomic write into it; live writers' files are kept.
    """
    folder = Path(folder)
    marker = (os.getpid(), str(folder.resolve()))
    if marker in _CLEANED:
        return
    _CLEANED.add(marker)
    for tmp in folder.glob(".*.tmp*"):
        match = _TEMPORARY.fullmatch(tmp.name)
        if match and int(match.group(1)) != os.getpid() and not _pid_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is renamed to ``path``.

    The temporary name keeps the target's extension (or ``suffix``) so that writers which pick a
    format from the extension (PyAV, Pillow) still work. On an exception the temporary file is
    removed and the target is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ext = suffix if suffix is not None else "".join(target.suffixes[-1:])
    remove_stale_temporaries(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.{os.getpid()}.", suffix=f".tmp{ext}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, *, indent: int = 2) -> Path:
    """Write ``obj`` as JSON (sorted keys are not imposed) to ``path`` atomically; return the path."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")
