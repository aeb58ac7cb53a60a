"""Settings-keyed item records: the one re-run rule of every batch job.

Batch jobs (``generate --batch``, ``annotate``, ``eval infer``, ``eval run``, ``synth``, ``data cut``, ``data
caption``) write one record per finished item, last and atomically. A record holds

- ``settings_key``: hex SHA-256 of the canonical JSON of the settings that determine the item's result (the
  options that change its output, model fingerprints; never device, worker count or progress options);
- ``inputs_key`` (optional): the same hash of the identity of the item's input files (size and modification
  time, or content hashes), i.e. what an earlier step of the workflow produced.

On a re-run each item is

- **todo**: no record (never finished, or killed in flight), or its inputs changed -> run it (redone items
  are counted in ``Plan.changed`` so the job can say so);
- **done**: a record with the same keys -> skip it;
- **stale**: a record with another settings key (or none) -> the job stops before any work with a one-line
  :class:`~panoworld.errors.StaleItemsError` naming ``--force``; with ``force`` every item is redone.

``force`` also redoes finished items whose settings did not change (e.g. after a code fix).

Several processes (``torchrun``) share one job with ``shard=(rank, world)``: process ``rank`` runs the items at
positions ``rank, rank + world, ...`` of the full item list (the same list on every process), so every item is
run by exactly one process whatever is already finished, and a re-run with any process count resumes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from panoworld.errors import StaleItemsError

__all__ = [
    "SETTINGS_KEY",
    "INPUTS_KEY",
    "Item",
    "Plan",
    "canonical_json",
    "settings_key",
    "source_fingerprint",
    "read_record",
    "write_record",
    "write_failure",
    "plan_items",
    "Report",
    "write_summary",
    "FAILURE_RECORD",
]

#: Names of the record fields holding the settings key and the inputs key.
SETTINGS_KEY = "settings_key"
INPUTS_KEY = "inputs_key"
#: Written into an item's folder when the item failed (its completion record is absent); a re-run retries it.
FAILURE_RECORD = "failed.json"


def _plain(value: Any) -> Any:
    """JSON stand-ins for paths, tuples and other simple values in settings."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    raise TypeError(f"settings value of type {type(value).__name__} has no canonical JSON form")


