"""Temporal quality without learned networks: flicker, amount of motion, and warping error along point tracks.

Videos are (T, 3, H, W) in [0, 1] on the evaluation clock (:mod:`panoworld.eval.align`). Every statistic is
weighted by solid angle (:func:`panoworld.sphere.solid_angle_weights`) and treats the ERP as a sphere: pooling
blocks are centred on the +-180-degree seam as on every other meridian, and point samples wrap around it.
Each value is also reported as ``*_gap`` = |prediction - GT| (ideal 0): a frozen video does not flicker at all,
so the raw value alone would reward it.

- ``temporal/flicker`` (intensity, [0, 1]): mean over frames and 8 x 16 blocks of the sphere of
  |m_t - (m_{t-1} + m_{t+1}) / 2|, m = a block's mean luminance. A smooth change of brightness or a camera pan
  changes m linearly and scores ~0; a frame that jumps away from both neighbours (gain flicker, shuffled frames)
  scores high. Computed over the distinct source frames on the clock (a 8-fps video shown at 16 fps repeats
  every frame; repeats are not flicker).
- ``temporal/motion`` (intensity per clock step): mean |x_t - x_{t-1}| over the clock (the amount of change;
  a frozen video scores 0).
- ``temporal/warp_error`` (intensity): mean |I_{k+1}(p_{k+1}) - I_k(p_k)| of the colour along point tracks
  between consecutive annotation frames where the point is visible in both, each sample weighted by cos(lat)
  (tracks from a pixel grid over-sample the poles). The prediction is read along its own tracks, the GT along
  the GT's; a video whose content does not follow its tracks (flicker, jitter, shuffled or drifting frames)
  scores high.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from panoworld.sphere import pixel_to_lonlat, solid_angle_weights

from ._base import Metric, MetricInfo, register_info

__all__ = ["BLOCKS", "distinct_frames", "flicker_index", "motion_amount", "warp_error", "TemporalMetrics"]

#: Rows x columns of the pooling blocks of the flicker index (each 22.5 degrees square).
BLOCKS = (8, 16)

register_info("temporal/flicker", MetricInfo("temporal", "intensity [0,1]", False, None))
register_info("temporal/motion", MetricInfo("temporal", "intensity per clock step", True, None))
register_info("temporal/warp_error", MetricInfo("temporal", "intensity [0,1]", False, None))
for _name in ("flicker", "motion", "warp_error"):
    register_info(f"temporal/{_name}_gap", MetricInfo("temporal", "intensity", False, 0.0))


def _luma(video: torch.Tensor) -> torch.Tensor:
    return 0.299 * video[:, 0] + 0.587 * video[:, 1] + 0.114 * video[:, 2]


def distinct_frames(source_index: list[int] | None, n: int) -> list[int]:
    """Positions on the clock where a new source frame starts (all ``n`` when the sources are unknown)."""
    if source_index is None:
        return list(range(n))
    return [i for i, s in enumerate(source_index) if i == 0 or s != source_index[i - 1]]


def _block_means(video: torch.Tensor, blocks: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, R * C) solid-angle weighted block means of the luminance, and the (R * C,) block solid angles.

    The frame is rolled by half a block width first, so a block straddles the seam like any other meridian."""
    t, _, h, w = video.shape
    rows, cols = blocks
    if h % rows or w % cols:
        raise ValueError(f"an ERP of {h}x{w} cannot be split into {rows}x{cols} blocks")
    sw = solid_angle_weights(h, w, device=video.device, dtype=torch.float64)
    y = torch.roll(_luma(video).double() * sw, w // cols // 2, dims=-1)
    sw = torch.roll(sw, w // cols // 2, dims=-1)
    mass = F.avg_pool2d(sw[None, None], (h // rows, w // cols)).flatten()
    means = F.avg_pool2d(y[:, None], (h // rows, w // cols)).flatten(1) / mass
    return means, mass


def flicker_index(video: torch.Tensor, source_index: list[int] | None = None,
                  blocks: tuple[int, int] = BLOCKS) -> float:
    """``temporal/flicker`` of one video (see the module docstring); 0 with fewer than 3 distinct frames."""
    keep = distinct_frames(source_index, video.shape[0])
    if len(keep) < 3:
        return 0.0
    means, mass = _block_means(video[keep], _fit_blocks(video, blocks))
    dev = (means[1:-1] - (means[:-2] + means[2:]) / 2).abs()
    return float((dev * mass).sum(-1).mean() / mass.sum())


def _fit_blocks(video: torch.Tensor, blocks: tuple[int, int]) -> tuple[int, int]:
    """The block grid, coarsened for frames too small to split (tiny test videos)."""
    h, w = video.shape[-2:]
    return math.gcd(blocks[0], h), math.gcd(blocks[1], w)


def motion_amount(video: torch.Tensor) -> float:
    """``temporal/motion``: solid-angle weighted mean |x_t - x_{t-1}| over pixels, channels and clock steps."""
    if video.shape[0] < 2:
        return 0.0
    sw = solid_angle_weights(*video.shape[-2:], device=video.device, dtype=torch.float64)
    diff = (video[1:] - video[:-1]).abs().double().mean(dim=1)
    return float((diff * sw).sum(dim=(-2, -1)).mean() / sw.sum())


def warp_error(video: torch.Tensor, tracks: torch.Tensor, visible: torch.Tensor, size: tuple[int, int],
               clock_index: list[int]) -> float:
    """``temporal/warp_error`` of one video along (N, K, 2) tracks (pixels of an ERP of ``size`` = (H, W)) with
    (N, K) bool visibility; annotation frame k is clock frame ``clock_index[k]``. NaN without a visible pair."""
    from panoworld.annotate.lifting import sample_erp

    h, w = video.shape[-2:]
    xy = torch.as_tensor(tracks, dtype=torch.float64).to(video.device)
    vis = torch.as_tensor(visible, dtype=torch.bool).to(video.device)
    if xy.shape[1] < 2:
        return float("nan")
    scale = torch.tensor([w / size[1], h / size[0]], dtype=torch.float64, device=video.device)
    at = (xy + 0.5) * scale - 0.5  # pixel centres at integers in both sizes
    frames = video[list(clock_index)].double()
    colour = torch.stack([sample_erp(frames[:, c], at) for c in range(frames.shape[1])], -1)  # (N, K, 3)
    lat = pixel_to_lonlat(at[..., 0], at[..., 1], h, w)[..., 1]
    both = vis[:, 1:] & vis[:, :-1] & torch.isfinite(at).all(-1)[:, 1:] & torch.isfinite(at).all(-1)[:, :-1]
    weight = torch.where(both, lat[:, :-1].cos().clamp_min(0), torch.zeros_like(lat[:, :-1]))
    if float(weight.sum()) <= 0:
        return float("nan")
    err = (colour[:, 1:] - colour[:, :-1]).abs().mean(-1).nan_to_num(0.0)
    return float((err * weight).sum() / weight.sum())


class TemporalMetrics(Metric):
    """``temporal/{flicker,motion}`` of the prediction and their ``_gap`` to the GT for one clip.

    ``update(pred, gt, pred_source=None, gt_source=None)``: videos on the clock; ``*_source`` the source frame
    index of every clock frame (to skip repeats). The warping error needs tracks: :func:`warp_error`, called by
    :func:`panoworld.eval.geometry.geometry_metrics`.
    """

    def _evaluate(self, pred: torch.Tensor, gt: torch.Tensor, pred_source: list[int] | None = None,
                  gt_source: list[int] | None = None) -> dict[str, float]:
        out = {"temporal/flicker": flicker_index(pred, pred_source), "temporal/motion": motion_amount(pred)}
        out["temporal/flicker_gap"] = abs(out["temporal/flicker"] - flicker_index(gt, gt_source))
        out["temporal/motion_gap"] = abs(out["temporal/motion"] - motion_amount(gt))
        return out
