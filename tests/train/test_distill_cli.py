"""Distillation configs (``extends``, presets, validation) and ``panoworld train distill`` through the real CLI."""

from __future__ import annotations

import json

import pytest
import torch

from panoworld.cli import main as run_cli
from panoworld.errors import InputError
from panoworld.train.config import config_to_dict, list_presets
from panoworld.train.distill_config import DFD_TIMESTEPS, load_any_config, load_distill_config
from panoworld.train.trainer import Trainer

from .test_cli import _toml_file


def test_presets_inherit_the_teacher_recipe():
    assert {"distill-small", "distill-2b"} <= set(list_presets())
    small = load_distill_config("distill-small")
    teacher = load_any_config("tiny-synth")
    assert small.model.init == "runs/tiny-synth" and small.model.transformer == {}
    assert small.data == teacher.data and small.components == teacher.components  # reads the teacher's cache
    assert small.distill.timesteps == DFD_TIMESTEPS and small.distill.critic_updates == 4
    assert small.samples.cfg_dropout == 0.0 and small.model.export_dtype == "bfloat16"
    big = load_distill_config("distill-2b")
    assert big.lora.enabled and big.model.gradient_checkpointing and big.data.cache_dir == "cache/lora-2b"
    assert not hasattr(teacher, "distill")


def test_bad_distillation_settings_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="needs a teacher"):
        load_distill_config("distill-small", ["model.init=scratch"])
    with pytest.raises(InputError, match="strictly descending"):
        load_distill_config("distill-small", ["distill.timesteps=[0.5, 0.8]"])
    with pytest.raises(InputError, match="regression_pairs"):
        load_distill_config("distill-small", ["distill.regression_steps=10"])
    (tmp_path / "loop.toml").write_text('extends = "distill-small"\n')
    with pytest.raises(InputError, match="itself a distillation config"):
        load_distill_config(str(tmp_path / "loop.toml"))


@pytest.fixture(scope="module")
def files(tiny_cache, tmp_path_factory):
    """(training TOML, distillation TOML extending it, run folder) with a one-step tiny teacher."""
    make_config, _ = tiny_cache
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("cli")
    train = root / "tiny.toml"
    train.write_text(_toml_file(config_to_dict(make_config(root / "teacher", run={"max_steps": 1}))))
    Trainer(load_any_config(str(train))).run()
    student = root / "student.toml"
    student.write_text(f'extends = "{train}"\n\n[run]\nout_dir = "{root / "student"}"\nmax_steps = 50\n\n'
                       f'[model]\ninit = "{root / "teacher"}"\n\n[samples]\ncfg_dropout = 0.0\n\n'
                       '[distill]\ntimesteps = [0.9, 0.5]\ncritic_updates = 2\nteacher_steps = 2\n')
    return train, student, root


def test_distill_command_runs_stops_on_its_budget_and_refuses_mixed_configs(files, capsys):
    train, student, root = files
    assert run_cli(["train", "distill", "--config", str(student), "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["distill"]["timesteps"] == [0.9, 0.5] and printed["model"]["transformer"] == {}
    assert run_cli(["train", "cache", "--config", str(student), "--device", "cpu"]) == 0  # the teacher's cache
    assert "cache ready" in capsys.readouterr().err
    assert run_cli(["train", "distill", "--config", str(student), "--max-minutes", "0.00001"]) == 0
    record = json.loads((root / "student" / "training_run.json").read_text())
    assert record["step"] == 1 and record["status"].startswith("stopped: run.max_minutes")
    index = json.loads((root / "student" / "checkpoints" / "step_0000001" / "model_index.json").read_text())
    assert index["sampler"] == {"kind": "few-step", "num_steps": 2, "guidance": 0.0, "timesteps": [0.9, 0.5]}
    assert "checkpoint -> " in capsys.readouterr().err
    for argv, message in ((["train", "--config", str(student)], "is a distillation config; run `panoworld train "
                           "distill"), (["train", "distill", "--config", str(train)], "is a training config"),
                          (["train", "distill", "--config", str(student), "--set", "model.init=scratch"],
                           "needs a teacher")):
        assert run_cli(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "\n" not in err and message in err
