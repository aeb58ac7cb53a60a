"""``scripts/train_small_model.py``'s packing: the ablation's variants at an equal number of steps."""

from __future__ import annotations

import importlib.util
import json
import tarfile
from pathlib import Path

from panoworld.formats.training import TRAINING_STATE, step_folder

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_small_model.py"


def _script():
    spec = importlib.util.spec_from_file_location("train_small_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checkpoint(run: Path, step: int, *, complete: bool = True) -> Path:
    folder = step_folder(run, step)
    if not complete:
        folder = folder.with_name(folder.name + ".tmp")
    (folder / TRAINING_STATE).mkdir(parents=True)
    (folder / "transformer").mkdir()
    (folder / "transformer" / "marker.txt").write_text(str(step))
    if complete:
        (folder / TRAINING_STATE / "state.json").write_text(json.dumps({"step": step}))
    return folder


def test_equal_steps_picks_the_largest_step_every_variant_reached(tmp_path):
    script = _script()
    for step in (100, 200, 300, 400):
        _checkpoint(tmp_path / "runs" / "nogeo", step)
    for step in (100, 200):
        _checkpoint(tmp_path / "runs" / "main", step)
    _checkpoint(tmp_path / "runs" / "main", 300, complete=False)
    chosen = script.equal_step_checkpoints(tmp_path, ["main", "nogeo"])
    assert {name: path.name for name, path in chosen.items()} == {"main": "step_0000200", "nogeo": "step_0000200"}
    assert script.equal_step_checkpoints(tmp_path, ["main", "missing"]) == {}


def test_pack_with_equal_steps_writes_those_checkpoints(tmp_path, monkeypatch):
    script = _script()
    for step in (100, 200, 300):
        _checkpoint(tmp_path / "runs" / "nogeo", step)
    for step in (100, 200):
        _checkpoint(tmp_path / "runs" / "main", step)
    monkeypatch.setattr("panoworld.formats.model_folder.read_model_index", lambda path: _Index())
    script.pack(tmp_path, ["main", "nogeo"], tmp_path / "packed", equal_steps=True)
    for name in ("main", "nogeo"):
        with tarfile.open(tmp_path / "packed" / f"{name}.tar") as tar:
            assert tar.extractfile(f"{name}/transformer/marker.txt").read() == b"200"


class _Index:
    provenance: dict = {}

    def to_json(self) -> dict:
        return {"provenance": self.provenance}


def test_variant_set_reaches_only_its_variant_and_rejects_strangers():
    import pytest

    script = _script()
    got = script.per_variant_overrides(["periodic:model.init=/m", "nogeo:run.max_steps=800",
                                        "periodic:optim.lr=2e-4"], ["periodic", "nogeo", "main"])
    assert got == {"periodic": ["model.init=/m", "optim.lr=2e-4"], "nogeo": ["run.max_steps=800"]}
    with pytest.raises(SystemExit, match="not among"):
        script.per_variant_overrides(["linear:optim.lr=1"], ["main"])
    with pytest.raises(SystemExit, match="VARIANT:KEY=VALUE"):
        script.per_variant_overrides(["main"], ["main"])
