"""Depth accuracy: AbsRel and delta < 1.25, raw / sky-masked / texture-weighted, with optional alignment.

Depth maps are (T, H, W) metric range in metres (``panoworld.formats.annotations.read_annotations`` converts
older folders that stored a DAP [0, 1] code). Prediction and GT frames are already paired by time
and the prediction resized to the GT size. Every variant can weight pixels by solid angle.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from panoworld.sphere import solid_angle_weights

from ._base import Metric, MetricInfo, register_info
from .visual import pole_mask

__all__ = ["MIN_VALID", "sky_mask", "texture_weights", "align_scale", "abs_rel", "delta1", "DepthMetrics"]

#: Fewer valid pixels than this in a clip -> NaN.
MIN_VALID = 16
EPS = 1e-3

register_info("depth/abs_rel", MetricInfo("depth", "1", False, 0.0))
register_info("depth/delta1", MetricInfo("depth", "fraction", True, 1.0))


def sky_mask(frames: torch.Tensor, top_fraction: float = 0.45) -> torch.Tensor:
    """(T, H, W) bool: the reference's sky heuristic ``B > R and B > G - 5 and luma > 130`` (0..255 scale)
    restricted to the top ``top_fraction`` of rows. ``frames``: (T, 3, H, W) RGB in [0, 1]."""
    r, g, b = (frames * 255.0).unbind(dim=1)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    sky = (b > r) & (b > g - 5) & (luma > 130)
    rows = int(round(top_fraction * frames.shape[-2]))
    sky[:, rows:] = False
    return sky


def texture_weights(frames: torch.Tensor) -> torch.Tensor:
    """(T, H, W) weights ``(|d/dx| + |d/dy|)(grey) / P99``, clipped to [0, 1] (x wraps around the seam)."""
    grey = (0.299 * frames[:, 0] + 0.587 * frames[:, 1] + 0.114 * frames[:, 2]) * 255.0
    gx = (torch.roll(grey, -1, dims=-1) - grey).abs()
    gy = F.pad(grey[:, 1:] - grey[:, :-1], (0, 0, 0, 1)).abs()
    mag = gx + gy
    flat = mag.flatten()
    if flat.numel() > 1_000_000:  # torch.quantile's size limit: a regular subsample estimates P99 well
        flat = flat[:: -(-flat.numel() // 1_000_000)]
    p99 = torch.quantile(flat.float(), 0.99).to(mag)
    return (mag / p99.clamp_min(1e-6)).clamp(0, 1)


def align_scale(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor, mode: str) -> torch.Tensor:
    """Align ``pred`` to ``gt`` over pixels with ``weight > 0``: ``median`` (s = median g / median p) or
    ``scale_shift`` (weighted least squares s p + t ~ g); one (s, t) per clip."""
    valid = weight > 0
    s, t = _fit_affine(pred[valid].double(), gt[valid].double(), weight[valid].double(), mode)
    return (pred.double() * s + t).to(pred.dtype)


def _fit_affine(p: torch.Tensor, g: torch.Tensor, w: torch.Tensor, mode: str) -> tuple[torch.Tensor | float, ...]:
    """(s, t) of :func:`align_scale` from gathered 1-D pixels; (1, 0) when there are too few."""
    if mode not in ("median", "scale_shift"):
        raise ValueError(f"unknown alignment {mode!r}; use median or scale_shift")
    if p.numel() < MIN_VALID:
        return 1.0, 0.0
    if mode == "median":
        return g.median() / p.median().clamp_min(EPS), 0.0
    sw, sp, sg = w.sum(), (w * p).sum(), (w * g).sum()
    det = sw * (w * p * p).sum() - sp * sp
    if det.abs() < 1e-12:
        return 1.0, 0.0
    s = (sw * (w * p * g).sum() - sp * sg) / det
    return s, (sg - s * sp) / sw


def _valid(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(pred) & torch.isfinite(gt) & (gt > EPS) & (weight > 0)


def abs_rel(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor) -> float:
    """Weighted mean of ``|p - g| / g`` over valid pixels (finite, g > 1e-3, weight > 0); NaN if < 16 pixels."""
    v = _valid(pred, gt, weight)
    if int(v.sum()) < MIN_VALID:
        return float("nan")
    p, g, w = pred[v].double(), gt[v].double(), weight[v].double()
    return float((w * (p - g).abs() / g).sum() / w.sum())


def delta1(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor, threshold: float = 1.25) -> float:
    """Weighted fraction of valid pixels with ``max(p/g, g/p) < 1.25``; pixels with p <= 1e-3 count as wrong."""
    v = _valid(pred, gt, weight)
    if int(v.sum()) < MIN_VALID:
        return float("nan")
    p, g, w = pred[v].double(), gt[v].double(), weight[v].double()
    ok = (p > EPS) & (torch.maximum(p / g.clamp_min(EPS), g / p.clamp_min(EPS)) < threshold)
    return float((w * ok).sum() / w.sum())


def _scores(p: torch.Tensor, g: torch.Tensor, w: torch.Tensor) -> tuple[float, float]:
    """(AbsRel, delta1) of gathered valid pixels; NaN below :data:`MIN_VALID` pixels."""
    if p.numel() < MIN_VALID:
        return float("nan"), float("nan")
    total = w.sum()
    ok = (p > EPS) & (torch.maximum(p / g.clamp_min(EPS), g / p.clamp_min(EPS)) < 1.25)
    return float((w * (p - g).abs() / g).sum() / total), float((w * ok).sum() / total)


class DepthMetrics(Metric):
    """Depth metrics of one clip. Names: ``depth/{abs_rel,delta1}/{raw,sky_masked,texture_weighted}``, each
    also ``@median`` and ``@scale_shift`` aligned, plus ``depth/{abs_rel,delta1}/pole`` (|lat| > 60 deg, raw).

    ``update(pred, gt, frames)``: (T, H, W) metres each; ``frames`` (T, 3, H, W) GT RGB at the same times
    (for the sky mask and texture weights). Sky pixels are also those with non-finite GT depth.
    """

    def __init__(self, *, solid_angle: bool = True):
        self.solid_angle = solid_angle

    def _evaluate(self, pred: torch.Tensor, gt: torch.Tensor, frames: torch.Tensor | None = None) -> dict[str, float]:
        t, h, w = gt.shape
        base = solid_angle_weights(h, w, device=gt.device, dtype=torch.float32) if self.solid_angle else None
        base = torch.ones(h, w, device=gt.device) if base is None else base / base.mean()
        base = base.expand(t, h, w)
        pred, gt = pred.float(), gt.float()
        weights = {"raw": base}
        if frames is not None:
            weights["sky_masked"] = base * (~sky_mask(frames)).float()
            weights["texture_weighted"] = base * texture_weights(frames)
        out: dict[str, float] = {}
        for tag, wmap in weights.items():
            v = _valid(pred, gt, wmap)  # one gather per variant; the alignments reuse the same pixels
            pv, gv, wv = pred[v].double(), gt[v].double(), wmap[v].double()
            for align in ("", "@median", "@scale_shift"):
                scale, shift = _fit_affine(pv, gv, wv, align[1:]) if align else (1.0, 0.0)
                q = pv * scale + shift
                out[f"depth/abs_rel/{tag}{align}"], out[f"depth/delta1/{tag}{align}"] = _scores(q, gv, wv)
        pole = base * pole_mask(h, w, device=gt.device)
        out["depth/abs_rel/pole"] = abs_rel(pred, gt, pole)
        out["depth/delta1/pole"] = delta1(pred, gt, pole)
        return out
