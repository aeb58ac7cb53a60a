"""The reference's inference noise schedule: Karras/EDM sigmas mapped onto rectified-flow time.

Cosmos-Predict2.5 (and so PanoWorld) samples with ``use_kerras_sigma_at_inference=True``: EDM sigmas
``s_i = (s_max^(1/rho) + i/N (s_min^(1/rho) - s_max^(1/rho)))^rho`` for ``i = 0..N`` (N = ``num_steps``, so
N + 1 rungs and N + 1 network evaluations), mapped to flow time ``t = s / (1 + s)``, followed by a final ``t = 0``.
The network is given the truncated integer timestep ``floor(1000 t)`` (times the model's 0.001 scale) while the
solver integrates with the float ``t`` (reference §2.6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FlowSchedule", "karras_flow_schedule", "CONDITIONAL_FRAME_TIMESTEP"]

#: Timestep (in 1/1000 units, before the network's 0.001 scale) of clean conditional latent frames.
CONDITIONAL_FRAME_TIMESTEP = 0.1


@dataclass(frozen=True)
class FlowSchedule:
    """Flow times of one sampling run.

    Attributes:
        sigmas: (num_evals + 1,) float64 flow times t in (0, 1), decreasing, last entry exactly 0.
        timesteps: (num_evals,) int64 ``floor(1000 t)`` handed to the network (before its 0.001 scale).
    """

    sigmas: np.ndarray
    timesteps: np.ndarray

    @property
    def num_evals(self) -> int:
        """Network evaluations (solver steps) of this schedule."""
        return int(self.timesteps.shape[0])

    def network_time(self, index: int) -> float:
        """What the network sees at evaluation ``index``: ``floor(1000 t) * 0.001``, in [0, 1]."""
        return float(self.timesteps[index]) * 0.001


def karras_flow_schedule(
    num_steps: int = 35, *, sigma_max: float = 200.0, sigma_min: float = 0.01, rho: float = 7.0
) -> FlowSchedule:
    """The reference's schedule for ``num_steps`` (35 -> 36 evaluations, first t = 0.995, last 0.0099, then 0).

    Args:
        num_steps: the reference's ``--num_steps``; the run has ``num_steps + 1`` network evaluations.
        sigma_max, sigma_min: EDM noise levels of the first and last rung.
        rho: Karras exponent.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be at least 1, got {num_steps}")
    if not (0 < sigma_min < sigma_max):
        raise ValueError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    ramp = np.linspace(0.0, 1.0, num_steps + 1, dtype=np.float64)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    edm = (hi + ramp * (lo - hi)) ** rho
    flow = edm / (1.0 + edm)
    timesteps = np.floor(flow * 1000.0).astype(np.int64)
    return FlowSchedule(sigmas=np.concatenate([flow, [0.0]]), timesteps=timesteps)
