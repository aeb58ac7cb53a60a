"""Shared test fixtures: deterministic, textured images built in memory (no files, no network)."""

from __future__ import annotations

import math

import pytest
import torch

from panoworld.sphere import erp_directions


def textured_erp(height: int = 128, width: int = 256, *, dtype=torch.float64) -> torch.Tensor:
    """(3, H, W) smooth but detailed texture defined on the sphere (continuous across the seam and poles)."""
    d = erp_directions(height, width, dtype=torch.float64)
    x, y, z = d.unbind(-1)
    r = 0.5 + 0.25 * torch.sin(25 * x + 10 * y) + 0.2 * torch.cos(35 * z - 15 * x)
    g = 0.5 + 0.3 * torch.sin(20 * y * z + 30 * x)
    b = 0.5 + 0.3 * torch.cos(15 * x * y + 25 * z) * torch.sin(10 * y)
    return torch.stack([r, g, b]).clamp(0, 1).to(dtype)


def textured_image(height: int = 96, width: int = 128, *, dtype=torch.float64) -> torch.Tensor:
    """(3, H, W) smooth planar texture for perspective images."""
    yy, xx = torch.meshgrid(
        torch.linspace(0, 1, height, dtype=torch.float64), torch.linspace(0, 1, width, dtype=torch.float64), indexing="ij"
    )
    r = 0.5 + 0.4 * torch.sin(2 * math.pi * (12 * xx + 4 * yy))
    g = 0.5 + 0.4 * torch.cos(2 * math.pi * (8 * yy - 5 * xx))
    b = 0.5 + 0.4 * torch.sin(2 * math.pi * 10 * xx * yy)
    return torch.stack([r, g, b]).to(dtype)


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """PSNR in dB for images in [0, 1], optionally inside a mask broadcastable to the images."""
    err = (a.double() - b.double()) ** 2
    if mask is not None:
        m = mask.double().expand_as(err)
        mse = (err * m).sum() / m.sum()
    else:
        mse = err.mean()
    return float(10 * torch.log10(1.0 / mse))


@pytest.fixture
def erp_texture() -> torch.Tensor:
    return textured_erp()


@pytest.fixture
def persp_texture() -> torch.Tensor:
    return textured_image()
