"""Resampling by precomputed gather plans: bilinear or nearest, with exact longitude wrap.

A :class:`SamplingPlan` stores, for every output pixel, the flat indices of the source pixels
it reads and their weights. Plans are built once per (geometry, shape, device) and cached by the
callers; applying one is a single gather plus a weighted sum, works for any float dtype and
any leading batch dims, and is differentiable with respect to the image.

Wrapping in ``x`` (ERP longitude) is exact: the neighbour of the last column is the first
column, so no seam column is black or duplicated. Across a pole, the neighbour of the first
(last) row is the same row half a turn away in longitude, so views of the zenith and nadir are
interpolated correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["SamplingPlan", "GridPlan", "build_plan", "apply_plan", "build_grid_plan", "apply_grid_plan", "MODES"]

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
        corners = []
        for row in (y0, y0 + 1):
            # On an ERP, the row beyond a pole is the edge row half a turn away in longitude.
            over_pole = ((row < 0) | (row >= src_h)) if wrap_x else torch.zeros_like(row, dtype=torch.bool)
            shift = torch.where(over_pole, src_w // 2, 0)
            row = row.clamp(0, src_h - 1)
            corners += [row * src_w + fix_x(x0 + shift), row * src_w + fix_x(x0 + 1 + shift)]
        index = torch.stack(corners)
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


@dataclass(frozen=True)
class GridPlan:
    """A ``grid_sample`` plan with an exact fix-up for output pixels that straddle the ERP seam.

    ``grid`` (1, Ho, Wo, 2) addresses the source with ``align_corners=True`` and border padding.
    With ``wrap_x`` the pixels whose column lies between the last and first source column
    (``seam_out`` flat output indices) are recomputed by the wrap-aware gather ``seam_plan``.
    ``rows``/``cols`` place the (Ho, Wo) result inside a larger zero canvas of ``canvas_size``
    (``cols`` may wrap around the canvas width); ``window`` (Ho, Wo) zeroes pixels without a source.
    """

    grid: torch.Tensor
    mode: str
    seam_out: torch.Tensor | None
    seam_plan: SamplingPlan | None
    src_size: tuple[int, int]
    out_size: tuple[int, int]
    canvas_size: tuple[int, int] | None = None
    rows: tuple[int, int] | None = None
    cols: tuple[int, int] | None = None
    window: torch.Tensor | None = None


def build_grid_plan(
    x: torch.Tensor,
    y: torch.Tensor,
    src_size: tuple[int, int],
    *,
    mode: str = "bilinear",
    wrap_x: bool = False,
) -> GridPlan:
    """Plan sampling of a (src_h, src_w) image at (Ho, Wo) pixel coordinates (centres at integers)."""
    _check_mode(mode)
    src_h, src_w = src_size
    if wrap_x:
        x = torch.remainder(x + 0.5, src_w) - 0.5
    gx = x / max(src_w - 1, 1) * 2 - 1
    gy = y / max(src_h - 1, 1) * 2 - 1
    grid = torch.stack([gx, gy], dim=-1)[None].to(torch.float32 if x.dtype != torch.float64 else torch.float64)
    seam_out, seam_plan = None, None
    if wrap_x and mode == "bilinear":
        seam = ((x < 0) | (x > src_w - 1) | (y < 0) | (y > src_h - 1)).reshape(-1)
        if bool(seam.any()):
            seam_out = torch.nonzero(seam).squeeze(1)
            sx, sy = x.reshape(-1)[seam_out][None], y.reshape(-1)[seam_out][None]
            seam_plan = build_plan(sx, sy, src_size, mode=mode, wrap_x=True)
    return GridPlan(grid, mode, seam_out, seam_plan, src_size, (int(x.shape[0]), int(x.shape[1])))


def apply_grid_plan(image: torch.Tensor, plan: GridPlan) -> torch.Tensor:
    """Resample (..., C, src_h, src_w) -> (..., C, Ho, Wo), or into the plan's zero canvas if it has one."""
    if tuple(image.shape[-2:]) != plan.src_size:
        raise ValueError(f"image is {tuple(image.shape[-2:])}, plan expects {plan.src_size}")
    if not image.is_floating_point():
        raise TypeError(f"expected a floating-point image, got {image.dtype}")
    lead, c = image.shape[:-3], image.shape[-3]
    batch = image.reshape(-1, c, *plan.src_size)
    grid = plan.grid.to(image.dtype).expand(batch.shape[0], -1, -1, -1)
    out = torch.nn.functional.grid_sample(batch, grid, mode=plan.mode, padding_mode="border", align_corners=True)
    if plan.seam_out is not None:
        flat = out.view(batch.shape[0] * c, -1)
        fixed = apply_plan(batch.reshape(batch.shape[0] * c, 1, *plan.src_size), plan.seam_plan)
        flat[:, plan.seam_out] = fixed.reshape(batch.shape[0] * c, -1)
    if plan.window is not None:
        out = out * plan.window.to(out.dtype)
    if plan.canvas_size is None:
        return out.reshape(*lead, c, *plan.out_size)
    canvas = out.new_zeros(batch.shape[0], c, *plan.canvas_size)
    r0, r1 = plan.rows
    c0, width = plan.cols
    canvas_w = plan.canvas_size[1]
    first = min(width, canvas_w - c0)
    canvas[..., r0:r1, c0 : c0 + first] = out[..., :first]
    if first < width:
        canvas[..., r0:r1, : width - first] = out[..., first:]
    return canvas.reshape(*lead, c, *plan.canvas_size)
