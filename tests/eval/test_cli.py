"""`panoworld eval infer / run / report` end to end on the tiny synthetic split."""

from __future__ import annotations

import json
import sys

import pytest

from panoworld.cli import main
from panoworld.eval.report import FAMILIES

from .conftest import NO_NETS
from .conftest import csv_rows as _rows


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_split):
    res = tmp_path_factory.mktemp("res")
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res),
                 "--methods", "oracle,static,fov-only"]) == 0
    assert main(["eval", "run", "--master", str(tiny_split), "--results", str(res), "--methods",
                 "oracle,static,fov-only", "--frames", "9", *NO_NETS]) == 0
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
            "--frames", "9", *NO_NETS]
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
    record = next(res.glob("argus/*/method_run.json"))
    run = json.loads(record.read_text())
    assert run["native_fps"] == 8.0 and run["num_frames"] == 25 and run["size"] == [480, 640]
    legacy = {k: v for k, v in run.items() if k not in ("format", "version", "settings_key", "inputs_key")}
    (record.parent / "run.json").write_text(json.dumps(legacy))  # a folder of an earlier version: no keys
    record.unlink()
    args = ["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods", "argus",
            "--runner-config", str(cfg), "--shard", "0/4"]
    assert main(args) == 2  # made with unknown settings: named, not silently redone
    assert main([*args, "--force"]) == 0 and record.is_file() and not (record.parent / "run.json").exists()
    failing = {"command": "{python} -c \"import sys; sys.exit(3)\"", "python": sys.executable}
    cfg.write_text(json.dumps({"argus": failing}))
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods", "argus",
                 "--runner-config", str(cfg), "--shard", "1/4"]) == 1  # failure recorded, batch continues
    assert "exit 3" in json.loads(next(res.glob("argus/*/failed.json")).read_text())["message"]
    assert not (res / "_work").exists()  # no empty work folders left behind
    summary = json.loads((res / "infer_summary.json").read_text())
    assert [i["status"] for i in summary["items"]] == ["failed"]


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


def test_eval_infer_runs_panoworld_in_process(tmp_path, tiny_split, monkeypatch, capsys):
    """The seed's step 2 end to end: a tiny model folder saved with save_pretrained, loaded through the public
    path (``PanoWorldPipeline.from_pretrained``), both prompts passed, settings-keyed re-runs, no empty folders."""
    from panoworld.formats.testset import read_master
    from panoworld.pipelines import PanoWorldPipeline
    from tests.tiny_models import write_tiny_model_folder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = write_tiny_model_folder(tmp_path / "model")
    cfg = tmp_path / "runners.toml"
    cfg.write_text(f'[panoworld]\nweights = "{model}"\n')
    seen, real_call = [], PanoWorldPipeline.__call__

    def spy(self, image, prompt, pano_prompt=None, config=None, **kwargs):
        seen.append((tuple(image.shape), prompt, pano_prompt, config.num_steps))
        return real_call(self, image, prompt, pano_prompt, config, **kwargs)

    monkeypatch.setattr(PanoWorldPipeline, "__call__", spy)
    res = tmp_path / "res"
    args = ["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods", "panoworld",
            "--runner-config", str(cfg), "--shard", "0/4", "--seed", "2"]
    assert main(args) == 0
    clip = read_master(tiny_split)[0]
    assert seen == [((3, 480, 640), clip.caption_for("perspective"), clip.caption_for("medium"), 1)]
    run = json.loads((res / "panoworld" / clip.dirname / "method_run.json").read_text())
    assert run["num_frames"] == 5 and run["size"] == [32, 64] and run["seed"] == 2 and len(run["settings_key"]) == 64
    assert main(args) == 0 and len(seen) == 1  # finished: skipped
    capsys.readouterr()
    assert main([*args[:-1], "3"]) == 2  # another seed: the run stops and names --force
    err = capsys.readouterr().err.strip()
    assert "other settings" in err and "--force" in err and "\n" not in err
    cfg.write_text(f'[panoworld]\nweights = "{tmp_path / "missing"}"\n')
    fresh = tmp_path / "fresh"
    assert main([*args[:4], str(fresh), *args[5:]]) == 2  # checked before any work: no folders at all
    assert not fresh.exists()


def test_run_with_other_settings_stops_and_names_force(evaluated, tiny_split, capsys):
    args = ["eval", "run", "--master", str(tiny_split), "--results", str(evaluated), "--methods", "oracle",
            "--frames", "8", *NO_NETS]
    before = (evaluated / "results_long.csv").read_bytes()
    capsys.readouterr()
    assert main(args) == 2  # scored with --frames 9: refused, nothing rewritten
    err = capsys.readouterr().err.strip()
    assert "other settings" in err and "--force" in err and "\n" not in err
    assert (evaluated / "results_long.csv").read_bytes() == before


