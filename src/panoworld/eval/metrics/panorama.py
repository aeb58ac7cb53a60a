"""Panorama-specific metrics: the seam suite and the inputs of OmniFID (cube faces).

All functions take (T, 3, H, W) ERP videos in [0, 1]. The seam is the meridian at +-180 degrees,
i.e. between the last and the first pixel column.
"""

from __future__ import annotations

import torch

from panoworld.sphere import erp_to_cubemap

from ._base import Metric, MetricInfo, register_info

__all__ = [
    "true_median",
    "end_continuity",
    "discontinuity_score",
    "seam_flicker",
    "seam_crop",
    "cube_face_groups",
    "SeamMetrics",
]

register_info("seam/end_continuity", MetricInfo("panorama", "ratio", False, None))
register_info("seam/discontinuity", MetricInfo("panorama", "ratio", False, None))
register_info("seam/flicker", MetricInfo("panorama", "ratio", False, None))
register_info("seam/lpips_excess", MetricInfo("panorama", "1", False, None))
register_info("seam/end_continuity_gap", MetricInfo("panorama", "ratio", False, 0.0))
register_info("seam/discontinuity_gap", MetricInfo("panorama", "ratio", False, 0.0))
register_info("seam/flicker_gap", MetricInfo("panorama", "ratio", False, 0.0))


def true_median(values: torch.Tensor) -> torch.Tensor:
    """The median of all elements; for an even count the mean of the two middle ones (``torch.median`` takes
    the lower one)."""
    flat = values.flatten().double().sort().values
    n = flat.numel()
    return (flat[(n - 1) // 2] + flat[n // 2]) / 2


def _column_steps(video: torch.Tensor) -> torch.Tensor:
    """(W,) mean |column j - column j-1| over frames, channels and rows (circular); entry 0 is the seam."""
    return (video - torch.roll(video, 1, dims=-1)).abs().mean(dim=(0, 1, 2))


def end_continuity(video: torch.Tensor, eps: float = 1e-6) -> float:
    """Mean |last column - first column| divided by the median of the same between neighbouring columns
    everywhere (1 = the seam is like any other column boundary; pixel noise raises both and cancels).

    The PanFlow / PanoWan definition is the numerator alone (intensity units), which counts noise and texture
    as seam error."""
    steps = _column_steps(video)
    return float(steps[0] / (true_median(steps) + eps))


def _step_response(video: torch.Tensor) -> torch.Tensor:
    """(W,) mean |difference of the 2-column means on either side| of every column boundary (circular).

    Entry ``j`` is the boundary between columns ``j - 1`` and ``j``; entry 0 is the seam.
    """
    left = (torch.roll(video, 1, dims=-1) + torch.roll(video, 2, dims=-1)) / 2
    right = (video + torch.roll(video, -1, dims=-1)) / 2
    return (right - left).abs().mean(dim=(0, 1, 2))


def discontinuity_score(video: torch.Tensor, eps: float = 1e-6) -> float:
    """Seam step response divided by the median step response of all column boundaries (1 = no seam).

    A kernel [-1/2, -1/2, +1/2, +1/2] is run across every column boundary of the wrapped frame; the
    response at the +-180-degree boundary is compared with the typical response elsewhere, so real image
    content scores about 1 and a visible seam scores well above 1.
    """
    resp = _step_response(video)
    return float(resp[0] / (true_median(resp) + eps))


def seam_flicker(video: torch.Tensor, band: int = 2, eps: float = 1e-6) -> float:
    """Temporal change at the seam against the whole frame: mean |x_t - x_{t-1}| in the ``band`` columns on
    each side of the seam, divided by the same over all pixels (1 = the seam flickers like the rest; NaN
    for a single frame)."""
    if video.shape[0] < 2:
        return float("nan")
    diff = (video[1:] - video[:-1]).abs()
    seam = torch.cat([diff[..., :band], diff[..., -band:]], dim=-1).mean()
    return float(seam / (diff.mean() + eps))


def seam_crop(video: torch.Tensor, centre_deg: float) -> torch.Tensor:
    """(T, 3, H, H) ERP crop (180 degrees of longitude, all rows) centred on longitude ``centre_deg``, wrapped."""
    h, w = video.shape[-2:]
    centre = round((centre_deg + 180.0) / 360.0 * w)
    return torch.roll(video, shifts=w // 2 - centre, dims=-1)[..., w // 2 - h // 2 : w // 2 + h // 2]


def cube_face_groups(video: torch.Tensor, face_size: int) -> dict[str, torch.Tensor]:
    """OmniFID inputs: {"sides": (4T, 3, s, s), "up": (T, 3, s, s), "down": (T, 3, s, s)} cube faces."""
    faces = erp_to_cubemap(video, face_size).clamp(0, 1)
    return {"sides": faces[:, :4].flatten(0, 1), "up": faces[:, 4], "down": faces[:, 5]}


class SeamMetrics(Metric):
    """Seam suite of one clip: ``seam/end_continuity``, ``seam/discontinuity``, ``seam/flicker`` of the
    prediction; their ``*_gap`` to the GT (|prediction - GT|, 0 for the GT itself); and, with an
    LPIPS backbone, ``seam/lpips_excess`` = LPIPS(pred, GT) on the crop centred at 180 degrees minus the same
    on the crop centred at 0 degrees.
    """

    def __init__(self, *, lpips=None):
        self.lpips = lpips

    def _evaluate(self, pred: torch.Tensor, gt: torch.Tensor) -> dict[str, float]:
        out = {
            "seam/end_continuity": end_continuity(pred),
            "seam/discontinuity": discontinuity_score(pred),
            "seam/flicker": seam_flicker(pred),
        }
        out["seam/end_continuity_gap"] = abs(out["seam/end_continuity"] - end_continuity(gt))
        out["seam/discontinuity_gap"] = abs(out["seam/discontinuity"] - discontinuity_score(gt))
        out["seam/flicker_gap"] = abs(out["seam/flicker"] - seam_flicker(gt))
        if self.lpips is not None:
            far = self.lpips.distance_map(seam_crop(pred, 180.0), seam_crop(gt, 180.0)).mean()
            near = self.lpips.distance_map(seam_crop(pred, 0.0), seam_crop(gt, 0.0)).mean()
            out["seam/lpips_excess"] = float(far - near)
        return out
