"""Camera trajectory metrics: Sim(3) Umeyama alignment, ATE and RPE.

Poses are (T, 4, 4) camera-to-world matrices (DESIGN.md), translation in metres, paired by time.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from panoworld.registration import align_points, apply_similarity

from ._base import Metric, MetricInfo, register_info

__all__ = ["sim3_residuals", "ate", "rpe", "CameraMetrics"]

register_info("camera/ate", MetricInfo("camera", "m (GT scale)", False, 0.0))
register_info("camera/rpe_trans", MetricInfo("camera", "m (GT scale)", False, 0.0))
register_info("camera/rpe_rot", MetricInfo("camera", "deg", False, 0.0))

#: A GT path whose positions spread less than this (metres, RMS) has no usable scale: ATE is NaN.
MIN_PATH_SPREAD_M = 1e-6


def sim3_residuals(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, float]:
    """Sim(3)-align (N, 3) predicted points to the paired GT points (Umeyama, float64, via
    :func:`panoworld.registration.align_points`) -> ((N,) distances in GT units after alignment, the scale)."""
    p = torch.as_tensor(np.asarray(pred, np.float64))
    g = torch.as_tensor(np.asarray(gt, np.float64))
    sim = align_points(p, g, with_scale=True)
    dist = torch.linalg.vector_norm(apply_similarity(p, sim) - g, dim=-1)
    return dist.numpy(), float(sim.scale)


def ate(pred: np.ndarray, gt: np.ndarray) -> float:
    """Absolute trajectory error: RMS distance (metres, GT scale) between camera centres after Sim(3)
    alignment of the predicted centres to the GT ones; NaN when the GT path has no spread."""
    p, g = np.asarray(pred)[:, :3, 3], np.asarray(gt)[:, :3, 3]
    if np.sqrt(((g - g.mean(0)) ** 2).sum(1).mean()) < MIN_PATH_SPREAD_M:
        return float("nan")
    return float(np.sqrt((sim3_residuals(p, g)[0] ** 2).mean()))


def _rot_angle_deg(rot: np.ndarray) -> float:
    cos = (np.trace(rot) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(cos, -1.0, 1.0))))


def rpe(pred: np.ndarray, gt: np.ndarray, delta: int = 1) -> tuple[float, float]:
    """Relative pose error over steps of ``delta`` frames: RMS translation error (metres, after the Sim(3)
    scale of :func:`ate`, 1 if the GT does not move) and mean rotation error (degrees)."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    p, g = pred[:, :3, 3], gt[:, :3, 3]
    moving = np.sqrt(((g - g.mean(0)) ** 2).sum(1).mean()) >= MIN_PATH_SPREAD_M
    scale = sim3_residuals(p, g)[1] if moving else 1.0
    trans, rots = [], []
    for i in range(len(gt) - delta):
        rel_p = np.linalg.inv(pred[i]) @ pred[i + delta]
        rel_g = np.linalg.inv(gt[i]) @ gt[i + delta]
        rel_p[:3, 3] *= scale
        err = np.linalg.inv(rel_g) @ rel_p
        trans.append(float((err[:3, 3] ** 2).sum()))
        rots.append(_rot_angle_deg(err[:3, :3]))
    if not trans:
        return float("nan"), float("nan")
    return float(np.sqrt(np.mean(trans))), float(np.mean(rots))


class CameraMetrics(Metric):
    """``camera/ate`` (m), ``camera/rpe_trans`` (m), ``camera/rpe_rot`` (deg) of one clip; (T, 4, 4) c2w."""

    def _evaluate(self, pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
        if len(pred) != len(gt):
            raise ValueError(f"pose sequences must be paired by time: {len(pred)} vs {len(gt)}")
        trans, rot = rpe(pred, gt)
        return {"camera/ate": ate(pred, gt), "camera/rpe_trans": trans, "camera/rpe_rot": rot}
