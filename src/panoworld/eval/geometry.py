"""Scoring the geometry of one clip: depth, tracks, camera, self-consistency and the warping error, paired by time.

Every method gets a row for every geometry metric the GT supports (:func:`expected_names`): a number, or NaN with
the reason it could not be computed (:func:`geometry_metrics` returns the reasons by family), so a method never
looks good by leaving a metric out.
"""

from __future__ import annotations

import numpy as np
import torch

from panoworld.formats.annotations import Annotations
from panoworld.sphere import resize_erp

from .align import AlignConfig, match_times, nearest_frames, read_frames_at
from .metrics import CameraMetrics, ConsistencyMetrics, DepthMetrics, TrackMetrics, warp_error

__all__ = ["pair_times", "expected_names", "geometry_metrics", "family_of"]

TRACK_NAMES = ("tracks/aj", "tracks/oa", "tracks/delta_avg")
CAMERA_NAMES = ("camera/ate", "camera/rpe_trans", "camera/rpe_rot")
WARP_NAMES = ("temporal/warp_error", "temporal/warp_error_gap")
#: Why a computed value is NaN, by metric name.
REASONS = {
    "temporal/warp_error": "no track is visible in two consecutive annotation frames",
    "temporal/warp_error_gap": "no track is visible in two consecutive annotation frames (prediction or GT)",
    "tracks/err3d_sim3": "fewer than 4 GT-visible track points with finite 3-D positions on both sides",
    "consistency/rigidity_m": "fewer than 2 static tracks visible at the first frame with 3-D positions",
    "consistency/rigidity_m_gap": "fewer than 2 static tracks visible at the first frame with 3-D positions "
                                  "(prediction or GT)",
    "consistency/depth_temporal_cv": "no pixel has valid depth in every frame",
    "consistency/depth_temporal_cv_gap": "no pixel has valid depth in every frame (prediction or GT)",
    **{f"depth/{m}/{tag}": "fewer than 16 valid depth pixels" for m in ("abs_rel", "delta1")
       for tag in ("raw", "sky_masked", "texture_weighted", "pole")},
}


def family_of(name: str) -> str:
    """The group a geometry metric's NaN reason is filed under: depth, tracks, camera, consistency or warp."""
    if name.startswith("temporal/warp_error"):
        return "warp"
    return name.split("/")[0]


def _consistency(*names: str) -> list[str]:
    return [f"consistency/{n}{suffix}" for n in names for suffix in ("", "_gap")]


def expected_names(gt: Annotations | None, *, is_static: bool) -> list[str]:
    """Every geometry metric a method must have a row for, given what the GT annotations hold."""
    if gt is None:
        return []
    names: list[str] = []
    if gt.depth is not None:
        names += DepthMetrics.names(with_frames=True) + _consistency("depth_temporal_cv")
    if gt.tracks_2d is not None:
        names += [*TRACK_NAMES, *WARP_NAMES, *_consistency("track_lifetime")]
        if gt.tracks_3d is not None:
            names += ["tracks/err3d_sim3", *_consistency("rigidity_m")]
    if gt.poses is not None or is_static:
        names += list(CAMERA_NAMES)
    return names


def pair_times(gt: Annotations, pred: Annotations, cfg: AlignConfig) -> tuple[np.ndarray, np.ndarray]:
    """GT annotation frames inside the evaluation window and, for each, the prediction's frame nearest in time."""
    end = (cfg.n_frames - 0.5) / cfg.fps
    keep = np.flatnonzero(gt.times <= end)
    return keep, match_times(pred.times, gt.times[keep])


def _track_warp_error(video: torch.Tensor | None, ann: Annotations, cfg: AlignConfig) -> float:
    """:func:`~panoworld.eval.metrics.warp_error` of a clock video along its annotation's tracks (in the window)."""
    if video is None or ann.tracks_2d is None:
        return float("nan")
    sel = np.flatnonzero(ann.times <= (cfg.n_frames - 0.5) / cfg.fps)
    clock = np.minimum(np.floor(ann.times[sel] * cfg.fps + 0.5).astype(int), cfg.n_frames - 1).tolist()
    vis = ann.visibility[:, sel] if ann.visibility is not None else np.ones(ann.tracks_2d.shape[:2], bool)[:, sel]
    return warp_error(video, ann.tracks_2d[:, sel], vis, ann.size, clock)