def canonical_json(settings: Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys; floats must be finite (NaN has no stable meaning as a setting)."""
    _check_finite(settings)
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=_plain)


def _check_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"settings must be finite numbers, got {value}")
    if isinstance(value, Mapping):
        for v in value.values():
            _check_finite(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_finite(v)


def settings_key(settings: Mapping[str, Any]) -> str:
    """Hex SHA-256 of :func:`canonical_json` of ``settings``."""
    return hashlib.sha256(canonical_json(settings).encode("utf-8")).hexdigest()


def source_fingerprint(path: str | os.PathLike) -> dict:
    """A cheap identity of an input file: its resolved path, size in bytes and modification time (ns)."""
    p = Path(path)
    st = p.stat()
    return {"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def read_record(path: str | os.PathLike) -> dict | None:
    """The record at ``path`` as a dict; None when absent or unreadable (a half-written record cannot exist)."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_record(path: str | os.PathLike, record: Mapping[str, Any], key: str, inputs: str | None = None) -> Path:
    """Write ``record`` with its ``settings_key`` (and ``inputs_key``) to ``path`` atomically (the item's
    completion marker)."""
    from panoworld.io.atomic import atomic_write_json

    keys = {SETTINGS_KEY: key} if inputs is None else {SETTINGS_KEY: key, INPUTS_KEY: inputs}
    return atomic_write_json(path, {**keys, **{k: v for k, v in record.items() if k not in keys}})


def write_failure(folder: str | os.PathLike, error: BaseException, key: str) -> Path | None:
    """Record that an item failed: ``<folder>/failed.json`` with the error type and message (one line).

    Returns None when even that cannot be written (e.g. the folder's place is taken by a file); the caller's
    batch summary still names the failure.
    """
    try:
        return write_record(Path(folder) / FAILURE_RECORD, {"status": "failed", "error": type(error).__name__,
                                                            "message": " ".join(str(error).split())}, key)
    except OSError:
        return None


@dataclass
class Item:
    """One item of a batch job: a display name, where its record lives, its settings and inputs keys, a payload."""

    name: str
    record: Path
    key: str
    payload: Any = None
    inputs: str | None = None


@dataclass
class Plan:
    """What a run will do: ``todo`` items to run; among them ``changed`` (finished, but their inputs changed)
    and ``redo`` (finished, redone because of ``force``)."""

    todo: list[Item] = field(default_factory=list)
    done: list[Item] = field(default_factory=list)
    changed: list[Item] = field(default_factory=list)
    redo: list[Item] = field(default_factory=list)
    elsewhere: list[Item] = field(default_factory=list)

    def summary(self, noun: str = "item") -> str:
        """One line, e.g. ``3 item(s) to run (1 whose inputs changed), 5 already done``."""
        extra = [f"{len(self.changed)} whose inputs changed"] if self.changed else []
        extra += [f"{len(self.redo)} finished one(s) redone (--force)"] if self.redo else []
        todo = f"{len(self.todo)} {noun}(s) to run" + (f" ({', '.join(extra)})" if extra else "")
        others = f", {len(self.elsewhere)} for other processes" if self.elsewhere else ""
        return f"{todo}, {len(self.done)} already done{others}"


def plan_items(items: Iterable[Item], *, force: bool = False,
               complete: Callable[[Item, dict], bool] | None = None, shard: tuple[int, int] | None = None) -> Plan:
    """Sort items into todo / done by their records (see the module docstring for the rule).

    Args:
        items: the job's items with their current settings keys.
        force: redo finished items too (the only way past a stale item).
        complete: optional extra check that a record's outputs still exist; False -> the item is todo.
        shard: (rank, world): this process's share of the items (see the module docstring); the others go to
            ``Plan.elsewhere``. Stale items of every share stop every process alike.

    Raises:
        StaleItemsError: a finished item was made with other settings and ``force`` is off.
    """
    plan, stale = Plan(), []
    rank, world = shard or (0, 1)
    for position, item in enumerate(items):
        record = read_record(item.record)
        status = "todo"
        if record is not None and (complete is None or complete(item, record)):
            if force:
                status = "redo"
            elif record.get(SETTINGS_KEY) != item.key:
                status = "stale"
            elif item.inputs is not None and record.get(INPUTS_KEY) != item.inputs:
                status = "changed"
            else:
                status = "done"
        if status == "stale":
            stale.append(item)
        elif position % world != rank:
            plan.elsewhere.append(item)
        elif status == "done":
            plan.done.append(item)
        else:
            plan.todo.append(item)
            if status != "todo":
                getattr(plan, status).append(item)
    if stale:
        first = stale[0]
        raise StaleItemsError(
            f"{len(stale)} finished item(s) were made with other settings (first: {first.name}, record "
            f"{first.record}); re-run with --force to redo every item, delete the records of the ones to redo, "
            "or write to another output folder"
        )
    return plan


@dataclass
class Report:
    """What a batch run did: item names that ran, were already done, and failed (name -> one-line reason)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def fail(self, item: Item, error: BaseException, folder: str | os.PathLike | None) -> str:
        """Count ``item`` as failed and record the error in ``<folder>/failed.json``; return the reason."""
        reason = " ".join(f"{type(error).__name__}: {error}".split())
        self.failed[item.name] = reason
        if folder is not None:
            write_failure(folder, error, item.key)
        return reason


def write_summary(path: str | os.PathLike, items: list[Item], report: Report) -> Path:
    """Write a batch summary JSON: counts and every item's status (done / already done / failed + error)."""
    from panoworld.io.atomic import atomic_write_json

    def status(name: str) -> dict:
        if name in report.failed:
            return {"status": "failed", "error": report.failed[name]}
        return {"status": "done" if name in report.done else "already done"}

    return atomic_write_json(path, {
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "counts": {"done": len(report.done), "already_done": len(report.skipped), "failed": len(report.failed)},
        "items": [{"item": item.name, SETTINGS_KEY: item.key, **status(item.name)} for item in items],
    })
