"""``eval run`` annotates the videos of methods without annotations (tiny random annotators: shapes, caching and
re-run rules are real, the geometry is meaningless), or writes NaN geometry with the reason when it cannot."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from panoworld.cli import main
from panoworld.eval.align import AlignConfig
from panoworld.eval.estimate import EstimateSettings
from panoworld.eval.evaluate import evaluate
from panoworld.eval.score import ScoreConfig
from panoworld.formats.annotations import read_annotations
from panoworld.formats.testset import read_master
from panoworld.io import read_video, write_video

from .conftest import NO_NETS as NO_NET_FLAGS
from .conftest import csv_rows as _rows

NO_NETS = {name: "none" for name in ("lpips", "clip", "inception", "video", "autoencoder")}
CFG = ScoreConfig(align=AlignConfig(n_frames=9, fps=16.0), min_bucket=2)


@pytest.fixture(scope="module")
def inferred(tmp_path_factory, tiny_split):
    res = tmp_path_factory.mktemp("estimate")
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods",
                 "oracle,fov-only", "--shard", "1/4"]) == 0
    return res


def _evaluate(res, tiny_split, *, mode="missing", force=False):
    clips = read_master(tiny_split)[1:2]
    return evaluate(res, ["oracle", "fov-only"], clips, clips, CFG, sources=NO_NETS, caption_style="medium",
                    out=res / "results_long.csv", force=force, distributional=False,
                    estimate=EstimateSettings(mode=mode, tiny_random=True), say=lambda _: None)


def test_methods_without_annotations_are_annotated_and_cached(inferred, tiny_split):
    stats = _evaluate(inferred, tiny_split)
    assert stats["scored"] == 2 and stats["annotated"] == 1  # fov-only only: the oracle brings the GT's
    clip = read_master(tiny_split)[1]
    folder = inferred / "fov-only" / clip.dirname / "estimated"
    assert not (inferred / "oracle" / clip.dirname / "estimated").exists()
    gt = read_annotations(clip.annotation_dir, video_fps=clip.fps)
    est = read_annotations(folder, video_fps=clip.fps)
    assert est.tracks_2d.shape[0] == gt.tracks_2d.shape[0]  # queried at the GT's points: track metrics apply
    np.testing.assert_allclose(est.times, gt.times[gt.times <= (9 - 0.5) / 16], atol=1e-9)  # paired in time
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["tiny_random"] is True and len(meta["settings_key"]) == 64 and len(meta["inputs_key"]) == 64
    rows = {r["metric"]: r for r in _rows(inferred / "results_long.csv") if r["method"] == "fov-only"}
    for name in ("depth/abs_rel/raw", "depth/abs_rel/raw@scale_shift", "tracks/aj", "tracks/oa", "camera/rpe_rot"):
        assert math.isfinite(float(rows[name]["value"])), name
    assert all(math.isfinite(float(r["value"])) or r["note"] for r in rows.values())
    before = (folder / "meta.json").stat().st_mtime_ns
    assert _evaluate(inferred, tiny_split, force=True)["annotated"] == 0  # re-scored, the annotation reused
    assert (folder / "meta.json").stat().st_mtime_ns == before
    video = inferred / "fov-only" / clip.dirname / "video.mp4"
    write_video(video, read_video(video).flip(-1), 16)  # the result changed: re-scored and re-annotated
    stats = _evaluate(inferred, tiny_split)
    assert stats["scored"] == 1 and stats["annotated"] == 1
    assert _evaluate(inferred, tiny_split, mode="all", force=True)["annotated"] == 1  # now the oracle too
    assert (inferred / "oracle" / clip.dirname / "estimated" / "meta.json").is_file()


def test_without_annotators_geometry_is_nan_with_a_reason_and_one_warning(tmp_path, tiny_split, monkeypatch,
                                                                          capsys):
    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(tmp_path / "no-weights"))
    res = tmp_path / "res"
    assert main(["eval", "infer", "--master", str(tiny_split), "--results", str(res), "--methods",
                 "static,fov-only", "--shard", "0/2"]) == 0
    capsys.readouterr()
    args = ["eval", "run", "--master", str(tiny_split), "--results", str(res), "--methods", "static,fov-only",
            "--frames", "9", "--shard", "0/2", *NO_NET_FLAGS]
    assert main(args) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, warnings
    assert "fov-only" in warnings[0] and "dap/model.pth" in warnings[0] and "scaled_offline.pth" in warnings[0]
    rows = [r for r in _rows(res / "results_long.csv") if r["method"] == "fov-only"]
    geometry = [r for r in rows if r["metric"].split("/")[0] in ("depth", "tracks", "camera")]
    assert geometry and all(r["value"] == "nan" and "not installed" in r["note"] for r in geometry)
    assert main(["eval", "report", "--in", str(res / "results_long.csv"), "--out", str(tmp_path / "rep"),
                 "--no-charts"]) == 0
    ranks = {(r["family"], r["method"]): float(r["mean_rank"]) for r in _rows(tmp_path / "rep" / "ranking.csv")}
    for family in ("depth", "tracks", "camera"):  # no reward for missing rows: ranked behind the frozen video
        assert ranks[(family, "fov-only")] > ranks[(family, "static")], family
    assert "not installed" in (tmp_path / "rep" / "report.md").read_text()
    capsys.readouterr()
    assert main([*args, "--dap-weights", str(tmp_path / "missing.pth"), "--force"]) == 2  # given: must exist
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "missing.pth" in err and "\n" not in err


def test_own_depth_is_kept_and_tracks_and_camera_come_from_the_annotation(inferred, tiny_split):
    """A method that brings depth only (PanoWorld's depth head) is annotated for the rest: its exact depth keeps
    AbsRel 0, its tracks and camera rows are numbers from the annotation of its video."""
    import shutil

    clip = read_master(tiny_split)[1]
    own = inferred / "depth-only" / clip.dirname
    shutil.copytree(inferred / "oracle" / clip.dirname, own)
    shutil.rmtree(own / "estimated", ignore_errors=True)
    for f in own.glob("*.npy"):
        f.unlink()
    assert (own / "depth").is_dir() and not (own / "tracks_2d.npy").exists()
    stats = evaluate(inferred, ["depth-only"], [clip], [clip], CFG, sources=NO_NETS, caption_style="medium",
                     out=inferred / "depth_only.csv", distributional=False,
                     estimate=EstimateSettings(tiny_random=True), say=lambda _: None)
    assert stats["annotated"] == 1 and (own / "estimated" / "meta.json").is_file()
    rows = {r["metric"]: r for r in _rows(inferred / "depth_only.csv")}
    assert float(rows["depth/abs_rel/raw"]["value"]) == pytest.approx(0.0, abs=1e-6)  # its own depth, not DAP's
    for name in ("tracks/aj", "tracks/oa", "camera/rpe_rot", "consistency/track_lifetime"):
        assert math.isfinite(float(rows[name]["value"])), name
    estimated = read_annotations(own / "estimated", video_fps=clip.fps)
    assert estimated.depth is not None and estimated.tracks_2d is not None
