"""Scoring the geometry of one clip: depth, tracks, camera and self-consistency, paired by time."""

from __future__ import annotations

import numpy as np

from panoworld.formats.annotations import Annotations
from panoworld.sphere import resize_erp

from .align import AlignConfig, match_times, nearest_frames, read_frames_at
from .metrics import CameraMetrics, ConsistencyMetrics, DepthMetrics, TrackMetrics

__all__ = ["pair_times", "geometry_metrics"]


def pair_times(gt: Annotations, pred: Annotations, cfg: AlignConfig) -> tuple[np.ndarray, np.ndarray]:
    """GT annotation frames inside the evaluation window and, for each, the prediction's frame nearest in time."""
    end = (cfg.n_frames - 0.5) / cfg.fps
    keep = np.flatnonzero(gt.times <= end)
    return keep, match_times(pred.times, gt.times[keep])


def geometry_metrics(gt: Annotations, pred: Annotations, cfg: AlignConfig, *, gt_video, gt_fps: float,
                     gt_frames: int, is_static: bool, solid_angle: bool = True, device="cpu") -> dict[str, float]:
    """All geometry metrics that both sides have data for."""
    keep, idx = pair_times(gt, pred, cfg)
    if len(keep) == 0:
        return {}
    out: dict[str, float] = {}
    pd = gd = None
    if gt.depth is not None and pred.depth is not None:
        gd = gt.depth[keep].to(device)
        pd = pred.depth[idx].to(device)
        pd = resize_erp(pd[:, None], tuple(gd.shape[-2:]), antialias=False)[:, 0]
        indices = nearest_frames(gt.times[keep], max(1, gt_frames), gt_fps)
        frames = read_frames_at(gt_video, indices, tuple(gd.shape[-2:])).to(device)
        out.update(DepthMetrics(solid_angle=solid_angle).update(pd, gd, frames))
    if gt.tracks_2d is not None and pred.tracks_2d is not None and len(gt.tracks_2d) == len(pred.tracks_2d):
        gvis = gt.visibility[:, keep] if gt.visibility is not None else np.ones(gt.tracks_2d[:, keep].shape[:2], bool)
        pvis = pred.visibility[:, idx] if pred.visibility is not None else np.ones_like(gvis)
        g3 = gt.tracks_3d[:, keep] if gt.tracks_3d is not None else None
        p3 = pred.tracks_3d[:, idx] if pred.tracks_3d is not None else None
        out.update(TrackMetrics().update(pred.tracks_2d[:, idx], pvis, pred.size, gt.tracks_2d[:, keep], gvis,
                                         gt.size, p3, g3))
    gposes = gt.poses[keep] if gt.poses is not None else (np.tile(np.eye(4), (len(keep), 1, 1)) if is_static else None)
    if gposes is not None and pred.poses is not None:
        out.update(CameraMetrics().update(pred.poses[idx], gposes))

    def side(ann: Annotations, sel: np.ndarray, depth) -> dict:
        return {
            "depth": depth,
            "visibility": None if ann.visibility is None else ann.visibility[:, sel],
            "tracks_3d": None if ann.tracks_3d is None else ann.tracks_3d[:, sel],
            "static": gt.static,
        }

    out.update(ConsistencyMetrics().update(side(pred, idx, pd), side(gt, keep, gd)))
    return out
