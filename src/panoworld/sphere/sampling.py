"""Resampling by precomputed gather plans: bilinear or nearest, with exact longitude wrap.

A :class:`SamplingPlan` stores, for every output pixel, the flat indices of the source pixels
it reads and their weights. Plans are built once per (geometry, shape, device) and cached by the
callers; applying one is a single gather plus a weighted sum, works for any float dtype and
any leading batch dims, and is differentiable with respect to the image.

Wrapping in ``x`` (ERP longitude) is exact: the neighbour of the last column is the first
column, so no seam column is black or duplicated. Rows are clamped at the poles.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["SamplingPlan", "build_plan", "apply_plan", "MODES"]

MODES = ("bilinear", "nearest")


@dataclass(frozen=True)
class SamplingPlan:
    """Indices (K, P) into a flattened (src_h * src_w) image and weights (K, P); K = 4 bilinear, 1 nearest.

    ``valid`` (P,) is False where the output pixel has no source (outside a perspective image);
    such pixels get weight 0.
    """

    index: torch.Tensor
    weight: torch.Tensor
    valid: torch.Tensor
    src_size: tuple[int, int]
    out_size: tuple[int, int]


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def build_plan(
    x: torch.Tensor,
    y: torch.Tensor,
    src_size: tuple[int, int],
    *,
    mode: str = "bilinear",
    wrap_x: bool = False,
    valid: torch.Tensor | None = None,
) -> SamplingPlan:
    """Plan sampling of a (src_h, src_w) image at continuous pixel coordinates (centres at integers).

    Args:
        x, y: (Ho, Wo) column and row coordinates (float64 recommended).
        src_size: (src_h, src_w) of the image that will be sampled.
        mode: "bilinear" or "nearest".
        wrap_x: wrap columns modulo src_w (ERP longitude); otherwise clamp to the border.
        valid: optional (Ho, Wo) bool, False where the output has no source pixel.
    """
    _check_mode(mode)
    src_h, src_w = src_size
    out_size = (int(x.shape[0]), int(x.shape[1]))
    x = x.reshape(-1)
    y = y.reshape(-1)
    if valid is None:
        valid = torch.ones_like(x, dtype=torch.bool)
    else:
        valid = valid.reshape(-1)

    def fix_x(col: torch.Tensor) -> torch.Tensor:
        return torch.remainder(col, src_w) if wrap_x else col.clamp(0, src_w - 1)

    if mode == "nearest":
        col = fix_x(torch.floor(x + 0.5).long())
        row = torch.floor(y + 0.5).long().clamp(0, src_h - 1)
        index = (row * src_w + col)[None]
        weight = valid.to(x.dtype)[None]
    else:
        x0f, y0f = torch.floor(x), torch.floor(y)
        fx, fy = x - x0f, y - y0f
        x0, y0 = x0f.long(), y0f.long()
        cols = (fix_x(x0), fix_x(x0 + 1))
        rows = (y0.clamp(0, src_h - 1), (y0 + 1).clamp(0, src_h - 1))
        index = torch.stack(
            [rows[0] * src_w + cols[0], rows[0] * src_w + cols[1], rows[1] * src_w + cols[0], rows[1] * src_w + cols[1]]
        )
        weight = torch.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])
        weight = weight * valid.to(weight.dtype)
    index = torch.where(valid[None], index, torch.zeros_like(index))
    return SamplingPlan(index=index, weight=weight, valid=valid, src_size=(src_h, src_w), out_size=out_size)


def apply_plan(image: torch.Tensor, plan: SamplingPlan) -> torch.Tensor:
    """Resample (..., C, src_h, src_w) -> (..., C, Ho, Wo) with ``plan`` (same device as the image)."""
    if tuple(image.shape[-2:]) != plan.src_size:
        raise ValueError(f"image is {tuple(image.shape[-2:])}, plan expects {plan.src_size}")
    if not image.is_floating_point():
        raise TypeError(f"expected a floating-point image, got {image.dtype}")
    lead = image.shape[:-2]
    flat = image.reshape(-1, plan.src_size[0] * plan.src_size[1])
    k, p = plan.index.shape
    gathered = flat.index_select(1, plan.index.reshape(-1)).view(flat.shape[0], k, p)
    weight = plan.weight.to(image.dtype)
    out = gathered[:, 0] * weight[0]
    for j in range(1, k):
        out = out + gathered[:, j] * weight[j]
    return out.view(*lead, *plan.out_size)
