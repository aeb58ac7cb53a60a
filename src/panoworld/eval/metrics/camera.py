"""Camera trajectory metrics: Sim(3) Umeyama alignment, ATE and RPE.

Poses are (T, 4, 4) camera-to-world matrices (DESIGN.md), translation in metres, paired by time.
"""

from __future__ import annotations

import math

import numpy as np

from ._base import Metric, MetricInfo, register_info

__all__ = ["umeyama", "apply_sim3", "ate", "rpe", "CameraMetrics"]

register_info("camera/ate", MetricInfo("camera", "m (GT scale)", False, 0.0))
register_info("camera/rpe_trans", MetricInfo("camera", "m (GT scale)", False, 0.0))
register_info("camera/rpe_rot", MetricInfo("camera", "deg", False, 0.0))

#: A GT path whose positions spread less than this (metres, RMS) has no usable scale: ATE is NaN.
MIN_PATH_SPREAD_M = 1e-6


def umeyama(src: np.ndarray, dst: np.ndarray, *, with_scale: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ~ s R src + t`` (Umeyama 1991). (N, 3) arrays -> (s, R (3, 3), t (3,))."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1.0
    rot = u @ sign @ vt
    var_s = (xs**2).sum() / len(src)
    scale = float(np.trace(np.diag(d) @ sign) / var_s) if with_scale and var_s > 0 else 1.0
    return scale, rot, mu_d - scale * rot @ mu_s


def apply_sim3(points: np.ndarray, s: float, rot: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Apply ``s R p + t`` to (..., 3) points."""
    return s * np.asarray(points) @ rot.T + t


def ate(pred: np.ndarray, gt: np.ndarray) -> float:
    """Absolute trajectory error: RMS distance (metres, GT scale) between camera centres after Sim(3)
    alignment of the predicted centres to the GT ones; NaN when the GT path has no spread."""
    p, g = np.asarray(pred)[:, :3, 3], np.asarray(gt)[:, :3, 3]
    if np.sqrt(((g - g.mean(0)) ** 2).sum(1).mean()) < MIN_PATH_SPREAD_M:
        return float("nan")
    s, rot, t = umeyama(p, g)
    return float(np.sqrt(((apply_sim3(p, s, rot, t) - g) ** 2).sum(1).mean()))


def _rot_angle_deg(rot: np.ndarray) -> float:
    cos = (np.trace(rot) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(cos, -1.0, 1.0))))


def rpe(pred: np.ndarray, gt: np.ndarray, delta: int = 1) -> tuple[float, float]:
    """Relative pose error over steps of ``delta`` frames: RMS translation error (metres, after the Sim(3)
    scale of :func:`ate`, 1 if the GT does not move) and mean rotation error (degrees)."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    p, g = pred[:, :3, 3], gt[:, :3, 3]
    moving = np.sqrt(((g - g.mean(0)) ** 2).sum(1).mean()) >= MIN_PATH_SPREAD_M
    scale = umeyama(p, g)[0] if moving else 1.0
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
