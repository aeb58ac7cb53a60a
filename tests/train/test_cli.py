"""``panoworld train`` and ``panoworld train cache`` through the real CLI error boundary."""

from __future__ import annotations

from panoworld.cli import main as run_cli


def test_help_and_one_line_errors(capsys, tmp_path):
    assert run_cli(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--config" in out and "--set" in out and "cache" in out
    assert run_cli(["train", "--config", "tiny-synth", "--set", f"data.cache_dir={tmp_path / 'none'}",
                    "--set", f"run.out_dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no training cache at") and "\n" not in err
    assert run_cli(["train", "--config", "tiny-synth", "--set", "optim.lr=fast"]) == 2
    assert "optim.lr: must be a float" in capsys.readouterr().err
    assert run_cli(["train", "cache", "--config", "tiny-synth", "--set", f"data.train=[{{path='{tmp_path}'}}]"]) == 2
    assert "neither a test set" in capsys.readouterr().err
    assert run_cli(["train", "--config", "tiny-synth", "--print-config"]) == 0
    assert '"num_layers": 8' in capsys.readouterr().out


def test_cache_then_train_from_the_command_line(tiny_cache, tmp_path, capsys):
    from panoworld.train.config import config_to_dict

    make_config, _ = tiny_cache
    path = tmp_path / "tiny.toml"
    path.write_text(_toml_file(config_to_dict(make_config(tmp_path / "run", run={"max_steps": 1}))))
    assert run_cli(["train", "cache", "--config", str(path), "--device", "cpu"]) == 0
    assert "cache ready: 2 training and 1 validation clips" in capsys.readouterr().err
    assert run_cli(["train", "--config", str(path), "--set", "run.max_steps=2"]) == 0
    assert (tmp_path / "run" / "checkpoints" / "step_0000002" / "model_index.json").is_file()


def test_cache_in_shares_then_the_manifest(tiny_cache, tmp_path, capsys):
    """`--shard i/n` caches one share and writes no manifest; the call without it finds every clip done."""
    from panoworld.train.cache import MANIFEST
    from panoworld.train.config import config_to_dict

    make_config, _ = tiny_cache
    cache = tmp_path / "cache"
    path = tmp_path / "tiny.toml"
    path.write_text(_toml_file(config_to_dict(make_config(tmp_path / "run", data={"cache_dir": str(cache)}))))
    assert run_cli(["train", "cache", "--config", str(path), "--device", "cpu", "--shard", "0/2"]) == 0
    err = capsys.readouterr().err
    assert "2 clip(s) to run, 0 already done, 1 for other processes" in err and "share 0/2 done" in err
    assert not (cache / MANIFEST).exists()
    assert run_cli(["train", "cache", "--config", str(path), "--device", "cpu", "--shard", "1/2"]) == 0
    assert "1 clip(s) to run, 0 already done, 2 for other processes" in capsys.readouterr().err
    assert run_cli(["train", "cache", "--config", str(path), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "0 clip(s) to run, 3 already done" in err and "cache ready: 2 training and 1 validation clips" in err
    assert (cache / MANIFEST).is_file()
    assert run_cli(["train", "cache", "--config", str(path), "--shard", "2/2"]) == 2
    assert capsys.readouterr().err.strip() == "error: --shard i/n needs 0 <= i < n, got '2/2'"


def _toml_file(raw: dict) -> str:
    lines = []
    for section, values in raw.items():
        if isinstance(values, dict):
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml(value)}" for key, value in values.items() if value is not None]
    return "\n".join(lines) + "\n"


def _toml(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items() if v is not None) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)
