"""Training folders: the run folder of ``panoworld train`` / ``train distill``, its run record, and the cache.

**Run folder** (``run.out_dir``), version 1::

    <run>/
      training_run.json               the training run record (below), rewritten atomically while the run goes on
      metrics.jsonl                   one JSON object per logged step: {"step", "time", "<metric>": value, ...}
      tensorboard/                    TensorBoard events (when the tensorboard package is installed)
      latest.json                     {"step", "path"}: the newest complete checkpoint (replaced atomically)
      checkpoints/step_NNNNNNN/       a PanoWorld model folder (``model_folder``) plus training_state/
      checkpoints/step_NNNNNNN.tmp/   a checkpoint being assembled (never read)
      validation/step_NNNNNNN/        validation videos
      teacher_pairs/pair_NNNNN.safetensors   distillation only: cached teacher ODE solves (regression warm-up)

**Training run record** ``training_run.json`` (format ``panoworld-training-run``, version 1)::

    {"format", "version", "kind": "train" | "distill", "created", "sessions": [{"started", "updated"}],
     "libraries", "config", "world_size", "device", "status", "step", "checkpoint", "tensorboard",
     "train_seconds", ...}

Run folders written before this name existed hold the same record as ``run.json`` (no ``format``), the name of
the generation record (``run_records.GENERATION_RECORD``); it is still read, and replaced by the new name on the
next write.

**Cache folder** (``data.cache_dir``, ``panoworld train cache``), version :data:`CACHE_VERSION`::

    cache.json                        the manifest (settings, clip names per split, annotation flags), written last
    clips/<name>.safetensors          one clip's tensors
    clips/<name>.json                 its completion record (``job_record``), written after the tensors
    text/<key[:2]>/<key>.safetensors  one prompt embedding (L, D)
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from panoworld.io.atomic import atomic_write_json

__all__ = [
    "TRAINING_RECORD",
    "LEGACY_TRAINING_RECORD",
    "TRAINING_FORMAT",
    "TRAINING_VERSION",
    "METRICS_LOG",
    "TENSORBOARD_DIR",
    "LATEST",
    "CHECKPOINTS",
    "TRAINING_STATE",
    "VALIDATION_DIR",
    "TEACHER_PAIRS",
    "CACHE_VERSION",
    "CACHE_MANIFEST",
    "CACHE_CLIPS",
    "CACHE_TEXT",
    "step_folder",
    "cache_entry_path",
    "cache_record_path",
    "teacher_pair_path",
    "training_record_path",
    "read_training_record",
    "write_training_record",
    "TrainingRecord",
]

TRAINING_RECORD = "training_run.json"
LEGACY_TRAINING_RECORD = "run.json"
TRAINING_FORMAT = "panoworld-training-run"
TRAINING_VERSION = 1
METRICS_LOG = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"
LATEST = "latest.json"
CHECKPOINTS = "checkpoints"
TRAINING_STATE = "training_state"
VALIDATION_DIR = "validation"
TEACHER_PAIRS = "teacher_pairs"

CACHE_VERSION = 2
CACHE_MANIFEST = "cache.json"
CACHE_CLIPS = "clips"
CACHE_TEXT = "text"


def step_folder(run_dir: str | os.PathLike, step: int) -> Path:
    """The checkpoint folder of optimizer step ``step``."""
    return Path(run_dir) / CHECKPOINTS / f"step_{step:07d}"


def cache_entry_path(root: str | os.PathLike, name: str) -> Path:
    """The cached tensors of clip ``name``."""
    return Path(root) / CACHE_CLIPS / f"{name}.safetensors"


def cache_record_path(root: str | os.PathLike, name: str) -> Path:
    """The completion record of cached clip ``name`` (written after its tensors)."""
    return Path(root) / CACHE_CLIPS / f"{name}.json"


def teacher_pair_path(run_dir: str | os.PathLike, pair: int) -> Path:
    """The cached teacher solve ``pair`` of a distillation run (``train.distill_pairs``)."""
    return Path(run_dir) / TEACHER_PAIRS / f"pair_{pair:05d}.safetensors"


def _is_training_record(data) -> bool:
    """A legacy ``run.json`` is a training record when it has the trainer's keys (a generation record has none)."""
    return isinstance(data, dict) and (data.get("format") == TRAINING_FORMAT or
                                       ("sessions" in data and "config" in data and "format" not in data))


def training_record_path(run_dir: str | os.PathLike) -> Path | None:
    """The run's record file (the current name, else a legacy ``run.json`` holding a training record), or None."""
    run_dir = Path(run_dir)
    for name in (TRAINING_RECORD, LEGACY_TRAINING_RECORD):
        path = run_dir / name
        if path.is_file():
            try:
                if _is_training_record(json.loads(path.read_text())):
                    return path
            except (OSError, ValueError):
                continue
    return None


def read_training_record(run_dir: str | os.PathLike) -> dict | None:
    """The run record of ``run_dir`` (current or legacy name), or None when there is none."""
    path = training_record_path(run_dir)
    return None if path is None else json.loads(path.read_text())


def write_training_record(run_dir: str | os.PathLike, data: dict) -> Path:
    """Write the record atomically under :data:`TRAINING_RECORD` (a legacy training ``run.json`` is removed)."""
    run_dir = Path(run_dir)
    path = atomic_write_json(run_dir / TRAINING_RECORD, {"format": TRAINING_FORMAT, "version": TRAINING_VERSION,
                                                         **data})
    legacy = run_dir / LEGACY_TRAINING_RECORD
    if legacy.is_file():
        try:
            if _is_training_record(json.loads(legacy.read_text())):
                legacy.unlink()
        except (OSError, ValueError):
            pass
    return path


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class TrainingRecord:
    """The run record of one run folder, kept across sessions (resumes): ``update(**values)`` rewrites it.

    Args:
        run_dir: the run folder.
        content: keys set at the start of this session (config, world size, device, ...).
        kind: "train" or "distill".
        libraries: library versions to record.
    """

    def __init__(self, run_dir: str | os.PathLike, content: dict, *, kind: str = "train",
                 libraries: dict | None = None):
        self.run_dir = Path(run_dir)
        old = read_training_record(self.run_dir) or {}
        old.pop("format", None)
        old.pop("version", None)
        self.data = {"kind": kind, "created": old.get("created", _now()), "sessions": old.get("sessions", []),
                     "libraries": libraries or {}, **content}
        self.data["sessions"].append({"started": _now()})

    def update(self, **values) -> None:
        self.data.update(values)
        self.data["sessions"][-1]["updated"] = _now()
        write_training_record(self.run_dir, self.data)
