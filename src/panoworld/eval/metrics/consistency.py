"""Self-consistency of a prediction's own geometry: depth temporal stability, track lifetime, rigidity.

Each value is also reported as a ``*_gap`` to the same quantity of the GT (|pred - GT|, ideal 0), since a
frozen video is perfectly "stable" and the raw value alone rewards it.
"""

from __future__ import annotations

import numpy as np
import torch

from ._base import Metric, MetricInfo, register_info

__all__ = ["depth_temporal_cv", "track_lifetime", "rigidity", "ConsistencyMetrics"]

register_info("consistency/depth_temporal_cv", MetricInfo("consistency", "1", False, None))
register_info("consistency/track_lifetime", MetricInfo("consistency", "fraction", True, None))
register_info("consistency/rigidity_m", MetricInfo("consistency", "m", False, None))
for _n, _u in (("depth_temporal_cv", "1"), ("track_lifetime", "fraction"), ("rigidity_m", "m")):
    register_info(f"consistency/{_n}_gap", MetricInfo("consistency", _u, False, 0.0))


def depth_temporal_cv(depth: torch.Tensor) -> float:
    """Median over always-valid pixels of std_t / mean_t of a (T, H, W) depth video (unitless; NaN if T < 2)."""
    if depth.shape[0] < 2:
        return float("nan")
    d = depth.double()
    valid = (torch.isfinite(d) & (d > 1e-3)).all(dim=0)
    if int(valid.sum()) == 0:
        return float("nan")
    x = d[:, valid]
    return float((x.std(dim=0) / x.mean(dim=0)).median())


def track_lifetime(visibility: np.ndarray) -> float:
    """Mean over tracks of the fraction of frames in which the track is visible."""
    return float(np.asarray(visibility, bool).mean())


def _nearest(points: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """(M, k) indices of the ``k`` nearest other points of each of the (M, 3) ``points`` (nearest first; ties by
    index), by exact squared distances in row chunks (no scipy: the GPU image may lack it)."""
    out = np.empty((len(points), k), np.int64)
    sq = (points**2).sum(-1)
    for start in range(0, len(points), chunk):
        rows = np.arange(start, min(start + chunk, len(points)))
        d2 = sq[rows, None] + sq[None] - 2.0 * points[rows] @ points.T
        d2[np.arange(len(rows)), rows] = np.inf  # not its own neighbour
        out[rows] = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return out


def rigidity(tracks_3d: np.ndarray, visibility: np.ndarray, static: np.ndarray | None = None, k: int = 8) -> float:
    """Median over static tracks of the mean, over its ``k`` nearest static neighbours (frame-0 positions), of
    the std over time of their 3-D distance (metres; frames where both are visible and finite; NaN if none)."""
    pts = np.asarray(tracks_3d, np.float64)
    vis = np.asarray(visibility, bool) & np.isfinite(pts).all(-1)
    keep = vis[:, 0] & (np.ones(len(pts), bool) if static is None else np.asarray(static) > 0.5)
    idx = np.flatnonzero(keep)
    if len(idx) < 2:
        return float("nan")
    kk = min(k, len(idx) - 1)
    nbr = idx[_nearest(pts[idx, 0], kk)]  # (M, kk)
    p = np.nan_to_num(pts)
    dist = np.linalg.norm(p[idx][:, None] - p[nbr], axis=-1)  # (M, kk, T)
    both = vis[idx][:, None] & vis[nbr]
    cnt = both.sum(-1)
    mean = (dist * both).sum(-1) / np.maximum(cnt, 1)
    std = np.sqrt((((dist - mean[..., None]) ** 2) * both).sum(-1) / np.maximum(cnt, 1))
    ok = cnt >= 2
    per_track = np.where(ok, std, 0.0).sum(-1) / np.maximum(ok.sum(-1), 1)
    has = ok.any(-1)
    return float(np.median(per_track[has])) if has.any() else float("nan")


class ConsistencyMetrics(Metric):
    """``consistency/{depth_temporal_cv,track_lifetime,rigidity_m}`` of the prediction and their ``_gap`` to
    the GT. ``update(pred, gt)`` where each is a dict with optional keys ``depth`` (T, H, W) metres,
    ``visibility`` (N, T), ``tracks_3d`` (N, T, 3) metres, ``static`` (N,)."""

    def _evaluate(self, pred: dict, gt: dict) -> dict[str, float]:
        def values(side: dict) -> dict[str, float]:
            out = {}
            if side.get("depth") is not None:
                out["depth_temporal_cv"] = depth_temporal_cv(side["depth"])
            if side.get("visibility") is not None:
                out["track_lifetime"] = track_lifetime(side["visibility"])
                if side.get("tracks_3d") is not None:
                    out["rigidity_m"] = rigidity(side["tracks_3d"], side["visibility"], side.get("static"))
            return out

        p, g = values(pred), values(gt)
        out = {f"consistency/{k}": v for k, v in p.items()}
        out.update({f"consistency/{k}_gap": abs(v - g[k]) for k, v in p.items() if k in g})
        return out
