"""The few-step sampler of a distilled student: one network evaluation per given flow time, no CFG.

A student made by ``panoworld train distill`` records its flow times ``t_0 > t_1 > ... > t_{N-1}`` in its model
folder (``SamplerSpec.timesteps``, e.g. the 4-step schedule ``[0.999, 0.937, 0.833, 0.624]``); ``t_N = 0``. With
``x_0`` the initial noise (taken as the latent at ``t_0``) and the guided denoiser of the many-step sampler
(``GuidedDenoiser`` with guidance 0: FOV paste, frame replace, conditional-frame timestep, network time
``floor(1000 t_i) / 1000``)::

    x~_i      = the denoiser's input after the FOV paste
    x0_i      = x~_i - t_i v(x~_i, t_i)                        (the student's clean prediction)
    x_{i+1}   = (1 - t_{i+1}) x0_i + t_{i+1} eps_{i+1}         (re-noised with fresh noise, DMD2's multi-step rule)

and the result is ``x0_{N-1}`` with the clean conditioning pasted (``sampler.finalize``), exactly what the student
was trained to produce (``train/distill_objective.py``). ``eps_{i+1} = noise_for_step(i + 1)`` (the pipeline
draws it like the initial noise, from :func:`renoise_seed`). It is the one sampler loop (``sampler.sample``,
rotated denoising included) with :class:`FewStepSolver` in place of UniPC.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .sampler import sample
from .schedule import FlowSchedule

__all__ = ["few_step_schedule", "FewStepSolver", "sample_few_step", "FEW_STEP_SEED_STRIDE", "renoise_seed"]

#: Seed of the fresh noise of step i >= 1: ``(seed + i * FEW_STEP_SEED_STRIDE) mod 2^32``.
FEW_STEP_SEED_STRIDE = 1_000_003


def renoise_seed(seed: int, step: int) -> int:
    """Seed of ``eps_step`` (``step`` >= 1) for a run seeded ``seed``."""
    return (int(seed) + int(step) * FEW_STEP_SEED_STRIDE) % 2**32


def few_step_schedule(timesteps) -> FlowSchedule:
    """The schedule of a few-step student: its flow times (descending, in (0, 1]) followed by 0.

    The network sees ``floor(1000 t_i)`` (times its 0.001 scale), as the many-step schedule gives it.
    """
    times = np.asarray([float(t) for t in timesteps], dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or not np.all((times > 0) & (times <= 1)) or np.any(np.diff(times) >= 0):
        raise ValueError(f"few-step flow times must be strictly descending in (0, 1], got {list(timesteps)}")
    return FlowSchedule(sigmas=np.concatenate([times, [0.0]]), timesteps=np.floor(times * 1000.0).astype(np.int64))


class FewStepSolver:
    """``step(x0, x) -> (1 - t_{i+1}) x0 + t_{i+1} eps_{i+1}`` (``x0`` itself at the last step), for
    ``sampler.sample``; ``roll(shift)`` keeps the fresh noise in the rotated frame of the latent.

    Args:
        sigmas: flow times t_0 > ... > t_{N-1} > t_N = 0.
        noise_for_step: ``i -> eps_i`` for i = 1 .. N-1 (the latent's shape).
    """

    def __init__(self, sigmas, noise_for_step: Callable[[int], torch.Tensor]):
        self.sigmas = [float(s) for s in sigmas]
        self.noise_for_step = noise_for_step
        self.index = 0
        self.shift = 0

    @torch.no_grad()
    def step(self, x0_pred: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        self.index += 1
        t_next = self.sigmas[self.index]
        if t_next == 0.0:
            return x0_pred
        fresh = self.noise_for_step(self.index).to(x0_pred.device, x0_pred.dtype)
        return (1.0 - t_next) * x0_pred + t_next * torch.roll(fresh, self.shift, dims=-1)

    def roll(self, shift: int) -> None:
        self.shift += int(shift)


def sample_few_step(denoiser, noise: torch.Tensor, schedule: FlowSchedule,
                    noise_for_step: Callable[[int], torch.Tensor], *, rotate_seed: int | None = None,
                    callback: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Run the student from ``noise`` (the latent at ``schedule.sigmas[0]``) to t = 0 (see the module docstring).

    Args:
        denoiser: ``(x, index) -> (x_pasted, velocity)`` (a ``GuidedDenoiser`` with guidance 0).
        noise: (B, C, T, h, w) initial latent.
        schedule: :func:`few_step_schedule` of the student's flow times.
        noise_for_step: ``i -> eps_i`` (shape of ``noise``) for steps i = 1 .. N-1.
        rotate_seed, callback: as ``sampler.sample``.

    Returns:
        The final latent (shape and dtype of ``noise``), clean conditioning pasted in.
    """
    return sample(denoiser, noise, schedule, rotate_seed=rotate_seed, callback=callback,
                  solver=FewStepSolver(schedule.sigmas, noise_for_step))