def geometry_metrics(gt: Annotations, pred: Annotations, cfg: AlignConfig, *, gt_video, gt_fps: float,
                     gt_frames: int, is_static: bool, solid_angle: bool = True, device="cpu",
                     pred_clock: torch.Tensor | None = None,
                     gt_clock: torch.Tensor | None = None) -> tuple[dict[str, float], dict[str, str]]:
    """The geometry metrics both sides have data for, and {family: why not} for the others (:func:`family_of`).

    ``gt_video`` is the GT video file (its frames at the annotation times give the heuristic sky mask and texture
    weights); GT pixels that the GT's own ``sky_mask.npy`` marks have no depth (every depth metric leaves them out);
    ``pred_clock`` / ``gt_clock`` the videos on the evaluation clock, for the warping error along tracks.
    """
    keep, idx = pair_times(gt, pred, cfg)
    if len(keep) == 0:
        return {}, {f: "no GT annotation frame inside the evaluation window" for f in
                    ("depth", "tracks", "camera", "consistency", "warp")}
    out: dict[str, float] = {}
    why: dict[str, str] = {}
    pd = gd = None
    if gt.depth is not None:
        gd = gt.depth[keep].to(device)
        if gt.sky is not None:  # sky_mask.npy marks pixels without a valid depth (a synth dome, DAP's 100 m code)
            gd = gd.masked_fill(torch.from_numpy(np.asarray(gt.sky[keep], bool)).to(device), float("nan"))
    if gd is not None and pred.depth is not None:
        pd = pred.depth[idx].to(device)
        pd = resize_erp(pd[:, None], tuple(gd.shape[-2:]), antialias=False)[:, 0]
        indices = nearest_frames(gt.times[keep], max(1, gt_frames), gt_fps)
        frames = read_frames_at(gt_video, indices, tuple(gd.shape[-2:])).to(device)
        out.update(DepthMetrics(solid_angle=solid_angle).update(pd, gd, frames))
    elif pred.depth is None:
        why["depth"] = "the prediction's annotations have no depth"
    if gt.tracks_2d is not None and pred.tracks_2d is not None and len(gt.tracks_2d) == len(pred.tracks_2d):
        gvis = gt.visibility[:, keep] if gt.visibility is not None else np.ones(gt.tracks_2d[:, keep].shape[:2], bool)
        pvis = pred.visibility[:, idx] if pred.visibility is not None else np.ones_like(gvis)
        g3 = gt.tracks_3d[:, keep] if gt.tracks_3d is not None else None
        p3 = pred.tracks_3d[:, idx] if pred.tracks_3d is not None else None
        out.update(TrackMetrics().update(pred.tracks_2d[:, idx], pvis, pred.size, gt.tracks_2d[:, keep], gvis,
                                         gt.size, p3, g3))
    elif pred.tracks_2d is None:
        why["tracks"] = "the prediction's annotations have no tracks"
    elif gt.tracks_2d is not None:
        why["tracks"] = (f"the prediction's {len(pred.tracks_2d)} tracks are not queried at the GT's "
                         f"{len(gt.tracks_2d)} query points")
    if gt.tracks_2d is not None and pred.tracks_2d is not None:
        value = _track_warp_error(pred_clock, pred, cfg)
        out["temporal/warp_error"] = value
        out["temporal/warp_error_gap"] = abs(value - _track_warp_error(gt_clock, gt, cfg))
    elif pred.tracks_2d is None:
        why["warp"] = "the prediction's annotations have no tracks"
    gposes = gt.poses[keep] if gt.poses is not None else (np.tile(np.eye(4), (len(keep), 1, 1)) if is_static else None)
    if gposes is not None and pred.poses is not None:
        out.update(CameraMetrics().update(pred.poses[idx], gposes))
        if not np.isfinite(out["camera/ate"]):
            why["camera/ate"] = "the GT camera does not move: no path scale to align to"
    elif pred.poses is None:
        why["camera"] = "the prediction's annotations have no camera poses"

    def side(ann: Annotations, sel: np.ndarray, depth) -> dict:
        return {
            "depth": depth,
            "visibility": None if ann.visibility is None else ann.visibility[:, sel],
            "tracks_3d": None if ann.tracks_3d is None else ann.tracks_3d[:, sel],
            "static": gt.static,
        }

    out.update(ConsistencyMetrics().update(side(pred, idx, pd), side(gt, keep, gd)))
    why.update({name: reason for name, reason in REASONS.items() if name in out and not np.isfinite(out[name])})
    why.setdefault("consistency", "the prediction's annotations lack what this metric needs")
    for family in ("depth", "tracks", "camera", "warp"):
        why.setdefault(family, "not computable for this clip (too few valid pixels, points or poses)")
    return out, why
