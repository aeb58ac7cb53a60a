"""`panoworld eval infer / run / report` end to end on the tiny synthetic split."""

from __future__ import annotations

import csv
import json
import sys

import pytest

from panoworld.cli import main
from panoworld.eval.report import FAMILIES

NO_NETS = ["--lpips", "none", "--clip", "none", "--inception", "none", "--video-model", "none",
           "--autoencoder", "none"]


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_split):
    res = tmp_path_factory.mktemp("res")
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res),
                 "--methods", "oracle,static,fov-only"]) == 0
    assert main(["eval", "run", "--master", str(tiny_split), "--results", str(res), "--methods",
                 "oracle,static,fov-only", "--frames", "12", *NO_NETS]) == 0
    return res


def test_report_ranks_oracle_first_and_static_last(evaluated, tmp_path):
    out = tmp_path / "report"
    long_csv = evaluated / "results_long.csv"
    methods = "oracle,fov-only,static"
    assert main(["eval", "report", "--in", str(long_csv), "--out", str(out), "--methods", methods]) == 0
    for name in ("summary_overall.csv", "summary_by_split.csv", "summary_by_scene.csv", "summary_by_motion.csv",
                 "ranking.csv", "report.md", "report.tex"):
        assert (out / name).is_file(), name
    assert list((out / "charts").glob("*.png"))
    ranks = {}
    for r in _rows(out / "ranking.csv"):
        ranks.setdefault(r["family"], {})[r["method"]] = float(r["mean_rank"])
    families = [f for f in FAMILIES if f in ranks]
    assert {"visual", "panorama", "depth", "tracks", "camera", "consistency"} <= set(families)
    for fam in families:
        per = ranks[fam]
        assert min(per, key=per.get) == "oracle", fam
        assert per["oracle"] < per["static"], fam
        if "fov-only" not in per:
            assert max(per, key=per.get) == "static", fam
    md = (out / "report.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("| oracle |")]
    assert table and all(line.count("|") >= 3 for line in table)
    assert "| method | psnr/erp ↑" in md and "±" in md and "cost/seconds ↓" in md
    by_scene = {r["group"] for r in _rows(out / "summary_by_scene.csv")}
    assert by_scene == {"indoor", "outdoor"}
    two = tmp_path / "two"
    assert main(["eval", "report", "--in", str(long_csv), "--out", str(two), "--methods", "oracle,static",
                 "--no-charts"]) == 0
    for r in _rows(two / "ranking.csv"):  # oracle first and static last on every family
        assert float(r["mean_rank"]) < 1.5 if r["method"] == "oracle" else float(r["mean_rank"]) > 1.5, r
    assert not (two / "charts").exists()


def test_run_is_idempotent_resumable_and_shardable(evaluated, tiny_split):
    args = ["eval", "run", "--master", str(tiny_split), "--results", str(evaluated), "--methods", "oracle,static",
            "--frames", "12", *NO_NETS]
    first = _rows(evaluated / "results_long.csv")
    assert main(args) == 0  # nothing to do: every clip is scored
    second = _rows(evaluated / "results_long.csv")
    key = [(r["method"], r["clip_id"], r["metric"]) for r in second]
    assert len(key) == len(set(key))
    assert len(second) == len([r for r in first if r["method"] in ("oracle", "static")])
    victim = evaluated / "_scores" / "static" / "synth__clip0001.csv"
    victim.unlink()
    assert main([*args, "--shard", "1/2"]) == 0  # shard 1 holds clips 1 and 3
    assert victim.is_file()
    assert main([*args, "--force"]) == 0
    third = _rows(evaluated / "results_long.csv")
    assert sorted(key) == sorted((r["method"], r["clip_id"], r["metric"]) for r in third)


def test_external_command_template(tmp_path, tiny_split):
    script = tmp_path / "fake_baseline.py"
    script.write_text("import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n")
    cfg = tmp_path / "runners.json"
    cfg.write_text(json.dumps({"argus": {"command": "{python} {script} {input_video} {output}",
                                         "python": sys.executable, "script": str(script)}}))
    res = tmp_path / "res"
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods", "argus",
                 "--runner-config", str(cfg), "--shard", "0/4"]) == 0
    run = json.loads(next(res.glob("argus/*/method_run.json")).read_text())
    assert run["native_fps"] == 8.0 and run["num_frames"] == 25 and run["size"] == [480, 640]
    failing = {"command": "{python} -c \"import sys; sys.exit(3)\"", "python": sys.executable}
    cfg.write_text(json.dumps({"argus": failing}))
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods", "argus",
                 "--runner-config", str(cfg), "--shard", "1/4"]) == 2  # failure recorded, batch continues
    assert "exit 3" in next(res.glob("argus/*/error.txt")).read_text()


def test_user_errors_are_one_line(tmp_path, tiny_split, capsys):
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(tmp_path), "--methods", "argus"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "command template" in err and "\n" not in err
    assert main(["eval", "run", "--master", str(tmp_path / "none.csv"), "--results", str(tmp_path),
                 "--methods", "oracle", *NO_NETS]) == 2
    assert main(["eval", "run", "--master", str(tiny_split), "--results", str(tmp_path), "--methods", "oracle",
                 "--lpips", str(tmp_path / "missing")]) == 2
    assert "LPIPS weights not found" in capsys.readouterr().err
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(tmp_path), "--methods", "nope"]) == 2


def test_panoworld_runner_calls_the_pipeline(tmp_path, tiny_split):
    pytest.importorskip("panoworld.pipelines")
    import torch

    from panoworld.eval.runners import RunRequest, get_method, run_method
    from panoworld.eval.runners import panoworld as runner
    from panoworld.formats.testset import read_master

    calls = []

    class FakePipeline:
        def __call__(self, image, prompt, config=None):
            calls.append((tuple(image.shape), prompt, config.seed))
            return type("R", (), {"video": torch.rand(5, 3, 32, 64)})()

    runner.PIPELINE_FACTORY = lambda config, device: FakePipeline()
    try:
        spec = get_method("panoworld")
        clip = read_master(tiny_split)[0]
        rec = run_method(spec, RunRequest(clip=clip, out_dir=tmp_path / "o", work_dir=tmp_path / "w", spec=spec,
                                          seed=3))
    finally:
        runner.PIPELINE_FACTORY = None
    assert calls == [((3, 480, 640), clip.caption_for("medium"), 3)]
    assert rec["num_frames"] == 5 and rec["native_fps"] == 16.0
