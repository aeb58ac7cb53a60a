"""Metric functions on hand-made tensors: ideal values, directions, formulas computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial.transform
import torch

from panoworld.eval.metrics import (
    CameraMetrics,
    DepthMetrics,
    SeamMetrics,
    TrackMetrics,
    VisualMetrics,
    abs_rel,
    bucket_frechet,
    delta1,
    depth_temporal_cv,
    fit_gaussian,
    frechet_distance,
    psnr,
    ssim,
    tapvid_metrics,
)
from panoworld.eval.metrics.visual import PSNR_CAP_DB
from tests.conftest import textured_erp


def _video(t=4, h=32, w=64, seed=0):
    base = textured_erp(h, w, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    return (base[None] + 0.02 * torch.randn(t, 3, h, w, generator=g)).clamp(0, 1)


def test_psnr_ssim_identical_and_noise():
    v = _video()
    assert torch.allclose(psnr(v, v), torch.full((4,), PSNR_CAP_DB))
    assert torch.allclose(ssim(v, v), torch.ones(4), atol=1e-5)
    noisy = (v + 0.1).clamp(0, 1)
    mse = ((noisy - v) ** 2).mean(dim=(1, 2, 3))
    assert torch.allclose(psnr(noisy, v), 10 * torch.log10(1 / mse), atol=1e-4)
    assert (ssim(noisy, v) < 0.99).all()


def test_solid_angle_weighting_discounts_poles():
    v = _video(t=1)
    bad = v.clone()
    bad[..., :2, :] = 0.0  # top rows only: tiny solid angle
    m = VisualMetrics(views=False).update(bad, v)
    assert m["psnr/erp_sw"] > m["psnr/erp"]
    assert m["psnr/pole"] < m["psnr/erp"]


def test_frechet_matches_scipy_and_is_symmetric():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 6))
    b = rng.normal(size=(150, 6)) @ rng.normal(size=(6, 6)) + 0.5
    ma, ca = fit_gaussian(a)
    mb, cb = fit_gaussian(b)
    ref = float(((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * scipy.linalg.sqrtm(ca @ cb).real))
    d = frechet_distance(ma, ca, mb, cb)
    assert d == pytest.approx(ref, rel=1e-6)
    assert frechet_distance(mb, cb, ma, ca) == pytest.approx(d, rel=1e-9)
    assert frechet_distance(ma, ca, ma, ca) == pytest.approx(0.0, abs=1e-8)


def test_frechet_rank_deficient_self_is_zero_and_bucket_rule():
    rng = np.random.default_rng(1)
    feats = [rng.normal(size=(1, 64)) for _ in range(10)]  # 10 samples in 64-d: singular covariance
    assert bucket_frechet(feats, feats, min_clips=8) == pytest.approx(0.0, abs=1e-6)
    assert math.isnan(bucket_frechet(feats[:5], feats[:5], min_clips=8))
    shifted = [f + 1.0 for f in feats]
    assert bucket_frechet(shifted, feats, min_clips=8) == pytest.approx(64.0, rel=1e-6)


def test_seam_metrics_react_to_a_seam_only():
    v = _video(t=6)
    clean = SeamMetrics().update(v, v)
    assert clean["seam/end_continuity_gap"] == 0 and clean["seam/discontinuity_gap"] == 0
    assert clean["seam/discontinuity"] < 3.0
    bad = v.clone()
    bad[..., -6:] = (bad[..., -6:] + 0.4 * torch.rand(6, 1, 1, 1)).clamp(0, 1)
    worse = SeamMetrics().update(bad, v)
    for name in ("end_continuity", "discontinuity", "flicker"):
        assert worse[f"seam/{name}"] > clean[f"seam/{name}"]
        assert worse[f"seam/{name}_gap"] > 0


def test_depth_scale_and_alignment():
    g = torch.rand(3, 16, 32) * 9 + 1
    frames = torch.rand(3, 3, 16, 32)
    ideal = DepthMetrics().update(g, g, frames)
    assert all(v == pytest.approx(0.0, abs=1e-6) for k, v in ideal.items() if "abs_rel" in k)
    assert all(v == pytest.approx(1.0) for k, v in ideal.items() if "delta1" in k)
    doubled = DepthMetrics().update(2 * g, g, frames)
    assert doubled["depth/abs_rel/raw"] == pytest.approx(1.0, abs=1e-6)
    assert doubled["depth/delta1/raw"] == pytest.approx(0.0)
    for tag in ("raw", "sky_masked", "texture_weighted"):
        assert doubled[f"depth/abs_rel/{tag}@median"] == pytest.approx(0.0, abs=1e-5)
        assert doubled[f"depth/abs_rel/{tag}@scale_shift"] == pytest.approx(0.0, abs=1e-5)
    w = torch.ones_like(g)
    assert abs_rel(g + 1, g, w) == pytest.approx(float((1 / g).mean()), rel=1e-5)
    assert delta1(g * 1.3, g, w) == 0.0


def test_depth_temporal_cv_rises_with_noise():
    g = torch.rand(1, 16, 32).expand(8, 16, 32) * 5 + 1
    noisy = g * (1 + 0.1 * torch.randn(8, 1, 1))
    assert depth_temporal_cv(g) == pytest.approx(0.0, abs=1e-6)
    assert depth_temporal_cv(noisy) > 0.05


def _path(t=12, seed=0):
    rng = np.random.default_rng(seed)
    poses = np.tile(np.eye(4), (t, 1, 1))
    for i in range(t):
        yaw = 0.1 * i
        poses[i, :3, :3] = [[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]]
        poses[i, :3, 3] = [0.3 * i, 0.05 * i**1.5, 0.2 * math.sin(i)] + 0.01 * rng.normal(size=3)
    return poses


def test_ate_invariant_to_sim3_and_rpe():
    gt = _path()
    rot = scipy.spatial.transform.Rotation.from_euler("xyz", [20, -35, 50], degrees=True).as_matrix()
    sim = np.eye(4)
    sim[:3, :3], sim[:3, 3] = 2.5 * rot, [1.0, -2.0, 3.0]
    moved = np.einsum("ij,tjk->tik", sim, gt)
    moved[:, :3, :3] /= 2.5  # keep rotations orthonormal; centres are scaled by 2.5
    m = CameraMetrics().update(moved, gt)
    assert m["camera/ate"] == pytest.approx(0.0, abs=1e-9)
    assert m["camera/rpe_trans"] == pytest.approx(0.0, abs=1e-9)
    assert m["camera/rpe_rot"] == pytest.approx(0.0, abs=1e-5)
    noisy = gt.copy()
    noisy[:, :3, 3] += np.random.default_rng(3).normal(scale=0.1, size=(len(gt), 3))
    assert CameraMetrics().update(noisy, gt)["camera/ate"] > 0.02


def test_tapvid_by_hand_and_wraparound():
    n, t, h, w = 50, 6, 64, 128
    rng = np.random.default_rng(0)
    gt = np.stack([rng.uniform(0, w, (n, t)), rng.uniform(h * 0.3, h * 0.7, (n, t))], -1)
    vis = np.ones((n, t), bool)
    ideal = TrackMetrics().update(gt, vis, (h, w), gt, vis, (h, w))
    assert ideal == {"tracks/aj": 1.0, "tracks/oa": 1.0, "tracks/delta_avg": 1.0}
    # 3 px noise near the equator at W = 128: error = 3 * 256 / 64 = 12 (256-row) px -> within 16 only.
    eq = gt.copy()
    eq[..., 1] = h / 2 - 0.5
    shifted = eq.copy()
    shifted[..., 0] = (shifted[..., 0] + 3) % w
    got = TrackMetrics().update(shifted, vis, (h, w), eq, vis, (h, w))
    assert got["tracks/delta_avg"] == pytest.approx(1 / 5)
    # AJ: threshold 16 -> TP = all visible, FP = 0 -> 1; thresholds 1..8 -> TP = 0 -> 0
    assert got["tracks/aj"] == pytest.approx(1 / 5)
    # a point that crosses the seam: x = W - 0.5 vs x = 0.2 is 0.7 px (2.8 px at 256 rows: within 4, 8, 16),
    # not a ~W-pixel error (which would be within no threshold)
    a = np.array([[[w - 0.5, h / 2]] * t])
    b = np.array([[[0.2, h / 2]] * t])
    one = np.ones((1, t), bool)
    assert TrackMetrics().update(a, one, (h, w), b, one, (h, w))["tracks/delta_avg"] == pytest.approx(3 / 5)


def test_tapvid_visibility_terms():
    err = torch.zeros(2, 3)
    gt_vis = torch.tensor([[True, True, False], [True, True, True]])
    pred_vis = torch.tensor([[True, True, True], [True, False, True]])
    m = tapvid_metrics(err, pred_vis, gt_vis)
    # frame 0 excluded: entries (0,1) tp, (0,2) fp, (1,1) fn (pred invisible), (1,2) tp
    assert m["tracks/oa"] == pytest.approx(2 / 4)
    assert m["tracks/aj"] == pytest.approx(2 / (3 + 1))
    assert m["tracks/delta_avg"] == pytest.approx(1.0)


def test_frechet_torch_path_matches_numpy():
    from panoworld.eval.metrics.distributional import _frechet_torch

    rng = np.random.default_rng(2)
    ma, ca = fit_gaussian(rng.normal(size=(40, 5)))
    mb, cb = fit_gaussian(rng.normal(size=(30, 5)) + 0.3)
    assert _frechet_torch(ma, ca, mb, cb, "cpu") == pytest.approx(frechet_distance(ma, ca, mb, cb), rel=1e-9)


def test_rigidity_zero_for_rigid_motion_positive_otherwise():
    from panoworld.eval.metrics import rigidity

    rng = np.random.default_rng(0)
    p0 = rng.normal(size=(30, 3))
    t = 6
    rigid = np.stack([p0 @ scipy.spatial.transform.Rotation.from_euler("y", 10 * i, degrees=True).as_matrix().T
                      + [0.1 * i, 0, 0] for i in range(t)], 1)
    vis = np.ones((30, t), bool)
    assert rigidity(rigid, vis) == pytest.approx(0.0, abs=1e-9)
    wobbly = rigid + rng.normal(scale=0.05, size=rigid.shape)
    assert rigidity(wobbly, vis) > 0.01


def test_nearest_neighbours_match_a_kd_tree():
    from scipy.spatial import cKDTree

    from panoworld.eval.metrics.consistency import _nearest

    pts = np.random.default_rng(0).normal(size=(700, 3))
    _, nn = cKDTree(pts).query(pts, k=9)
    np.testing.assert_array_equal(_nearest(pts, 8, chunk=256), nn[:, 1:])
