"""Point tracks: TAP-Vid AJ / OA / delta_avg with wrap-aware geodesic errors, and 3-D track error.

2-D tracks are (N, T, 2) pixel (x, y) in the panoworld ERP convention of their own video size, paired
by time with the GT; visibility (N, T) bool. An error is the great-circle angle between predicted and
GT positions, expressed in pixels of a 256-row ERP (1 px = pi/256 rad): horizontal and vertical pixels of
an ERP span the same angle, so this is isotropic, and a track crossing +-180 degrees is not a
W-pixel error.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from panoworld.sphere import geodesic_distance, pixel_to_lonlat

from ._base import Metric, MetricInfo, register_info
from .camera import sim3_residuals

__all__ = ["THRESHOLDS_PX", "REF_ROWS", "angular_error_px", "tapvid_metrics", "track3d_error", "TrackMetrics"]

#: TAP-Vid thresholds in pixels of a :data:`REF_ROWS`-row ERP.
THRESHOLDS_PX = (1.0, 2.0, 4.0, 8.0, 16.0)
REF_ROWS = 256

register_info("tracks/aj", MetricInfo("tracks", "fraction", True, 1.0))
register_info("tracks/oa", MetricInfo("tracks", "fraction", True, 1.0))
register_info("tracks/delta_avg", MetricInfo("tracks", "fraction", True, 1.0))
register_info("tracks/err3d_sim3", MetricInfo("tracks", "m (GT scale)", False, 0.0))


def angular_error_px(pred_xy: torch.Tensor, pred_size: tuple[int, int], gt_xy: torch.Tensor, gt_size: tuple[int, int]):
    """Geodesic error between (..., 2) pixel positions of two ERPs of sizes (H, W), in 256-row-ERP pixels."""
    a = pixel_to_lonlat(pred_xy[..., 0].double(), pred_xy[..., 1].double(), *pred_size)
    b = pixel_to_lonlat(gt_xy[..., 0].double(), gt_xy[..., 1].double(), *gt_size)
    return geodesic_distance(a, b) * (REF_ROWS / math.pi)


def tapvid_metrics(
    err_px: torch.Tensor, pred_vis: torch.Tensor, gt_vis: torch.Tensor, *, query_frame: int = 0
) -> dict[str, float]:
    """TAP-Vid metrics ("first" query mode; the query frame is not evaluated).

    For each threshold d: ``within = err < d``; delta^d = |within & gt_vis| / |gt_vis|;
    AJ^d = TP / (|gt_vis| + FP) with TP = within & gt_vis & pred_vis and
    FP = pred_vis & (~gt_vis | ~within). OA = mean(pred_vis == gt_vis). AJ and delta_avg average over
    :data:`THRESHOLDS_PX`. ``err_px`` (N, T); NaN errors (untracked) count as outside every threshold.
    """
    mask = torch.ones_like(gt_vis, dtype=torch.bool)
    mask[:, query_frame] = False
    gv, pv = gt_vis & mask, pred_vis & mask
    err = torch.nan_to_num(err_px, nan=float("inf"))
    n_vis = int(gv.sum())
    ajs, deltas = [], []
    for d in THRESHOLDS_PX:
        within = err < d
        tp = int((within & gv & pv).sum())
        fp = int((pv & (~gv | ~within)).sum())
        ajs.append(tp / max(n_vis + fp, 1))
        deltas.append(int((within & gv).sum()) / n_vis if n_vis else float("nan"))
    oa = float((pred_vis == gt_vis)[mask].float().mean()) if mask.any() else float("nan")
    return {"tracks/aj": float(np.mean(ajs)), "tracks/oa": oa, "tracks/delta_avg": float(np.mean(deltas))}


def track3d_error(pred: np.ndarray, gt: np.ndarray, gt_vis: np.ndarray) -> float:
    """Mean distance (metres, GT scale) between (N, T, 3) 3-D tracks after one Sim(3) alignment of the
    prediction to the GT over entries that are GT-visible and finite on both sides; NaN if < 4 entries."""
    ok = gt_vis & np.isfinite(pred).all(-1) & np.isfinite(gt).all(-1)
    if ok.sum() < 4:
        return float("nan")
    return float(sim3_residuals(pred[ok], gt[ok])[0].mean())


class TrackMetrics(Metric):
    """``tracks/{aj,oa,delta_avg}`` and, with 3-D tracks, ``tracks/err3d_sim3`` of one clip.

    ``update(pred_xy, pred_vis, pred_size, gt_xy, gt_vis, gt_size, pred_3d=None, gt_3d=None)``; tracks
    must share the GT's query points (same N) and be paired by time (same T).
    """

    def _evaluate(self, pred_xy, pred_vis, pred_size, gt_xy, gt_vis, gt_size, pred_3d=None, gt_3d=None):
        pred_xy, gt_xy = torch.as_tensor(pred_xy), torch.as_tensor(gt_xy)
        if pred_xy.shape != gt_xy.shape:
            raise ValueError(f"predicted tracks {tuple(pred_xy.shape)} do not match GT tracks {tuple(gt_xy.shape)}")
        err = angular_error_px(pred_xy, pred_size, gt_xy, gt_size)
        out = tapvid_metrics(err, torch.as_tensor(pred_vis).bool(), torch.as_tensor(gt_vis).bool())
        if pred_3d is not None and gt_3d is not None:
            out["tracks/err3d_sim3"] = track3d_error(
                np.asarray(pred_3d, np.float64), np.asarray(gt_3d, np.float64), np.asarray(gt_vis, bool)
            )
        return out
