"""The one sampler every mode uses: UniPC-2 over the Karras flow schedule with a guided denoiser.

``sample`` runs ``schedule.num_evals`` evaluations of ``denoiser(x, index) -> (x_solver, velocity)``; the x0
prediction handed to the solver is ``x_solver - t * velocity`` (rectified flow, velocity = noise - x0).
Optional rotated denoising rolls the latent, the solver history and the conditioning by a random number of
columns after every step and rolls back at the end (the reference forgot the history, reference §12.7).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .schedule import FlowSchedule
from .unipc import FlowUniPC

__all__ = ["sample", "finalize"]


def finalize(x: torch.Tensor, inputs) -> torch.Tensor:
    """Paste the clean FOV guide and the clean conditional frames into a finished latent."""
    if inputs.paste_latent is not None:
        x = inputs.paste_mask * inputs.paste_latent + (1 - inputs.paste_mask) * x
    if inputs.frame_latent is not None:
        frame_mask = inputs.frames.to(x.device, x.dtype).view(1, 1, -1, 1, 1)
        x = frame_mask * inputs.frame_latent + (1 - frame_mask) * x
    return x


@torch.no_grad()
def sample(
    denoiser,
    noise: torch.Tensor,
    schedule: FlowSchedule,
    *,
    rotate_seed: int | None = None,
    callback: Callable[[int, int], None] | None = None,
    solver=None,
) -> torch.Tensor:
    """Integrate from ``noise`` (the latent at t_0, float32) to t = 0.

    Args:
        denoiser: ``(x, index) -> (x_solver, velocity)``; may expose ``roll(shift)`` and ``inputs``
            (a ``DenoiserInputs``) for rotated denoising and the final paste.
        noise: (B, C, T, h, w) initial latent.
        schedule: flow times and network timesteps.
        rotate_seed: when given, rotated denoising with column shifts drawn from ``RandomState(rotate_seed)``.
        callback: called as ``callback(index, num_evals)`` after every evaluation.
        solver: ``step(x0, x_solver) -> next x`` and ``roll(shift)``; default UniPC on ``schedule.sigmas``
            (a distilled student's: ``few_step.FewStepSolver``).

    Returns:
        The final latent (same shape and dtype as ``noise``), with clean conditioning pasted in.
    """
    solver = FlowUniPC(schedule.sigmas) if solver is None else solver
    rng = np.random.RandomState(rotate_seed) if rotate_seed is not None else None
    width = noise.shape[-1]
    total_shift = 0
    x = noise
    for index in range(schedule.num_evals):
        x_solver, velocity = denoiser(x, index)
        x0 = x_solver - float(schedule.sigmas[index]) * velocity
        x = solver.step(x0, x_solver)
        if rng is not None and index < schedule.num_evals - 1:
            shift = int(rng.randint(0, width))
            x = torch.roll(x, shift, dims=-1)
            solver.roll(shift)
            denoiser.roll(shift)
            total_shift += shift
        if callback is not None:
            callback(index, schedule.num_evals)
    if total_shift:
        x = torch.roll(x, -total_shift, dims=-1)
    inputs = getattr(denoiser, "inputs", None)
    return finalize(x, inputs) if inputs is not None else x
