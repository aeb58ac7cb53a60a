"""Rectified-flow matching exactly as the sampler integrates it (``pipelines/sampler.py``, reference §2.6).

- interpolation ``x_t = (1 - t) x0 + t eps`` with eps ~ N(0, I); target velocity ``v = eps - x0``, so that the
  sampler's ``x0 = x_t - t v`` holds;
- time ``t`` drawn per sample (or per latent frame) from a logit-normal ``sigmoid(N(m, s^2))`` or a uniform law,
  then shifted ``t -> shift t / (1 + (shift - 1) t)`` (shift > 1 moves mass to high noise), clipped to
  [t_min, t_max];
- the network sees ``floor(1000 t) / 1000`` (``quantize``), the integer timestep the sampler hands it, and
  ``CONDITIONAL_FRAME_TIMESTEP / 1000`` on clean conditional latent frames;
- loss ``sum w (v_pred - v)^2 / sum w / C`` over the supervised cells of a sample, where w is the latent row's
  solid angle (``panoworld.sphere.solid_angle_weights``, normalised to mean 1) times the loss mask (0 on pasted
  FOV cells and conditional frames, whose input is clean at inference too).
"""

from __future__ import annotations

import torch

from panoworld.pipelines.schedule import CONDITIONAL_FRAME_TIMESTEP
from panoworld.sphere import solid_angle_weights

from .config import FlowConfig

__all__ = ["sample_flow_time", "network_timestep", "interpolate", "row_weights", "flow_loss"]


def sample_flow_time(cfg: FlowConfig, generator: torch.Generator, shape: tuple[int, ...]) -> torch.Tensor:
    """Flow times of ``shape`` (float64, CPU) from the configured law."""
    if cfg.timesteps == "uniform":
        t = torch.rand(shape, generator=generator, dtype=torch.float64)
    else:
        t = torch.sigmoid(cfg.logit_mean + cfg.logit_std * torch.randn(shape, generator=generator, dtype=torch.float64))
    t = cfg.shift * t / (1 + (cfg.shift - 1) * t)
    return t.clamp(cfg.t_min, cfg.t_max)


def network_timestep(t: torch.Tensor, cond_frames: torch.Tensor, *, quantize: bool = True) -> torch.Tensor:
    """(B, T) flow times and (B, T) bool conditional frames -> (B, T) float32 network timesteps in [0, 1]."""
    units = torch.floor(t * 1000.0) if quantize else t * 1000.0
    units = torch.where(cond_frames.to(units.device), torch.full_like(units, CONDITIONAL_FRAME_TIMESTEP), units)
    return (units * 0.001).float()


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``(1 - t) x0 + t eps`` with t (B, T) broadcast over (B, C, T, h, w)."""
    tt = t.to(x0.dtype)[:, None, :, None, None]
    return (1 - tt) * x0 + tt * noise


def row_weights(height: int, *, solid_angle: bool, device=None) -> torch.Tensor:
    """(height, 1) latent-row weights: the solid angle of the row (``sphere.solid_angle_weights``) / its mean,
    or ones."""
    if not solid_angle:
        return torch.ones(height, 1, device=device)
    w = solid_angle_weights(height, 1, device=device, dtype=torch.float64)
    return (w / w.mean()).float()


def flow_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B,) weighted mean squared velocity error per sample.

    Args:
        pred, target: (B, C, T, h, w).
        mask: (B, 1, T, h, w) in [0, 1], 1 where the prediction is supervised.
        weights: (h, 1) row weights.
    """
    w = mask * weights.to(mask)
    err = (pred.float() - target.float()).pow(2).mean(dim=1, keepdim=True)
    return (err * w).flatten(1).sum(1) / w.flatten(1).sum(1).clamp_min(1e-8)
