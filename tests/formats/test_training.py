"""The training run folder's record (``training_run.json``, legacy ``run.json`` still read) and layout names."""

from __future__ import annotations

import json

from panoworld.formats.run_records import GENERATION_RECORD
from panoworld.formats.training import (LEGACY_TRAINING_RECORD, TRAINING_FORMAT, TRAINING_RECORD, TrainingRecord,
                                        cache_entry_path, read_training_record, step_folder, training_record_path)


def test_the_record_has_its_own_name_and_keeps_sessions(tmp_path):
    assert TRAINING_RECORD != GENERATION_RECORD
    first = TrainingRecord(tmp_path, {"config": {"a": 1}}, kind="distill")
    first.update(status="running", step=0)
    data = json.loads((tmp_path / TRAINING_RECORD).read_text())
    assert data["format"] == TRAINING_FORMAT and data["kind"] == "distill" and data["status"] == "running"
    second = TrainingRecord(tmp_path, {"config": {"a": 1}})
    second.update(status="finished", step=4)
    data = read_training_record(tmp_path)
    assert data["created"] == first.data["created"] and len(data["sessions"]) == 2 and data["step"] == 4


def test_legacy_run_json_is_read_and_replaced_but_a_generation_record_is_not(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / LEGACY_TRAINING_RECORD).write_text(json.dumps({"config": {}, "sessions": [{"started": "x"}],
                                                           "created": "2026-01-01", "step": 3}))
    assert training_record_path(old).name == LEGACY_TRAINING_RECORD and read_training_record(old)["step"] == 3
    TrainingRecord(old, {"config": {}}).update(step=5)
    assert not (old / LEGACY_TRAINING_RECORD).exists() and read_training_record(old)["created"] == "2026-01-01"
    generated = tmp_path / "generated"
    generated.mkdir()
    (generated / GENERATION_RECORD).write_text(json.dumps({"format": "panoworld-generation", "config": {}}))
    assert training_record_path(generated) is None and read_training_record(generated) is None
    TrainingRecord(generated, {"config": {}}).update(step=1)
    assert (generated / GENERATION_RECORD).is_file()  # never removed: it is not a training record


def test_layout_names():
    assert step_folder("runs/x", 12).as_posix() == "runs/x/checkpoints/step_0000012"
    assert cache_entry_path("cache", "a__b").as_posix() == "cache/clips/a__b.safetensors"
