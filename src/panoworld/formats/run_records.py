"""Run records: the generation record of ``panoworld generate`` and the method-run record of ``eval infer``.

Two different records, two names:

- **generation record** ``<out>/run.json`` (format ``panoworld-generation``, version 1), written last beside
  ``pano.mp4``, ``preview.mp4``, ``round1.mp4`` (chained runs) and ``depth.npz`` (models with a depth head:
  ``depth`` (T, h, w) metres, ``frame_indices`` (T,), the viewer's layout, docs/view.md), and with ``--annotate``
  ``depth_dap.npz`` / ``tracks.npz`` (``panoworld.pipelines.annotate_outputs``); its presence marks a finished
  clip::

      {"format", "version", "created", "settings_key", "inputs_key", "arguments", "config", "models", "libraries",
       "device", "timings_s", "peak_gpu_memory_gib", "run_info", "outputs"}

  ``settings_key`` (optional) is :func:`settings_key` of the settings that determine the clip, ``inputs_key``
  (optional) the same hash of its input image; a batch re-run follows :mod:`panoworld.formats.job_record` with
  them. ``models`` holds weight fingerprints, ``timings_s`` seconds per stage.

  ``generate --batch`` also writes ``batch_summary.json`` (:data:`GENERATION_SUMMARY`) into its output root: every
  clip's status (``formats.job_record.write_summary``).

- **method-run record** ``<results>/<method>/<split>__<clip>/method_run.json`` (format ``panoworld-method-run``,
  version 1), written last beside the method's ``video.mp4`` (``panoworld.formats.results``)::

      {"format", "version", "method", "clip_id", "input_kind", "native_fps", "container_fps", "size": [H, W],
       "num_frames", "seconds", "seed", "spec", "settings_key", "inputs_key"}

  ``settings_key`` / ``inputs_key`` (optional) follow :mod:`panoworld.formats.job_record` (``eval infer``).

Folders written before these names existed still read: a ``run.json`` without ``format`` is a generation
record, or a method-run record when it has a ``method`` key and sits beside a ``video.mp4``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from panoworld.errors import InputError
from panoworld.io.atomic import atomic_write_json

from .job_record import settings_key

__all__ = [
    "GENERATION_RECORD",
    "GENERATION_FORMAT",
    "GENERATION_VERSION",
    "GENERATION_OUTPUTS",
    "GENERATION_SUMMARY",
    "METHOD_RUN_RECORD",
    "METHOD_RUN_FORMAT",
    "METHOD_RUN_VERSION",
    "GenerationRecord",
    "MethodRunRecord",
    "settings_key",
    "write_generation_record",
    "read_generation_record",
    "generation_complete",
    "method_run_path",
    "write_method_run",
    "read_method_run",
    "remove_method_run",
]

GENERATION_RECORD = "run.json"
GENERATION_FORMAT = "panoworld-generation"
GENERATION_VERSION = 1
#: Output files of one generated clip, by the key they have in the record's ``outputs``: the ERP video, its
#: perspective preview, the chained run's Round-1 video, the depth head's ``depth`` (T, h, w) metres and (``generate
#: --annotate``, ``pipelines.annotate_outputs``) DAP's ``depth`` (T, H, W) metres and the tracker's ``tracks_2d``
#: (N, T, 2) pixels with ``visibility`` (N, T).
GENERATION_OUTPUTS = {"video": "pano.mp4", "preview": "preview.mp4", "round1": "round1.mp4", "depth": "depth.npz",
                      "depth_dap": "depth_dap.npz", "tracks": "tracks.npz"}
GENERATION_SUMMARY = "batch_summary.json"

METHOD_RUN_RECORD = "method_run.json"
LEGACY_METHOD_RUN_RECORD = "run.json"
METHOD_RUN_FORMAT = "panoworld-method-run"
METHOD_RUN_VERSION = 1


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable run record ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a run record must be a JSON object")
    return data


def _check_version(path: Path, data: dict, fmt: str, version: int) -> None:
    found = data.get("version")
    if data.get("format") == fmt and isinstance(found, int) and found > version:
        raise InputError(f"{path}: {fmt} version {found} is newer than this panoworld understands ({version}); "
                         "upgrade panoworld")


class _Record:
    """JSON round trip of a record dataclass: ``format`` and ``version`` added on writing, unknown keys ignored and
    missing ones defaulted on reading."""

    FORMAT: ClassVar[str]
    VERSION: ClassVar[int]

    def to_json(self) -> dict:
        return {"format": self.FORMAT, "version": self.VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class GenerationRecord(_Record):
    """The generation record of one clip (see the module docstring for each field)."""

    created: str = ""
    arguments: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    libraries: dict = field(default_factory=dict)
    device: str = ""
    timings_s: dict = field(default_factory=dict)
    peak_gpu_memory_gib: float | None = None
    run_info: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    settings_key: str | None = None
    inputs_key: str | None = None

    FORMAT: ClassVar[str] = GENERATION_FORMAT
    VERSION: ClassVar[int] = GENERATION_VERSION


def write_generation_record(folder: str | os.PathLike, record: GenerationRecord | dict) -> Path:
    """Write ``<folder>/run.json`` atomically (format and version added); return its path."""
    if isinstance(record, dict):
        record = GenerationRecord.from_json(record)
    for name in ("settings_key", "inputs_key"):
        key = getattr(record, name)
        if key is not None and not (isinstance(key, str) and len(key) == 64
                                    and all(c in "0123456789abcdef" for c in key)):
            raise ValueError(f"{name} must be a hex SHA-256 digest, got {key!r}")
    return atomic_write_json(Path(folder) / GENERATION_RECORD, record.to_json())


def read_generation_record(folder: str | os.PathLike) -> GenerationRecord | None:
    """The generation record of a clip folder, None when there is none (raises for an unreadable one)."""
    path = Path(folder) / GENERATION_RECORD
    data = _read_json(path)
    if data is None:
        return None
    _check_version(path, data, GENERATION_FORMAT, GENERATION_VERSION)
    if data.get("format") not in (None, GENERATION_FORMAT):
        raise InputError(f"{path} is a {data.get('format')} record, not a generation record")
    return GenerationRecord.from_json(data)


def generation_complete(folder: str | os.PathLike, key: str | None = None) -> bool:
    """True when the clip folder holds a generation record and, if ``key`` is given, the record was made with those
    settings. A record without a key (written before keys existed) matches no key, as in the batch re-run rule of
    :mod:`panoworld.formats.job_record`."""
    try:
        record = read_generation_record(folder)
    except InputError:
        return False
    if record is None:
        return False
    return key is None or record.settings_key == key


@dataclass
class MethodRunRecord(_Record):
    """The record of one method run on one test clip (see the module docstring)."""

    method: str
    clip_id: str
    input_kind: str = ""
    native_fps: float | None = None
    container_fps: float | None = None
    size: list = field(default_factory=list)
    num_frames: int = 0
    seconds: float | None = None
    seed: int | None = None
    spec: dict = field(default_factory=dict)
    settings_key: str | None = None
    inputs_key: str | None = None

    FORMAT: ClassVar[str] = METHOD_RUN_FORMAT
    VERSION: ClassVar[int] = METHOD_RUN_VERSION


def _holds_legacy_method_run(folder: Path) -> bool:
    """True when ``folder/run.json`` is a method-run record written before the record had its own name."""
    try:
        old = _read_json(folder / LEGACY_METHOD_RUN_RECORD)
    except InputError:
        return False
    return old is not None and "method" in old and old.get("format") is None


def remove_method_run(folder: str | os.PathLike) -> None:
    """Remove a result folder's method-run record (also a legacy ``run.json`` one; a generation record stays), so
    the folder no longer counts as finished."""
    folder = Path(folder)
    (folder / METHOD_RUN_RECORD).unlink(missing_ok=True)
    if _holds_legacy_method_run(folder):
        (folder / LEGACY_METHOD_RUN_RECORD).unlink(missing_ok=True)


def method_run_path(folder: str | os.PathLike) -> Path:
    """Where a result folder's method-run record is: ``method_run.json``, or a legacy ``run.json`` holding one."""
    folder = Path(folder)
    path = folder / METHOD_RUN_RECORD
    if not path.is_file() and _holds_legacy_method_run(folder):
        return folder / LEGACY_METHOD_RUN_RECORD
    return path


def write_method_run(folder: str | os.PathLike, record: MethodRunRecord) -> Path:
    """Write ``<folder>/method_run.json`` atomically, replacing any earlier method-run record."""
    remove_method_run(folder)
    return atomic_write_json(Path(folder) / METHOD_RUN_RECORD, record.to_json())


def read_method_run(folder: str | os.PathLike) -> MethodRunRecord | None:
    """The method-run record of a result folder (also a legacy ``run.json`` one); None when there is none."""
    folder = Path(folder)
    path = folder / METHOD_RUN_RECORD
    data = _read_json(path)
    if data is not None:
        _check_version(path, data, METHOD_RUN_FORMAT, METHOD_RUN_VERSION)
    else:
        data = _read_json(folder / LEGACY_METHOD_RUN_RECORD)
        if data is None or data.get("format") is not None or "method" not in data:
            return None
    if "method" not in data or "clip_id" not in data:
        raise InputError(f"{folder}: method-run record lacks 'method' / 'clip_id'")
    return MethodRunRecord.from_json(data)

