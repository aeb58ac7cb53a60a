"""Acceptance on a synthetic split: GT as prediction is ideal; every controlled degradation
(``panoworld.eval.degrade``) is flagged by the metric meant for it and ranked behind the oracle; every method has
every geometry row."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from panoworld.eval.align import AlignConfig
from panoworld.eval.degrade import DEGRADATIONS
from panoworld.eval.geometry import expected_names
from panoworld.eval.metrics import metric_info
from panoworld.eval.report import rank_families, summarise
from panoworld.eval.runners import RunRequest, get_method, run_method
from panoworld.eval.score import ScoreConfig, Scorer, read_rows
from panoworld.formats.annotations import poses_to_c2w, read_annotations
from panoworld.formats.results import result_dir
from panoworld.formats.testset import read_master

from .conftest import SPLIT, H, W

CFG = ScoreConfig(align=AlignConfig(n_frames=SPLIT["frames"], fps=16.0), min_bucket=2, fid_frames=2, face_size=16)
DEGRADED = [f"degrade-{kind}" for kind in DEGRADATIONS]


def _custom_degradations(results, clips):
    """Geometry defects whose effect is known by hand (written into copies of the oracle's annotations)."""

    def depth_noise(d):
        for f in sorted((d / "depth").glob("*.npy")):
            np.save(f, np.load(f) * (1 + 0.1 * np.random.default_rng(int(f.stem)).normal()))

    def sim3_path(d):
        poses = poses_to_c2w(np.load(d / "camera_poses.npy"))
        rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        out = poses.copy()
        out[:, :3, :3] = rot @ poses[:, :3, :3]
        out[:, :3, 3] = 3.0 * poses[:, :3, 3] @ rot.T + [1.0, 2.0, -1.0]
        np.save(d / "camera_poses.npy", out)

    def track_noise(d):  # 0.3 px along the meridian (rows) on every frame after the query frame
        tr = np.load(d / "tracks_2d.npy")
        tr[:, 1:, 1] += 0.3
        np.save(d / "tracks_2d.npy", tr)

    def track_wrap(d):  # +0.1 px in x, and the right half written as x - W (the same meridians, across
        tr = np.load(d / "tracks_2d.npy")  # the +-180 seam): a pixel-space error would be ~W px
        x = tr[..., 0] + 0.1
        tr[..., 0] = np.where(x > W / 2, x - W, x)
        np.save(d / "tracks_2d.npy", tr)

    def sky_depth(d):  # 5x the depth on the GT's sky pixels only: sky has no GT depth, nothing may change
        sky = np.load(d / "sky_mask.npy")
        for k, f in enumerate(sorted((d / "depth").glob("*.npy"))):
            depth = np.load(f)
            np.save(f, np.where(sky[k], depth * 5, depth).astype(depth.dtype))

    fns = {"depth_noise": depth_noise, "sim3_path": sim3_path, "track_noise": track_noise, "track_wrap": track_wrap,
           "sky_depth": sky_depth}
    for name, fn in fns.items():
        for clip in clips:
            dst = result_dir(results, name, clip)
            shutil.copytree(result_dir(results, "oracle", clip), dst)
            fn(dst)
    return list(fns)


@pytest.fixture(scope="module")
def scored(tmp_path_factory, tiny_split, tiny_backbones):
    """{"values": {method: {clip: {metric: value}}}, "rows": per-clip rows, "dist": Fréchet rows, "clips"}."""
    results = tmp_path_factory.mktemp("results")
    clips = read_master(tiny_split)
    for name in ("oracle", "static", *DEGRADED):
        spec = get_method(name)
        for clip in clips:
            run_method(spec, RunRequest(clip=clip, out_dir=result_dir(results, name, clip),
                                        work_dir=results / "_work", spec=spec))
    custom = _custom_degradations(results, clips)
    with_nets = Scorer(results, tiny_backbones, CFG)
    with_nets.score_pairs([(m, c) for m in ("oracle", "degrade-seam") for c in clips])
    others = ["static", *[m for m in DEGRADED if m != "degrade-seam"], *custom]
    Scorer(results, None, CFG).score_pairs([(m, c) for m in others for c in clips])  # no networks needed
    methods = ["oracle", "degrade-seam", *others]
    rows = [r for m in methods for c in clips for r in read_rows(with_nets.score_path(m, c))]
    values: dict = {}
    for r in rows:
        values.setdefault(r["method"], {}).setdefault(r["clip_id"], {})[r["metric"]] = float(r["value"])
    return {"values": values, "rows": rows, "clips": clips, "methods": methods,
            "dist": {m: with_nets.distributional(m, clips) for m in ("oracle", "degrade-seam")}}


def _mean(scored, method, metric):
    """Mean over clips that have the metric (ATE is NaN for a GT camera that does not move)."""
    vals = np.array([v.get(metric, np.nan) for v in scored["values"][method].values()], np.float64)
    assert np.isfinite(vals).any(), f"{metric} missing for {method}"
    return float(np.nanmean(vals))


def test_gt_as_prediction_is_ideal_on_every_paired_metric(scored):
    checked = set()
    for values in scored["values"]["oracle"].values():
        for name, value in values.items():
            info = metric_info(name)
            if info is None or info.ideal is None or not math.isfinite(value):
                continue
            assert value == pytest.approx(info.ideal, abs=1e-6), name
            checked.add(name.split("/")[0])
    assert {"psnr", "ssim", "lpips", "seam", "temporal", "depth", "tracks", "camera", "consistency"} <= checked
    for row in scored["dist"]["oracle"]:
        if int(row["n_clips"]) >= CFG.min_bucket:
            assert float(row["value"]) == pytest.approx(0.0, abs=1e-4), row["metric"]
        else:  # the minimum-bucket rule
            assert math.isnan(float(row["value"])), row
    assert {r["metric"] for r in scored["dist"]["oracle"]} >= {"fvd/videomae", "fid/erp", "omnifid", "fd_vae/erp"}


def test_every_degradation_is_flagged_by_its_metric_and_ranked_behind_the_oracle(scored):
    overall = summarise(scored["rows"], None)
    ranks = rank_families(overall, scored["methods"])
    for kind, d in DEGRADATIONS.items():
        method, info = f"degrade-{kind}", metric_info(d.flagged_by)
        off = abs(_mean(scored, method, d.flagged_by) - info.ideal)
        assert off > abs(_mean(scored, "oracle", d.flagged_by) - info.ideal) + 1e-3, (kind, d.flagged_by)
        assert ranks[info.family][method] > ranks[info.family]["oracle"], (kind, info.family)


def test_flicker_is_caught_without_learned_networks(scored):
    """With no video network the reference's harness ranked a +-15 % gain flicker best among degraded methods;
    the non-learned temporal family ranks it last."""
    overall = summarise([r for r in scored["rows"] if r["method"] != "degrade-seam"], None)
    methods = [m for m in scored["methods"] if m != "degrade-seam"]
    temporal = rank_families(overall, methods)["temporal"]
    assert max(temporal, key=temporal.get) == "degrade-flicker"
    assert _mean(scored, "degrade-flicker", "temporal/flicker_gap") > 3 * max(
        _mean(scored, m, "temporal/flicker_gap") for m in ("degrade-noise", "degrade-seam", "degrade-poles"))


def test_pixel_noise_is_not_a_seam(scored):
    noise = _mean(scored, "degrade-noise", "seam/end_continuity_gap")
    assert noise < 0.5 and _mean(scored, "degrade-seam", "seam/end_continuity_gap") > 5 * noise
    assert _mean(scored, "degrade-seam", "seam/lpips_excess") > _mean(scored, "oracle", "seam/lpips_excess")
    for m in ("depth/abs_rel/raw", "tracks/delta_avg", "camera/ate", "consistency/depth_temporal_cv_gap"):
        assert _mean(scored, "degrade-seam", m) == pytest.approx(_mean(scored, "oracle", m), abs=1e-9), m


def test_every_method_has_every_geometry_row(scored):
    for clip in scored["clips"]:
        gt = read_annotations(clip.annotation_dir, video_fps=clip.fps)
        expected = set(expected_names(gt, is_static=clip.is_static))
        assert {"depth/abs_rel/raw@scale_shift", "tracks/aj", "camera/ate", "temporal/warp_error_gap"} <= expected
        for method in scored["methods"]:
            rows = {r["metric"]: r for r in scored["rows"] if r["method"] == method and r["clip_id"] == clip.clip_id}
            assert expected <= set(rows), (method, expected - set(rows))
            for name in expected:
                assert math.isfinite(float(rows[name]["value"])) or rows[name]["note"], (method, name)


def test_depth_times_two(scored):
    m = "degrade-depth_scale"
    assert _mean(scored, m, "depth/abs_rel/raw") == pytest.approx(1.0, abs=1e-6)
    assert _mean(scored, m, "depth/delta1/raw") == pytest.approx(0.0, abs=1e-9)
    for tag in ("raw", "sky_masked", "texture_weighted"):
        for align in ("@median", "@scale", "@scale_shift"):
            assert _mean(scored, m, f"depth/abs_rel/{tag}{align}") == pytest.approx(0.0, abs=1e-5)
    assert _mean(scored, m, "psnr/erp") == _mean(scored, "oracle", "psnr/erp")
    assert _mean(scored, m, "tracks/aj") == 1.0


def test_sky_pixels_have_no_gt_depth(scored):
    sky = [np.load(c.annotation_dir / "sky_mask.npy").mean() for c in scored["clips"]]
    assert max(sky) > 0.05  # the split has sky, so the check below can fail
    for metric in ("depth/abs_rel/raw", "depth/abs_rel/raw@median", "depth/delta1/raw", "depth/abs_rel/pole"):
        assert _mean(scored, "sky_depth", metric) == pytest.approx(_mean(scored, "oracle", metric), abs=1e-6), metric


def test_per_frame_depth_noise_worsens_temporal_stability(scored):
    assert _mean(scored, "depth_noise", "consistency/depth_temporal_cv_gap") > 0.01
    assert _mean(scored, "depth_noise", "consistency/depth_temporal_cv") > _mean(
        scored, "oracle", "consistency/depth_temporal_cv")
    assert _mean(scored, "depth_noise", "psnr/erp") == _mean(scored, "oracle", "psnr/erp")


def test_rigid_sim3_of_the_camera_path_keeps_ate_zero(scored):
    assert _mean(scored, "sim3_path", "camera/ate") == pytest.approx(0.0, abs=1e-5)
    assert _mean(scored, "sim3_path", "camera/rpe_trans") == pytest.approx(0.0, abs=1e-5)


def test_track_noise_by_hand_and_wraparound(scored):
    # 0.3 px along a meridian at H = 32 is 0.3 * 256 / 32 = 2.4 px at 256 rows: inside 4, 8, 16 only.
    assert H == 32
    assert _mean(scored, "track_noise", "tracks/delta_avg") == pytest.approx(3 / 5, abs=1e-6)
    assert _mean(scored, "track_noise", "tracks/aj") == pytest.approx(3 / 5, abs=1e-6)
    # 0.1 px across the +-180 seam is 0.8 px at 256 rows, not a W-px error: still ideal.
    assert _mean(scored, "track_wrap", "tracks/delta_avg") == 1.0
