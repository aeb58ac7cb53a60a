"""Settings-keyed item records: the one re-run rule of every batch job.

Batch jobs (``generate --batch``, ``annotate``, ``eval infer``, ``eval run``, ``synth``, ``data cut``, ``data
caption``) write one record per finished item, last and atomically. A record holds ``settings_key``: the hex
SHA-256 of the canonical JSON of the settings that determine the item's result (its inputs' fingerprints, the
options that change its output, model fingerprints; never device, worker count or progress options).

On a re-run each item is

- **todo**: no record (never finished, or killed in flight) -> run it;
- **done**: a record with the same key -> skip it;
- **stale**: a record with another key (or none) -> the job stops before any work with a one-line
  :class:`~panoworld.errors.StaleItemsError` naming ``--force``; with ``force`` every item is redone.

``force`` also redoes finished items whose settings did not change (e.g. after a code fix).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from panoworld.errors import StaleItemsError

__all__ = [
    "SETTINGS_KEY",
    "Item",
    "Plan",
    "canonical_json",
    "settings_key",
    "source_fingerprint",
    "read_record",
    "write_record",
    "plan_items",
]

#: Name of the record field holding the settings key.
SETTINGS_KEY = "settings_key"


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


def write_record(path: str | os.PathLike, record: Mapping[str, Any], key: str) -> Path:
    """Write ``record`` with its ``settings_key`` to ``path`` atomically (the item's completion marker)."""
    from panoworld.io.atomic import atomic_write_json

    return atomic_write_json(path, {SETTINGS_KEY: key, **{k: v for k, v in record.items() if k != SETTINGS_KEY}})


@dataclass
class Item:
    """One item of a batch job: a display name, where its record lives, its settings key, and any payload."""

    name: str
    record: Path
    key: str
    payload: Any = None


@dataclass
class Plan:
    """What a run will do: ``todo`` items to run (``redo`` are finished ones redone because of ``force``)."""

    todo: list[Item] = field(default_factory=list)
    done: list[Item] = field(default_factory=list)
    redo: list[Item] = field(default_factory=list)

    def summary(self, noun: str = "item") -> str:
        """One line, e.g. ``3 item(s) to run, 5 already done, 2 redone (--force)``."""
        parts = [f"{len(self.todo)} {noun}(s) to run", f"{len(self.done)} already done"]
        if self.redo:
            parts.append(f"{len(self.redo)} finished one(s) redone (--force)")
        return ", ".join(parts)


def plan_items(items: Iterable[Item], *, force: bool = False,
               complete: Callable[[Item, dict], bool] | None = None) -> Plan:
    """Sort items into todo / done by their records (see the module docstring for the rule).

    Args:
        items: the job's items with their current settings keys.
        force: redo finished items too (the only way past a stale item).
        complete: optional extra check that a record's outputs still exist; False -> the item is todo.

    Raises:
        StaleItemsError: a finished item was made with other settings and ``force`` is off.
    """
    plan, stale = Plan(), []
    for item in items:
        record = read_record(item.record)
        if record is None or (complete is not None and not complete(item, record)):
            plan.todo.append(item)
        elif force:
            plan.todo.append(item)
            plan.redo.append(item)
        elif record.get(SETTINGS_KEY) == item.key:
            plan.done.append(item)
        else:
            stale.append(item)
    if stale:
        first = stale[0]
        raise StaleItemsError(
            f"{len(stale)} finished item(s) were made with other settings (first: {first.name}, record "
            f"{first.record}); re-run with --force to redo every item, delete the records of the ones to redo, "
            "or write to another output folder"
        )
    return plan
