"""Depth accuracy: AbsRel and delta < 1.25, raw / sky-masked / texture-weighted, with optional alignment.

Depth maps are (T, H, W) metric range in metres (``panoworld.formats.annotations.read_annotations`` converts
older folders that stored a DAP [0, 1] code). Prediction and GT frames are already paired by time
and the prediction resized to the GT size. Every variant can weight pixels by solid angle.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from panoworld.sphere import solid_angle_weights

from ._base import Metric, MetricInfo, register_info
from .visual import pole_mask

__all__ = ["MIN_VALID", "ALIGNMENTS", "sky_mask", "texture_weights", "align_scale", "fit_alignment", "abs_rel",
           "delta1", "DepthMetrics"]

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


#: Alignments of the prediction to the GT (one per clip and variant), by suffix; see :func:`fit_alignment`.
ALIGNMENTS = ("median", "scale", "scale_shift")
#: Largest number of pixels a robust fit looks at (a regular subsample; the choice is checked on every pixel).
FIT_PIXELS = 1 << 18
IRLS_STEPS = 30


def align_scale(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor, mode: str) -> torch.Tensor:
    """``pred`` aligned to ``gt`` over the valid pixels (finite, g > 1e-3, weight > 0): ``s * pred + t`` with
    (s, t) from :func:`fit_alignment`; one (s, t) for the whole clip."""
    valid = _valid(pred, gt, weight)
    s, t = fit_alignment(pred[valid].double(), gt[valid].double(), weight[valid].double(), mode)
    return (pred.double() * s + t).to(pred.dtype)


def _weighted_abs_rel(p: torch.Tensor, g: torch.Tensor, w: torch.Tensor, s, t) -> torch.Tensor:
    return (w * (p * s + t - g).abs() / g).sum() / w.sum()


def _weighted_median(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The value where the cumulative weight of the sorted values reaches half the total (a minimiser of
    sum w |x - v|)."""
    order = torch.argsort(values)
    cum = torch.cumsum(weights[order], 0)
    idx = torch.searchsorted(cum, 0.5 * cum[-1]).clamp(max=values.numel() - 1)
    return values[order][idx]


def _l1_affine(p: torch.Tensor, g: torch.Tensor, a: torch.Tensor, s0, steps: int = IRLS_STEPS):
    """(s, t) approximately minimising sum a |s p + t - g| (iteratively reweighted least squares from (s0, 0);
    a degenerate step keeps the previous solution; no host synchronisation inside the loop)."""
    s = torch.as_tensor(s0, dtype=p.dtype, device=p.device)
    t = torch.zeros((), dtype=p.dtype, device=p.device)
    floor = 1e-6 * g.abs().mean().clamp_min(EPS)
    for _ in range(steps):
        b = a / (s * p + t - g).abs().clamp_min(floor)
        sb, sp, sg, spp = b.sum(), (b * p).sum(), (b * g).sum(), (b * p * p).sum()
        det = sb * spp - sp * sp
        ok = torch.isfinite(det) & (det.abs() > 1e-12 * sb * spp)
        s_new = (sb * (b * p * g).sum() - sp * sg) / det
        t_new = (sg - s_new * sp) / sb
        s, t = torch.where(ok, s_new, s), torch.where(ok, t_new, t)
    return s, t


def fit_alignment(p: torch.Tensor, g: torch.Tensor, w: torch.Tensor, mode: str) -> tuple:
    """(s, t) aligning gathered 1-D predicted depths ``p`` to GT ``g`` with pixel weights ``w``; (1, 0) below
    :data:`MIN_VALID` pixels.

    - ``median``: s = median(g) / median(p), t = 0 (the usual scale-invariant protocol; it can be worse than no
      alignment, e.g. for a prediction with the right scale and a skewed error).
    - ``scale``: the s >= 0 minimising the reported AbsRel, sum w |s p - g| / g, i.e. the weighted median of g / p
      with weights w p / g (exact), t = 0.
    - ``scale_shift``: (s, t) minimising the reported AbsRel, sum w |s p + t - g| / g (a weighted L1 fit of the
      relative error, by iteratively reweighted least squares from the ``scale`` solution).

    Both minimise the error they report, so no far pixel (a 150 m sky dome, a street end) can dominate as in a
    least-squares fit in metres; the fits look at a regular subsample of at most :data:`FIT_PIXELS` pixels and a
    fit is kept only if it lowers the clip's AbsRel over every pixel against no alignment (and, for
    ``scale_shift``, against ``scale``): aligned <= unaligned always.
    """
    if mode not in ALIGNMENTS:
        raise ValueError(f"unknown alignment {mode!r}; use one of {', '.join(ALIGNMENTS)}")
    if p.numel() < MIN_VALID:
        return 1.0, 0.0
    if mode == "median":
        return g.median() / p.median().clamp_min(EPS), 0.0
    stride = -(-p.numel() // FIT_PIXELS)
    ps, gs, ws = p[::stride], g[::stride], w[::stride]
    positive = ps > EPS
    if int(positive.sum()) < MIN_VALID:
        return 1.0, 0.0
    scale = _weighted_median(gs[positive] / ps[positive], ws[positive] * ps[positive] / gs[positive])
    candidates = [(1.0, 0.0), (scale, 0.0)]
    if mode == "scale_shift":
        candidates.append(_l1_affine(ps, gs, ws / gs, scale))
    errors = [float(_weighted_abs_rel(p, g, w, s, t)) for s, t in candidates]
    finite = [e if math.isfinite(e) else math.inf for e in errors]
    return candidates[finite.index(min(finite))]


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
    also ``@median``, ``@scale`` and ``@scale_shift`` aligned (:func:`fit_alignment`, one fit per variant on its
    own pixels and weights; delta1 at the alignment that minimises AbsRel), plus ``depth/{abs_rel,delta1}/pole``
    (|lat| > 60 deg, raw).

    ``update(pred, gt, frames)``: (T, H, W) metres each; ``frames`` (T, 3, H, W) GT RGB at the same times
    (for the sky mask and texture weights). Sky pixels are also those with non-finite GT depth.
    """

    def __init__(self, *, solid_angle: bool = True):
        self.solid_angle = solid_angle

    @staticmethod
    def names(with_frames: bool = True) -> list[str]:
        """Every name :meth:`update` returns (``with_frames``: the GT frames are given)."""
        tags = ("raw", "sky_masked", "texture_weighted") if with_frames else ("raw",)
        return [f"depth/{m}/{tag}{align}" for m in ("abs_rel", "delta1") for tag in tags
                for align in ("", *(f"@{mode}" for mode in ALIGNMENTS))] + ["depth/abs_rel/pole", "depth/delta1/pole"]

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
            for align in ("", *(f"@{mode}" for mode in ALIGNMENTS)):
                scale, shift = fit_alignment(pv, gv, wv, align[1:]) if align else (1.0, 0.0)
                q = pv * scale + shift
                out[f"depth/abs_rel/{tag}{align}"], out[f"depth/delta1/{tag}{align}"] = _scores(q, gv, wv)
        pole = base * pole_mask(h, w, device=gt.device)
        out["depth/abs_rel/pole"] = abs_rel(pred, gt, pole)
        out["depth/delta1/pole"] = delta1(pred, gt, pole)
        return out
