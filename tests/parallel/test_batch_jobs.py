"""Batch jobs other than generate under 2 processes: ``eval infer`` / ``eval run`` share their items out, write one
summary / one results CSV."""

from __future__ import annotations

import json
import re

from panoworld.formats.job_record import Item, plan_items

from panoworld.cli import main

from .cli_workers import eval_infer, eval_run
from .spawn import run_on_processes


def test_plan_items_gives_every_item_to_exactly_one_process_whatever_is_finished(tmp_path):
    items = [Item(f"item{i}", tmp_path / f"item{i}.json", "key") for i in range(7)]
    (tmp_path / "item3.json").write_text(json.dumps({"settings_key": "key"}))  # finished by an earlier run
    plans = [plan_items(items, shard=(rank, 3)) for rank in range(3)]
    todo = [item.name for plan in plans for item in plan.todo]
    assert sorted(todo) == sorted(f"item{i}" for i in range(7) if i != 3)
    assert [item.name for item in plans[0].done] == ["item3"]
    assert all(len(plan.todo) + len(plan.done) + len(plan.elsewhere) == 7 for plan in plans)
    assert "for other processes" in plans[1].summary()


def test_eval_infer_and_run_on_two_processes_cover_every_item_once(tmp_path, capsys):
    from panoworld.synth import write_split

    from tests.eval.conftest import SPLIT

    write_split(tmp_path / "split", **{**SPLIT, "clips": 1})
    results = run_on_processes(eval_infer, 2, tmp_path)
    assert [r["code"] for r in results] == [0, 0]
    runs = [int(re.search(r"(\d+) clip\(s\) to run", " ".join(r["lines"])).group(1)) for r in results]
    summary = json.loads((tmp_path / "res" / "infer_summary.json").read_text())
    total = len(summary["items"])
    assert total == 2 and runs == [1, 1]  # 2 methods x 1 clip: one item each, not duplicated
    assert summary["counts"] == {"done": total, "already_done": 0, "failed": 0}
    assert {item["status"] for item in summary["items"]} == {"done"}
    again = run_on_processes(eval_infer, 2, tmp_path)
    assert json.loads((tmp_path / "res" / "infer_summary.json").read_text())["counts"]["already_done"] == total
    assert [r["code"] for r in again] == [0, 0]
    scored = run_on_processes(eval_run, 2, tmp_path)
    assert [r["code"] for r in scored] == [0, 0]
    assert any("rows in" in line for line in scored[0]["lines"])  # rank 0 assembled the results CSV
    assert not any("rows in" in line for line in scored[1]["lines"])
    capsys.readouterr()
    from tests.eval.conftest import NO_NETS

    assert main(["eval", "run", "--master", str(tmp_path / "split" / "master.csv"), "--results", str(tmp_path / "res"),
                 "--methods", "static,oracle", "--frames", "9", *NO_NETS]) == 0
    assert f"scored 0 (annotated 0), already scored {total}" in capsys.readouterr().err  # every item was scored once


def test_annotate_on_two_processes_gives_each_clip_to_one_process(tmp_path):
    import torch

    from panoworld.io import write_video
    from tests.conftest import textured_erp

    from .cli_workers import annotate

    (tmp_path / "videos").mkdir()
    base = textured_erp(32, 64, dtype=torch.float32)
    for k, name in enumerate(["a", "b"]):
        frames = torch.stack([torch.roll(base, shifts=2 * (i + k), dims=-1) for i in range(8)])
        write_video(tmp_path / "videos" / f"{name}.mp4", frames, fps=8)
    (tmp_path / "options.json").write_text(json.dumps(["--shard", "1/2"]))
    refused = run_on_processes(annotate, 2, tmp_path)
    assert [r["code"] for r in refused] == [2, 2]
    assert all("--shard and torchrun" in r["lines"][-1] for r in refused)
    (tmp_path / "options.json").write_text("[]")
    results = run_on_processes(annotate, 2, tmp_path)
    assert [r["code"] for r in results] == [0, 0]
    assert [r["lines"][-1] for r in results] == ["annotate: shard 0/2: 1 annotated, 0 already done",
                                                 "annotate: shard 1/2: 1 annotated, 0 already done"]
    assert (tmp_path / "ann" / "a" / "meta.json").is_file() and (tmp_path / "ann" / "b" / "meta.json").is_file()
