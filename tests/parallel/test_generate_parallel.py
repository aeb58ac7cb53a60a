"""``panoworld generate`` on 2 processes (what ``torchrun`` sets up, gloo on the CPU): sharded batches cover
every clip exactly once and resume; split clips equal the single-process clip; bad splits fail in one line."""

from __future__ import annotations

import json

import pytest

from panoworld.cli import main
from panoworld.io import read_video

from .cli_workers import TINY, batch_table, photo, sharded_batch, split_clip
from .spawn import run_on_processes

pytest.importorskip("panoworld.models.components")


def _wrote(lines: list[str]) -> set[str]:
    return {line.split("] ")[1].split(":")[0] for line in lines if ": wrote " in line}


def test_sharded_batch_runs_every_clip_once_writes_one_summary_and_resumes(tmp_path):
    table = batch_table(tmp_path, 4)
    out = tmp_path / "out"
    rows = table.read_text().splitlines()
    (tmp_path / "clip1.jsonl").write_text(rows[1] + "\n")  # an earlier run finished clip1 before a crash
    assert main(["generate", "--batch", str(tmp_path / "clip1.jsonl"), "--out", str(out), *TINY]) == 0
    first = run_on_processes(sharded_batch, 2, tmp_path)
    assert [r["code"] for r in first] == [0, 0]
    wrote = [_wrote(r["lines"]) for r in first]
    assert wrote == [{"clip0", "clip2"}, {"clip3"}]  # positions 0, 2 on rank 0, 1 and 3 on rank 1; clip1 was done
    summary = json.loads((out / "batch_summary.json").read_text())
    statuses = {item["item"]: item["status"] for item in summary["items"]}
    assert statuses == {"clip0": "done", "clip1": "already done", "clip2": "done", "clip3": "done"}
    again = run_on_processes(sharded_batch, 2, tmp_path)
    assert [_wrote(r["lines"]) for r in again] == [set(), set()]
    assert json.loads((out / "batch_summary.json").read_text())["counts"] == {"done": 0, "already_done": 4,
                                                                             "failed": 0}


@pytest.mark.parametrize("split, options", [  # ring: tests/parallel/workers.py
    (["--context-parallel", "ulysses"], ["--chained"]),  # Round 2: frame-0 conditioning, re-encoded reference
    (["--cfg-parallel"], ["--rounds", "2"]),  # an extension round
])
def test_a_clip_split_over_processes_equals_the_single_process_clip(tmp_path, split, options):
    assert main(["generate", str(photo(tmp_path)), "-p", "a desk", "--out", str(tmp_path / "one"), *TINY,
                 *options]) == 0
    (tmp_path / "options.json").write_text(json.dumps(split + options))
    results = run_on_processes(split_clip, 2, tmp_path)
    assert [r["code"] for r in results] == [0, 0]
    assert _wrote(results[0]["lines"]) == {"split"} and _wrote(results[1]["lines"]) == set()  # rank 0 writes
    video, single = read_video(tmp_path / "split" / "pano.mp4"), read_video(tmp_path / "one" / "pano.mp4")
    assert video.shape == single.shape
    assert (video - single).abs().max() <= 2 / 255  # the same frames up to a rounding step of the 8-bit video
    record = json.loads((tmp_path / "split" / "run.json").read_text())
    assert record["run_info"]["parallel"]["processes"] == 2


@pytest.mark.parametrize("options, message", [
    (["--context-parallel", "ulysses"], "need several processes: launch with torchrun"),
    (["--cfg-parallel", "--offload", "model"], "drop --offload"),
    (["--context-parallel", "ring", "--fast", "cache"], "drop cache from --fast"),
    (["--context-parallel", "spiral"], "must be one of ulysses, ring"),
])
def test_unsupported_splits_fail_in_one_line(tmp_path, capsys, options, message):
    assert main(["generate", str(photo(tmp_path)), "-p", "x", "--out", str(tmp_path / "o"), *TINY, *options]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "o").exists()
