"""The CLI's edges: --version, the lazy command registry, the error boundary, temp files of killed runs, and the
one re-run rule of every batch job (``panoworld.formats.job_record``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from panoworld.cli import COMMANDS, load_command, main
from panoworld.errors import StaleItemsError
from panoworld.formats.job_record import Item, plan_items, settings_key, write_record
from panoworld.io import write_image, write_video
from tests.conftest import textured_erp


def test_version(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"panoworld {version('panoworld')}"


def test_registry_lists_without_importing_and_every_entry_loads(capsys):
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    for name, (_, short) in COMMANDS.items():
        assert name in listing and short in listing
        assert load_command(name).name == name


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    import panoworld.commands.weights as weights

    def boom() -> None:
        raise TypeError("a bug")

    monkeypatch.setattr(weights, "weights", boom)
    assert main(["weights"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unexpected TypeError: a bug") and "\n" not in err
    monkeypatch.setenv("PANOWORLD_DEBUG", "1")
    with pytest.raises(TypeError):
        main(["weights"])


def test_killed_runs_leave_no_temporary_files(tmp_path):
    """A write killed mid-way leaves ``.<name>.<pid>.<random>.tmp.mp4``; the next run of the job removes it."""
    src = write_video(tmp_path / "erp.mp4", textured_erp(16, 32).float()[None].repeat(4, 1, 1, 1), 8)
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".rotated.{int(dead.stdout)}.k1ll3d.tmp.mp4"
    stale.write_bytes(b"half a video")
    alive = out / f".rotated.{1}.init.tmp.mp4"  # pid 1 runs: a live writer's file is kept
    alive.write_bytes(b"in flight")
    assert main(["project", "rotate", str(src), str(out / "rotated.mp4"), "--yaw", "10"]) == 0
    assert not stale.exists() and alive.exists() and (out / "rotated.mp4").is_file()


def test_settings_keyed_rule(tmp_path):
    items = [Item(n, tmp_path / f"{n}.json", settings_key({"frames": 9}), inputs=settings_key({"v": 1}))
             for n in ("a", "b", "c")]
    write_record(items[0].record, {"done": True}, items[0].key, items[0].inputs)
    write_record(items[1].record, {"done": True}, items[1].key, settings_key({"v": 0}))  # its input changed since
    plan = plan_items(items)
    assert [i.name for i in plan.done] == ["a"] and [i.name for i in plan.todo] == ["b", "c"]
    assert [i.name for i in plan.changed] == ["b"] and "1 whose inputs changed" in plan.summary()
    other = [Item(i.name, i.record, settings_key({"frames": 33}), inputs=i.inputs) for i in items]
    with pytest.raises(StaleItemsError, match="2 finished item.*--force"):
        plan_items(other)
    assert len(plan_items(other, force=True).todo) == 3
    assert settings_key({"b": 1, "a": [1.0, "x"]}) == settings_key({"a": [1.0, "x"], "b": 1})
    with pytest.raises(ValueError):
        settings_key({"fps": float("nan")})


def test_generate_writes_nothing_for_an_unwritable_output(tmp_path, capsys):
    photo = write_image(tmp_path / "p.png", torch.rand(3, 8, 8))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["generate", str(photo), "-p", "x", "--tiny-random", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--out" in err and "is a file" in err and "\n" not in err
    assert json.loads(json.dumps(sorted(p.name for p in tmp_path.iterdir()))) == ["file", "p.png"]
