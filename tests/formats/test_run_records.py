"""Generation and method-run records: round trips, settings keys, folders of earlier versions."""

from __future__ import annotations

import json

import pytest

from panoworld.errors import InputError
from panoworld.formats.job_record import write_failure
from panoworld.formats.results import ResultsLayout, method_run_complete, record_files
from panoworld.formats.run_records import (
    GenerationRecord,
    MethodRunRecord,
    generation_complete,
    method_run_path,
    read_generation_record,
    read_method_run,
    settings_key,
    write_generation_record,
    write_method_run,
)


def test_settings_key_is_canonical():
    a = settings_key({"seed": 1, "prompt": "é", "size": [512, 1024]})
    assert a == settings_key({"size": [512, 1024], "prompt": "é", "seed": 1}) and len(a) == 64
    assert a != settings_key({"seed": 2, "prompt": "é", "size": [512, 1024]})
    with pytest.raises(TypeError):
        settings_key({"x": object()})


def test_generation_record_round_trip_and_done_rule(tmp_path):
    key = settings_key({"seed": 1})
    record = GenerationRecord(created="now", arguments={"prompt": "a"}, timings_s={"total": 1.5}, settings_key=key)
    path = write_generation_record(tmp_path / "clip", record)
    data = json.loads(path.read_text())
    assert data["format"] == "panoworld-generation" and data["settings_key"] == key
    assert read_generation_record(tmp_path / "clip") == record
    assert generation_complete(tmp_path / "clip", key) and not generation_complete(tmp_path / "clip", "0" * 64)
    assert not generation_complete(tmp_path / "missing")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "run.json").write_text("{}")  # written before records had a format or a key
    assert generation_complete(tmp_path / "old") and not generation_complete(tmp_path / "old", key)
    assert read_generation_record(tmp_path / "old").settings_key is None
    with pytest.raises(ValueError, match="hex SHA-256"):
        write_generation_record(tmp_path / "bad", {"settings_key": "abc"})


def test_method_run_record_round_trip_and_legacy_name(tmp_path):
    layout = ResultsLayout(tmp_path)
    folder = layout.clip_dir("static", "synth__c0")
    record = MethodRunRecord(method="static", clip_id="synth::c0", native_fps=8.0, size=[32, 64], num_frames=5)
    write_method_run(folder, record)
    assert read_method_run(folder) == record and not method_run_complete(folder)  # no video yet
    layout.video("static", "synth__c0").write_bytes(b"v")
    assert method_run_complete(folder) and [p.name for p in record_files(folder)] == ["video.mp4", "method_run.json"]
    legacy = layout.clip_dir("argus", "synth__c0")
    legacy.mkdir(parents=True)
    (legacy / "video.mp4").write_bytes(b"v")
    (legacy / "run.json").write_text(json.dumps({"method": "argus", "clip_id": "synth::c0", "native_fps": 8.0}))
    assert method_run_complete(legacy) and read_method_run(legacy).native_fps == 8.0
    assert method_run_path(legacy).name == "run.json" and method_run_path(folder).name == "method_run.json"
    write_method_run(legacy, MethodRunRecord(method="argus", clip_id="synth::c0"))
    assert not (legacy / "run.json").exists()  # the legacy copy is replaced, not kept beside the new one
    generated = layout.clip_dir("panoworld", "synth__c0")
    write_generation_record(generated, GenerationRecord())
    (generated / "video.mp4").write_bytes(b"v")
    assert read_method_run(generated) is None and not method_run_complete(generated)  # a generation record
    assert method_run_path(generated).name == "method_run.json"
    write_failure(folder, RuntimeError("it broke"), settings_key({"seed": 0}))
    assert json.loads(layout.failure("static", "synth__c0").read_text())["message"] == "it broke"
    (folder / "method_run.json").write_text("[]")
    with pytest.raises(InputError):
        read_method_run(folder)
