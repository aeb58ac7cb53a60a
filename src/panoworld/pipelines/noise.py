"""Seeded noise: the initial latent noise, the reference latent's pixel fill, and latitude-aware warping.

Everything is drawn on the CPU from the seed, so a run is reproducible on any device.
"""

from __future__ import annotations


import numpy as np
import torch

from panoworld.sphere import pixel_to_lonlat

__all__ = ["initial_noise", "fill_noise", "latitude_warp_noise"]


def initial_noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """The reference's initial latent noise: ``np.random.RandomState(seed).standard_normal(shape)`` as float32.

    Args:
        shape: latent shape, e.g. (1, 16, T_lat, H/8, W/8).
        seed: integer seed (0 <= seed < 2**32).

    Returns:
        float32 CPU tensor of ``shape``.
    """
    rng = np.random.RandomState(int(seed) % (2**32))
    return torch.from_numpy(rng.standard_normal(tuple(int(s) for s in shape)).astype(np.float32))


def fill_noise(shape: tuple[int, ...], seed: int, *, std: float = 0.5) -> torch.Tensor:
    """N(0, std^2) pixel noise for the reference latent's non-FOV area, drawn from a CPU generator.

    The reference uses an unseeded ``torch.randn_like``; seeding it makes runs reproducible.
    """
    gen = torch.Generator(device="cpu").manual_seed(int(seed) + 1)
    return torch.randn(tuple(shape), generator=gen, dtype=torch.float32) * std


def _circular_interp(rows: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of (..., H, W) ``rows`` at per-row (H, W) column ``positions`` (wrapping in W)."""
    width = rows.shape[-1]
    left = torch.floor(positions)
    frac = (positions - left).to(rows.dtype)
    i0 = left.long() % width
    i1 = (i0 + 1) % width
    idx0 = i0.expand(*rows.shape[:-2], *i0.shape)
    idx1 = i1.expand(*rows.shape[:-2], *i1.shape)
    return torch.gather(rows, -1, idx0) * (1 - frac) + torch.gather(rows, -1, idx1) * frac


def latitude_warp_noise(noise: torch.Tensor) -> torch.Tensor:
    """Latitude-aware noise (PanoWan style, reference ``--erp_warp_noise``) for ERP latents (..., H, W), W = 2H.

    Each latent row at latitude ``lat`` is resampled at horizontal positions scaled by ``cos(lat)`` (= sin of
    the colatitude) about the image centre, so noise near the poles is stretched horizontally like ERP content.
    Linear interpolation shrinks the variance, so ``x`` and ``x^2`` are both interpolated and recombined as
    ``sign(w(x)) * sqrt(w(x^2))``, which keeps every value's second moment at 1.

    Returns a tensor of the same shape and dtype.
    """
    height, width = noise.shape[-2:]
    ys = torch.arange(height, dtype=torch.float64)
    lat = pixel_to_lonlat(torch.zeros_like(ys), ys, height, width)[..., 1]
    scale = torch.cos(lat).clamp_min(1.0 / width)
    xs = torch.arange(width, dtype=torch.float64) + 0.5 - width / 2.0
    positions = xs[None, :] * scale[:, None] + width / 2.0 - 0.5
    work = noise.double()
    warped = _circular_interp(work, positions)
    energy = _circular_interp(work * work, positions)
    return (torch.sign(warped) * torch.sqrt(energy)).to(noise.dtype)
