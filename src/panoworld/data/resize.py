"""Resize ERP frames with wrap-around at the seam (the left and right edges are one meridian)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["resize_erp"]


def _wrap_pad(in_w: int, out_w: int) -> tuple[int, int]:
    """Columns (input, output) to pad on each side so that both pads cover the same longitude span."""
    g = math.gcd(in_w, out_w)
    step_in, step_out = in_w // g, out_w // g
    need = max(2, math.ceil(2 * in_w / out_w) + 1)
    k = math.ceil(need / step_in)
    return k * step_in, k * step_out


def resize_erp(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(T, C, H, W) float -> (T, C, h, w) with bilinear (antialiased when shrinking) interpolation.

    Longitude wraps: the frames are padded circularly by the same angular span on input and output
    before interpolating, so the seam columns see their true neighbours. Rows are clamped (poles).
    """
    h, w = size
    if tuple(frames.shape[-2:]) == (h, w):
        return frames
    in_w = frames.shape[-1]
    p_in, p_out = _wrap_pad(in_w, w)
    if p_in >= in_w:
        padded = torch.cat([frames] * (2 * math.ceil(p_in / in_w) + 1), dim=-1)
        extra = (padded.shape[-1] - in_w) // 2 - p_in
        padded = padded[..., extra : extra + in_w + 2 * p_in]
    else:
        padded = torch.cat([frames[..., -p_in:], frames, frames[..., :p_in]], dim=-1)
    shrink = h < frames.shape[-2] or w < in_w
    out = F.interpolate(padded, size=(h, w + 2 * p_out), mode="bilinear", align_corners=False, antialias=shrink)
    return out[..., p_out : p_out + w].clamp_(0, 1)
