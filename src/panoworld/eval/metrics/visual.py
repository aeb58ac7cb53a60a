"""Paired visual quality: PSNR, SSIM, LPIPS on the ERP, on 4 yaw views and in the pole bands; CLIP-T.

Videos are (T, 3, H, W) float tensors in [0, 1] already on the common clock and at the GT size
(:mod:`panoworld.eval.align`). ERP metrics can weight every pixel by its solid angle
(:func:`panoworld.sphere.solid_angle_weights`), so the over-sampled poles do not dominate.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from panoworld.sphere import erp_lonlat, erp_to_perspective, solid_angle_weights

from ._base import Metric, MetricInfo, register_info

__all__ = [
    "PSNR_CAP_DB",
    "YAW_VIEWS",
    "psnr",
    "ssim",
    "ssim_map",
    "pole_mask",
    "yaw_views",
    "clip_frame_indices",
    "VisualMetrics",
]

#: PSNR of identical frames is infinite; it is reported as this cap (an MSE of 1e-10).
PSNR_CAP_DB = 100.0
#: Yaw angles (degrees) of the 4 perspective views, fov 90 degrees, pitch 0.
YAW_VIEWS = (0.0, 90.0, 180.0, -90.0)
#: Latitude (degrees) above which a pixel belongs to a pole band.
POLE_LAT_DEG = 60.0

for _name, _info in {
    "psnr": MetricInfo("visual", "dB", True, PSNR_CAP_DB),
    "ssim": MetricInfo("visual", "1", True, 1.0),
    "lpips": MetricInfo("visual", "1", False, 0.0),
    "clip_t": MetricInfo("visual", "cosine", True, None),
}.items():
    register_info(_name, _info)


def _weights_like(frames: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    h, w = frames.shape[-2:]
    if weights is None:
        return torch.ones(h, w, dtype=frames.dtype, device=frames.device)
    return weights.to(frames)


def psnr(pred: torch.Tensor, gt: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """(T,) PSNR in dB per frame, ``10 log10(1 / MSE)`` for [0, 1] images; MSE weighted by an (H, W) map.

    Frames with MSE below 1e-10 are reported as :data:`PSNR_CAP_DB`.
    """
    wmap = _weights_like(pred, weights)
    err = ((pred - gt) ** 2).mean(dim=-3)
    mse = (err * wmap).sum(dim=(-2, -1)) / wmap.sum()
    return (10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))).clamp_max(PSNR_CAP_DB)


def _gaussian_kernel(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    x = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def _blur(x: torch.Tensor, k: torch.Tensor, circular: bool) -> torch.Tensor:
    """Separable Gaussian blur of (N, C, H, W); circular in x (the ERP seam), reflected in y."""
    pad = k.numel() // 2
    c = x.shape[1]
    x = F.pad(x, (pad, pad, 0, 0), mode="circular" if circular else "reflect")
    x = F.pad(x, (0, 0, pad, pad), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ssim_map(pred: torch.Tensor, gt: torch.Tensor, *, circular: bool = True, window: int = 11,
             sigma: float = 1.5) -> torch.Tensor:
    """(T, H, W) SSIM map averaged over channels (Gaussian window 11, sigma 1.5, data range 1, K1 = 0.01,
    K2 = 0.03). ``circular=True`` wraps the window around the ERP seam (left and right edges are one meridian)."""
    k = _gaussian_kernel(window, sigma, pred)
    c1, c2 = 0.01**2, 0.03**2
    out = []
    for start in range(0, pred.shape[0], 8):  # chunks of 8 frames bound the memory of the blurred maps
        x, y = pred[start : start + 8], gt[start : start + 8]
        blurred = _blur(torch.cat([x, y, x * x, y * y, x * y], dim=1), k, circular)  # one grouped conv pass
        mu_x, mu_y, exx, eyy, exy = blurred.chunk(5, dim=1)
        sxx, syy, sxy = exx - mu_x**2, eyy - mu_y**2, exy - mu_x * mu_y
        smap = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
        out.append(smap.mean(dim=1))
    return torch.cat(out)


def ssim(pred: torch.Tensor, gt: torch.Tensor, weights: torch.Tensor | None = None, *, circular: bool = True,
         window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """(T,) SSIM per frame: :func:`ssim_map` averaged over pixels with the (H, W) ``weights``."""
    return _weighted_mean(ssim_map(pred, gt, circular=circular, window=window, sigma=sigma), weights)


def _weighted_mean(maps: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    wmap = _weights_like(maps, weights)
    return (maps * wmap).sum(dim=(-2, -1)) / wmap.sum()


def pole_mask(height: int, width: int, *, device=None, dtype=torch.float32,
              lat_deg: float = POLE_LAT_DEG) -> torch.Tensor:
    """(H, W) 1 for ERP pixels whose centre has |latitude| > ``lat_deg`` degrees, else 0."""
    lat = erp_lonlat(height, width, device=device, dtype=torch.float64)[..., 1]
    return (lat.abs() > math.radians(lat_deg)).to(dtype)


def yaw_views(video: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """(T, 3, H, W) ERP -> (T * 4, 3, s, s) upright 90-degree views at :data:`YAW_VIEWS` (s = H/2 by default)."""
    s = size or max(8, video.shape[-2] // 2)
    views = [erp_to_perspective(video, fov_x=90.0, yaw=yaw, size=(s, s)) for yaw in YAW_VIEWS]
    return torch.stack(views, dim=1).flatten(0, 1).clamp(0, 1)


def clip_frame_indices(n_frames: int, n_samples: int = 8) -> list[int]:
    """Every ``floor(T / n)``-th frame, ``n`` of them (the reference's CLIP-T sampling)."""
    step = max(1, n_frames // n_samples)
    return list(range(0, n_frames, step))[:n_samples]


def _weighted_lpips(lpips, pred: torch.Tensor, gt: torch.Tensor, weights: dict, chunk: int) -> dict[str, float]:
    """Mean LPIPS over frames for every (H, W) weight map in ``weights`` (None = uniform), one network pass."""
    totals = {k: 0.0 for k in weights}
    for start in range(0, pred.shape[0], chunk):
        dmap = lpips.distance_map(pred[start : start + chunk], gt[start : start + chunk]).mean(dim=-3)
        for key, wmap in weights.items():
            if wmap is None:
                totals[key] += float(dmap.mean(dim=(-2, -1)).sum())
            else:
                w = F.interpolate(wmap[None, None].to(dmap), size=dmap.shape[-2:], mode="area")[0, 0]
                totals[key] += float(((dmap * w).sum(dim=(-2, -1)) / w.sum()).sum())
    return {k: v / pred.shape[0] for k, v in totals.items()}


class VisualMetrics(Metric):
    """PSNR / SSIM / LPIPS / CLIP-T of one clip.

    Names written (each per-frame metric averaged over frames):
    ``psnr/erp``, ``psnr/erp_sw`` (solid-angle weighted), ``psnr/views`` (4 yaw views), ``psnr/pole``
    (|lat| > 60 degrees, solid-angle weighted); the same for ``ssim`` and ``lpips`` (``lpips/*`` only with an LPIPS
    backbone);
    ``clip_t/erp`` and ``clip_t/views`` (cosine of image and caption embeddings, 8 frames; needs a CLIP backbone).
    """

    def __init__(self, *, lpips=None, clip=None, views: bool = True, solid_angle: bool = True, chunk: int = 16):
        self.lpips, self.clip, self.views, self.solid_angle, self.chunk = lpips, clip, views, solid_angle, chunk

    def _evaluate(self, pred: torch.Tensor, gt: torch.Tensor, caption: str | None = None) -> dict[str, float]:
        h, w = gt.shape[-2:]
        out: dict[str, float] = {}
        sw = solid_angle_weights(h, w, device=gt.device, dtype=gt.dtype)
        pole = pole_mask(h, w, device=gt.device, dtype=gt.dtype) * sw
        variants = {"erp": None, "pole": pole}
        if self.solid_angle:
            variants["erp_sw"] = sw
        err = ((pred - gt) ** 2).mean(dim=-3)
        smap = ssim_map(pred, gt)
        for tag, wmap in variants.items():
            mse = _weighted_mean(err, wmap)
            out[f"psnr/{tag}"] = float((10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))).clamp_max(PSNR_CAP_DB).mean())
            out[f"ssim/{tag}"] = float(_weighted_mean(smap, wmap).mean())
        if self.lpips is not None:
            lp = dict(variants)
            out.update({f"lpips/{k}": v for k, v in _weighted_lpips(self.lpips, pred, gt, lp, self.chunk).items()})
        if self.views:
            pv, gv = yaw_views(pred), yaw_views(gt)
            out["psnr/views"] = float(psnr(pv, gv).mean())
            out["ssim/views"] = float(ssim(pv, gv, circular=False).mean())
            if self.lpips is not None:
                out["lpips/views"] = _weighted_lpips(self.lpips, pv, gv, {"v": None}, self.chunk)["v"]
        if self.clip is not None and caption:
            out.update(clip_scores(self.clip, pred, caption, views=self.views))
        return out


def clip_scores(clip, video: torch.Tensor, caption: str, *, views: bool = True) -> dict[str, float]:
    """CLIP-T: mean cosine similarity between the caption and 8 frames (ERP, and their 4 yaw views)."""
    frames = video[clip_frame_indices(video.shape[0])]
    text = clip.text_embed([caption])
    out = {"clip_t/erp": float((clip.image_embed(frames) @ text.T).mean())}
    if views:
        out["clip_t/views"] = float((clip.image_embed(yaw_views(frames)) @ text.T).mean())
    if not all(math.isfinite(v) for v in out.values()):
        raise ValueError("CLIP-T produced a non-finite value")
    return out
