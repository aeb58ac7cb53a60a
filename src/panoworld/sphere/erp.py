"""ERP array operations that must respect the seam: wrap padding, resizing, query grids, wrapped coordinates.

The left and right edges of an ERP are one meridian (lon = +-pi), so anything that looks at a column's
neighbours (interpolation, convolution, a tracker's search window) must see the other edge. These are the only
implementations in panoworld; every package uses them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["wrap_pad", "resize_erp", "query_grid", "wrap_x", "wrap_dx"]


def wrap_pad(x: torch.Tensor, columns: int) -> torch.Tensor:
    """(..., W) -> (..., W + 2 columns): ``columns`` wrapped columns copied onto each side (any ``columns`` >= 0;
    more than W repeats the image)."""
    if columns < 0:
        raise ValueError(f"columns must be >= 0, got {columns}")
    if columns == 0:
        return x
    width = x.shape[-1]
    if columns <= width:
        return torch.cat([x[..., width - columns :], x, x[..., :columns]], dim=-1)
    index = torch.remainder(torch.arange(-columns, width + columns, device=x.device), width)
    return x.index_select(-1, index)


def _wrap_columns(in_w: int, out_w: int) -> tuple[int, int]:
    """Columns (input, output) to pad on each side so that both pads cover the same longitude span and the
    padded output keeps exactly the scale ``out_w / in_w``; wide enough for the antialias filter support."""
    g = math.gcd(in_w, out_w)
    step_in, step_out = in_w // g, out_w // g
    need = max(2, math.ceil(2 * in_w / out_w) + 1)
    k = math.ceil(need / step_in)
    return k * step_in, k * step_out


def resize_erp(erp: torch.Tensor, size: tuple[int, int], *, antialias: bool = True) -> torch.Tensor:
    """Bilinear ERP resize with exact longitude wrap: (..., C, H, W) float -> (..., C, h, w), ``size = (h, w)``.

    The image is padded circularly by the same longitude span on input and output before interpolating, so
    the seam columns see their true neighbours and a rotated ERP resizes to the rotated result. Rows are
    clamped at the poles. ``antialias`` (used only when shrinking) low-passes with the bilinear filter
    widened to the scale, as PIL does. Outputs are convex combinations of inputs (no clamping needed).
    """
    h, w = size
    if tuple(erp.shape[-2:]) == (h, w):
        return erp
    if erp.dim() < 3:
        raise ValueError(f"resize_erp needs (..., C, H, W), got {tuple(erp.shape)}")
    lead = erp.shape[:-3]
    flat = erp.reshape(-1, *erp.shape[-3:])
    in_h, in_w = flat.shape[-2:]
    p_in, p_out = _wrap_columns(in_w, w)
    shrink = antialias and (h < in_h or w < in_w)
    out = F.interpolate(wrap_pad(flat, p_in), size=(h, w + 2 * p_out), mode="bilinear", align_corners=False,
                        antialias=shrink)
    return out[..., p_out : p_out + w].reshape(*lead, *out.shape[-3:-1], w)


def query_grid(height: int, width: int, grid_size: int, *, x_offset: float = 0.0,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(grid_size**2, 2) (x, y) pixel coordinates (centres at integers) of a regular grid over a height x width
    image, row-major (y outer, x inner); each point is the centre of its grid cell. ``x_offset`` shifts x (e.g.
    by the padding of a wrap-padded frame)."""
    ys = (torch.arange(grid_size, dtype=torch.float64) + 0.5) * height / grid_size - 0.5
    xs = (torch.arange(grid_size, dtype=torch.float64) + 0.5) * width / grid_size - 0.5 + x_offset
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1).reshape(-1, 2).to(dtype)


def wrap_x(x: torch.Tensor, width: int) -> torch.Tensor:
    """Column coordinates wrapped into [-0.5, W - 0.5), the span of the W pixel centres' cells."""
    return torch.remainder(x + 0.5, width) - 0.5


def wrap_dx(dx: torch.Tensor, width: int) -> torch.Tensor:
    """Horizontal pixel differences wrapped to [-W/2, W/2): the shorter way round the seam."""
    return torch.remainder(dx + width / 2, width) - width / 2