def test_run_skips_default_networks_that_are_not_installed(tmp_path, tiny_split, monkeypatch, capsys):
    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(tmp_path / "no-weights"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    res = tmp_path / "res"
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods", "static",
                 "--shard", "0/4"]) == 0
    capsys.readouterr()
    assert main(["eval", "run", "--master", str(tiny_split), "--results", str(res), "--methods", "static",
                 "--frames", "9"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "LPIPS" in warnings[0] and "--inception" in warnings[0]
    summary = json.loads((res / "eval_run.json").read_text())
    assert set(summary["skipped_backbones"]) == {"lpips", "clip", "inception", "video", "autoencoder"}
    assert any(r["metric"] == "psnr/erp" for r in _rows(res / "results_long.csv"))
    assert main(["eval", "report", "--in", str(res / "results_long.csv"), "--out", str(tmp_path / "rep"),
                 "--no-charts"]) == 0
    assert "Left out (networks not installed when scoring): LPIPS" in (tmp_path / "rep" / "report.md").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("method,value\nx,1\n")
    capsys.readouterr()
    assert main(["eval", "report", "--in", str(bad), "--out", str(tmp_path / "rep2")]) == 2
    err = capsys.readouterr().err.strip()
    assert "lacks the column(s)" in err and "\n" not in err


def test_infer_run_report_end_to_end_with_panoworld(tmp_path, tiny_split, small_random_model, monkeypatch, capsys):
    """The seed's evaluation on a synthetic split: PanoWorld (the small model's architecture with random weights,
    a model folder given to ``--model``) next to oracle / static / fov-only; the generated videos are annotated
    (tiny random annotators) for the geometry metrics; the long CSV has every clip x method x metric; the report
    has CIs, the ranking and a chart per family."""
    from panoworld.formats.model_folder import read_model_index

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert read_model_index(small_random_model).family == "panoworld-small-random"
    res, methods = tmp_path / "res", "panoworld,oracle,static,fov-only"
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods", methods,
                 "--model", str(small_random_model), "--shard", "0/2"]) == 0
    run = json.loads(next(res.glob("panoworld/*/method_run.json")).read_text())
    assert run["num_frames"] == 5 and run["size"] == [32, 64] and run["native_fps"] == 16.0
    assert len(list(res.glob("panoworld/*/depth"))) == 2  # the small transformer's depth head is written
    capsys.readouterr()
    assert main(["eval", "run", "--master", str(tiny_split), "--results", str(res), "--methods", methods,
                 "--frames", "5", "--tiny-random-annotators", *NO_NETS]) == 0
    assert "shorter than the evaluation clock" not in capsys.readouterr().err
    assert main(["eval", "report", "--in", str(res / "results_long.csv"), "--out", str(tmp_path / "report")]) == 0
    rows = [r for r in _rows(res / "results_long.csv") if r["clip_id"]]
    names: dict = {}
    for r in rows:
        names.setdefault((r["method"], r["clip_id"]), set()).add(r["metric"])
        assert r["value"] != "nan" or r["note"], r
    assert len(names) == 8 and len({frozenset(v) for v in names.values()}) == 1  # every clip x method x metric
    assert {"depth/abs_rel/raw@scale_shift", "tracks/aj", "camera/ate", "temporal/flicker_gap",
            "cost/seconds"} <= next(iter(names.values()))
    assert len(list(res.glob("panoworld/*/estimated/meta.json"))) == 2  # generated videos annotated
    assert not list(res.glob("oracle/*/estimated"))
    md = (tmp_path / "report" / "report.md").read_text()
    ranking = md.split("## Ranking")[1].split("\n\n")[1]
    table = [line.split("|")[1].strip() for line in ranking.splitlines() if line.startswith("| ")]
    assert table[1:] == ["panoworld", "oracle", "static", "fov-only"]  # PanoWorld first, then the bounds
    assert "±" in md
    charts = {p.stem for p in (tmp_path / "report" / "charts").glob("*.png")}
    assert {"visual", "panorama", "temporal", "depth", "tracks", "camera"} <= charts
    ranks = {}
    for r in _rows(tmp_path / "report" / "ranking.csv"):
        ranks.setdefault(r["family"], {})[r["method"]] = float(r["mean_rank"])
    assert all(min(per, key=per.get) == "oracle" for per in ranks.values())


def test_panoworld_defaults_to_the_packaged_small_model(tmp_path, small_random_model, monkeypatch):
    """Without --model and without full weights under $PANOWORLD_WEIGHTS, ``panoworld`` is evaluated with the
    small model folder shipped in the package (named in its settings); without that folder, loading names what is
    missing."""
    from panoworld.eval.runners import panoworld as runner
    from panoworld.pipelines import loading

    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(tmp_path / "no-weights"))
    monkeypatch.setattr(loading, "small_model_folder", lambda student=False: small_random_model)
    assert runner.with_default_model({}) == {"weights": str(small_random_model)}
    assert runner.with_default_model({"weights": "elsewhere"}) == {"weights": "elsewhere"}
    runner.check_panoworld_config(runner.with_default_model({}))
    monkeypatch.setattr(loading, "small_model_folder", lambda student=False: tmp_path / "absent")
    assert runner.default_model() is None


def test_a_clock_longer_than_a_video_warns_and_names_frames(tmp_path, tiny_split, capsys):
    res = tmp_path / "res"
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods", "static",
                 "--shard", "0/4"]) == 0
    capsys.readouterr()
    assert main(["eval", "run", "--master", str(tiny_split), "--results", str(res), "--methods", "static",
                 "--frames", "12", "--annotate", "none", *NO_NETS]) == 0
    out = capsys.readouterr()
    warning = [line for line in (out.out + out.err).splitlines() if "shorter than the evaluation clock" in line]
    assert len(warning) == 1 and "--frames 9" in warning[0] and warning[0].startswith("warning:")
    assert json.loads((res / "eval_run.json").read_text())["padded_videos"]
