"""Acceptance on a synthetic split: GT as prediction is ideal; controlled degradations move the right metrics."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

from panoworld.eval.align import AlignConfig
from panoworld.eval.metrics import metric_info
from panoworld.eval.runners import RunRequest, get_method, run_method
from panoworld.eval.score import ScoreConfig, Scorer
from panoworld.formats.annotations import poses_to_c2w
from panoworld.formats.results import result_dir
from panoworld.formats.testset import read_master
from panoworld.io import read_video, write_video

from .conftest import SPLIT, H, W

CFG = ScoreConfig(align=AlignConfig(n_frames=SPLIT["frames"], fps=16.0), min_bucket=2, fid_frames=2, face_size=16)


@pytest.fixture(scope="module")
def scored(tmp_path_factory, tiny_split, tiny_backbones):
    """Results of oracle plus degraded copies of it, scored with tiny backbones: {method: {clip: values}}."""
    results = tmp_path_factory.mktemp("results")
    clips = read_master(tiny_split)
    spec = get_method("oracle")
    for clip in clips:
        run_method(spec, RunRequest(clip=clip, out_dir=result_dir(results, "oracle", clip),
                                    work_dir=results / "_work", spec=spec))
    gen = torch.Generator().manual_seed(0)

    def degrade(name, fn):
        for clip in clips:
            src, dst = result_dir(results, "oracle", clip), result_dir(results, name, clip)
            shutil.copytree(src, dst)
            fn(clip, dst)

    def seam(clip, d):
        v = read_video(d / "video.mp4")
        v[..., -4:] = (v[..., -4:] + 0.3 * torch.rand(v.shape[0], 1, 1, 1, generator=gen)).clamp(0, 1)
        write_video(d / "video.mp4", v, 16, crf=0)

    def depth_x2(clip, d):
        for f in sorted((d / "depth").glob("*.npy")):
            np.save(f, 2 * np.load(f))

    def depth_noise(clip, d):
        for f in sorted((d / "depth").glob("*.npy")):
            np.save(f, np.load(f) * (1 + 0.1 * float(torch.randn(1, generator=gen))))

    def sim3_path(clip, d):
        poses = poses_to_c2w(np.load(d / "camera_poses.npy"))
        rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        out = poses.copy()
        out[:, :3, :3] = rot @ poses[:, :3, :3]
        out[:, :3, 3] = 3.0 * poses[:, :3, 3] @ rot.T + [1.0, 2.0, -1.0]
        np.save(d / "camera_poses.npy", out)

    def track_noise(clip, d):  # 0.3 px along the meridian (rows) on every frame after the query frame
        tr = np.load(d / "tracks_2d.npy")
        tr[:, 1:, 1] += 0.3
        np.save(d / "tracks_2d.npy", tr)

    def track_wrap(clip, d):  # +0.1 px in x, and the right half written as x - W (the same meridians, across
        tr = np.load(d / "tracks_2d.npy")  # the +-180 seam): a pixel-space error would be ~W px
        x = tr[..., 0] + 0.1
        tr[..., 0] = np.where(x > W / 2, x - W, x)
        np.save(d / "tracks_2d.npy", tr)

    fns = {"seam": seam, "depth_x2": depth_x2, "depth_noise": depth_noise, "sim3_path": sim3_path,
           "track_noise": track_noise, "track_wrap": track_wrap}
    for name, fn in fns.items():
        degrade(name, fn)
    scorer = Scorer(results, tiny_backbones, CFG)
    methods = ["oracle", *fns]
    scorer.score_all(["oracle", "seam"], clips)
    Scorer(results, None, CFG).score_all(methods[2:], clips)  # geometry-only degradations: no networks needed
    out = {m: {c.clip_id: {r["metric"]: float(r["value"]) for r in _rows(scorer, m, c)} for c in clips}
           for m in methods}
    out["_dist"] = {m: scorer.distributional(m, clips) for m in ("oracle", "seam")}
    return out


def _rows(scorer, method, clip):
    from panoworld.eval.score import read_rows

    return read_rows(scorer.score_path(method, clip))


def _mean(scored, method, metric):
    """Mean over clips that have the metric (ATE is NaN for a GT camera that does not move)."""
    vals = np.array([v.get(metric, np.nan) for v in scored[method].values()], np.float64)
    assert np.isfinite(vals).any(), f"{metric} missing for {method}"
    return float(np.nanmean(vals))


def test_gt_as_prediction_is_ideal_on_every_paired_metric(scored):
    checked = set()
    for values in scored["oracle"].values():
        for name, value in values.items():
            info = metric_info(name)
            if info is None or info.ideal is None or not math.isfinite(value):
                continue
            assert value == pytest.approx(info.ideal, abs=1e-6), name
            checked.add(name.split("/")[0])
    assert {"psnr", "ssim", "lpips", "seam", "depth", "tracks", "camera", "consistency"} <= checked
    for row in scored["_dist"]["oracle"]:
        if int(row["n_clips"]) >= CFG.min_bucket:
            assert float(row["value"]) == pytest.approx(0.0, abs=1e-4), row["metric"]
        else:  # the minimum-bucket rule
            assert math.isnan(float(row["value"])), row
    assert {r["metric"] for r in scored["_dist"]["oracle"]} >= {"fvd/videomae", "fid/erp", "omnifid", "fd_vae/erp"}


def test_seam_discontinuity_moves_seam_metrics_only(scored):
    for m in ("seam/end_continuity_gap", "seam/discontinuity_gap", "seam/flicker_gap", "seam/lpips_excess"):
        assert _mean(scored, "seam", m) > _mean(scored, "oracle", m) + 1e-4, m
    for m in ("depth/abs_rel/raw", "tracks/delta_avg", "camera/ate", "consistency/depth_temporal_cv_gap"):
        assert _mean(scored, "seam", m) == pytest.approx(_mean(scored, "oracle", m), abs=1e-9), m
    fid_seam = {r["metric"]: float(r["value"]) for r in scored["_dist"]["seam"] if r["bucket"] == "all"}
    assert fid_seam["fid/erp"] > 0


def test_depth_times_two(scored):
    assert _mean(scored, "depth_x2", "depth/abs_rel/raw") == pytest.approx(1.0, abs=1e-6)
    assert _mean(scored, "depth_x2", "depth/delta1/raw") == pytest.approx(0.0, abs=1e-9)
    for tag in ("raw", "sky_masked", "texture_weighted"):
        for align in ("@median", "@scale_shift"):
            assert _mean(scored, "depth_x2", f"depth/abs_rel/{tag}{align}") == pytest.approx(0.0, abs=1e-5)
    assert _mean(scored, "depth_x2", "psnr/erp") == _mean(scored, "oracle", "psnr/erp")
    assert _mean(scored, "depth_x2", "tracks/aj") == 1.0


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
