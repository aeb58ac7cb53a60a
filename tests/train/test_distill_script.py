"""The small-student recipe end to end at tiny size on the CPU: ``scripts/distill_small.sh`` after a teacher made by
the teacher's recipe (synth, cache, train), then ``bench/distill_compare.py`` on a held-out split."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from panoworld.cli import main as run_cli
from panoworld.train.checkpoint import find_latest
from panoworld.train.config import config_to_dict, config_from_dict

from .conftest import tiny_raw
from .test_cli import _toml_file

REPO = Path(__file__).resolve().parents[2]
SYNTH = ["--frames", "9", "--size", "32x64", "--ann-frames", "0", "--grid", "6"]


@pytest.mark.skipif(sys.platform == "win32", reason="bash script")
def test_recipe_script_then_comparison(tiny_components, tmp_path, capsys):
    data = tmp_path / "data"
    for split, seed, clips in (("train", 1000000, 2), ("val", 2000000, 1)):
        assert run_cli(["synth", "--out", str(data / f"synth-{split}"), "--clips", str(clips), "--seed", str(seed),
                        "--split-name", f"synth{split}", *SYNTH]) == 0
    raw = tiny_raw(tiny_components, {"train": str(data / "synth-train"), "val": str(data / "synth-val")},
                   tmp_path / "cache", tmp_path / "teacher", run={"max_steps": 1})
    raw["validation"]["num_steps"] = 1
    teacher_toml = tmp_path / "teacher.toml"
    teacher_toml.write_text(_toml_file(config_to_dict(config_from_dict(raw))))
    assert run_cli(["train", "cache", "--config", str(teacher_toml), "--device", "cpu"]) == 0
    assert run_cli(["train", "--config", str(teacher_toml)]) == 0
    distill_toml = tmp_path / "distill.toml"
    distill_toml.write_text(f'extends = "{teacher_toml}"\n\n[run]\nmax_steps = 2\ncheckpoint_every = 1\n\n'
                            '[model]\nexport_dtype = "bfloat16"\n\n[samples]\ncfg_dropout = 0.0\n\n'
                            '[distill]\ntimesteps = [0.9, 0.5]\ncritic_updates = 2\n')
    capsys.readouterr()
    env = {**os.environ, "PYTHON": sys.executable, "CONFIG": str(distill_toml),
           "OUT": str(tmp_path / "student_run"), "DATA": str(data),
           "SIZE": "32x64", "FRAMES": "9", "GRID": "6", "TRAIN_CLIPS": "2", "VAL_CLIPS": "1", "DEVICE": "cpu",
           "MINUTES": "5", "CACHE_WORKERS": "2", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "PANOWORLD_WEIGHTS": str(tmp_path / "w")}
    script = ["bash", str(REPO / "scripts" / "distill_small.sh")]
    done = subprocess.run(script, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2 and "usage: " in done.stderr  # the teacher and the export folder are arguments
    teacher_folder = find_latest(tmp_path / "teacher")  # a model folder: its own components encode the cache
    done = subprocess.run([*script, str(teacher_folder), str(tmp_path / "student")], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    exported = json.loads(done.stdout.strip().splitlines()[-1])
    assert exported["sampler"] == "few-step" and exported["steps"] == 2 and exported["transformer_mb"] < 16
    assert exported["largest_file_mb"] < 16
    student = tmp_path / "student"
    assert not (student / "training_state").exists()
    assert json.loads((student / "model_index.json").read_text())["provenance"]["step"] == 2
    assert "0 to do" in done.stderr or "already" in done.stderr  # data kept from the teacher's recipe
    shares = [(data / f"cache-{i}.log").read_text() for i in range(2)]  # CACHE_WORKERS=2: two shares, then the join
    assert all("share" in log and "done" in log for log in shares), shares
    run = json.loads((tmp_path / "student_run" / "training_run.json").read_text())
    assert run["config"]["components"]["vae"] == str(teacher_folder / "vae")

    done = subprocess.run([sys.executable, str(REPO / "bench" / "distill_compare.py"), "--teacher",
                           str(tmp_path / "teacher"), "--student", str(student), "--master",
                           str(data / "synth-val" / "master.csv"), "--out", str(tmp_path / "cmp"), "--threads", "1"],
                          env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())["summary"]
    assert set(summary["cost/seconds_median"]) == {"teacher", "student"}
    assert any(m.startswith("seam/") for m in summary) and any(m.startswith("depth/") for m in summary)
    assert (tmp_path / "cmp" / "report" / "report.md").is_file() and "| metric | teacher | student |" in done.stdout
