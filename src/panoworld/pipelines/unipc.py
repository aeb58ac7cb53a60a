"""UniPC (order 2, "bh2", x0-predicting) multistep solver for rectified-flow sampling.

The maths of diffusers' ``UniPCMultistepScheduler`` / Cosmos' ``FlowUniPCMultistepScheduler`` with flow sigmas
(``alpha = 1 - t``, ``sigma = t``, ``lambda = log(alpha / sigma)``), ``lower_order_final=True`` and the corrector on
every step, written for one purpose: the sampler hands it the x0 prediction of every evaluation. Coefficients are
computed in float64 Python scalars; tensors stay in their own dtype.

Unlike the reference, the solver history can be rolled along the ERP width (:meth:`FlowUniPC.roll`), which
rotated denoising needs: the reference rolls the latent but not the stored predictions (reference §12.7).
"""

from __future__ import annotations

import math

import torch

__all__ = ["FlowUniPC"]


def _lambda(t: float) -> float:
    """Half log-SNR of flow time t: log((1 - t) / t); +inf at t = 0."""
    if t <= 0.0:
        return math.inf
    return math.log1p(-t) - math.log(t)


class FlowUniPC:
    """Stateful UniPC-2 (bh2) over a fixed decreasing list of flow times ending at 0.

    Call :meth:`step` once per evaluation, in order, with the x0 prediction made at ``sigmas[i]`` from
    ``sample`` (the very tensor the prediction was made from); it returns the sample at ``sigmas[i + 1]``.

    Args:
        sigmas: flow times t_0 > t_1 > ... > t_N = 0 (N evaluations).
        order: solver order, 1 or 2.
    """

    def __init__(self, sigmas, *, order: int = 2):
        self.sigmas = [float(s) for s in sigmas]
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order}")
        self.order = order
        self.num_evals = len(self.sigmas) - 1
        self.index = 0
        self.history: list[torch.Tensor] = []  # x0 predictions, oldest first, at most `order` entries
        self.last_sample: torch.Tensor | None = None
        self.this_order = 1
        self.lower_order_nums = 0

    def _coefficients(self, h: float, order: int) -> tuple[float, float, list[float]]:
        """(h_phi_1, B_h, b) for step size h in lambda (bh2 variant, x0 prediction)."""
        hh = -h
        h_phi_1 = math.expm1(hh)
        h_phi_k = h_phi_1 / hh - 1.0 if math.isfinite(hh) else -1.0
        b_h = math.expm1(hh)
        b, factorial = [], 1
        for i in range(1, order + 1):
            b.append(h_phi_k * factorial / b_h)
            factorial *= i + 1
            h_phi_k = (h_phi_k / hh if math.isfinite(hh) else 0.0) - 1.0 / factorial
        return h_phi_1, b_h, b

    def _predict(self, sample: torch.Tensor, order: int) -> torch.Tensor:
        k = self.index
        s0, st = self.sigmas[k], self.sigmas[k + 1]
        alpha_t = 1.0 - st
        h = _lambda(st) - _lambda(s0)
        h_phi_1, b_h, _ = self._coefficients(h, order)
        m0 = self.history[-1]
        out = sample * (st / s0) - m0 * (alpha_t * h_phi_1)
        if order == 2:
            rk = (_lambda(self.sigmas[k - 1]) - _lambda(s0)) / h
            d1 = (self.history[-2] - m0) / rk
            out = out - d1 * (alpha_t * b_h * 0.5)
        return out

    def _correct(self, model_t: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        k, order = self.index, self.this_order
        s0, st = self.sigmas[k - 1], self.sigmas[k]
        alpha_t = 1.0 - st
        h = _lambda(st) - _lambda(s0)
        h_phi_1, b_h, b = self._coefficients(h, order)
        m0 = self.history[-1]
        out = self.last_sample * (st / s0) - m0 * (alpha_t * h_phi_1)
        if order == 1:
            rho_last = 0.5
        else:
            rk = (_lambda(self.sigmas[k - 2]) - _lambda(s0)) / h
            # solve [[1, 1], [rk, 1]] @ rho = b
            det = 1.0 - rk
            rho_0 = (b[0] - b[1]) / det
            rho_last = (b[1] - rk * b[0]) / det
            d1 = (self.history[-2] - m0) / rk
            out = out - d1 * (alpha_t * b_h * rho_0)
        return out - (model_t - m0) * (alpha_t * b_h * rho_last)

    @torch.no_grad()
    def step(self, x0_pred: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """Advance from ``sigmas[i]`` to ``sigmas[i + 1]``; returns the new sample."""
        if self.index >= self.num_evals:
            raise RuntimeError("the solver has already reached t = 0")
        if self.index > 0 and self.last_sample is not None:
            sample = self._correct(x0_pred, sample)
        self.history = (self.history + [x0_pred])[-self.order :]
        this_order = min(self.order, self.num_evals - self.index)
        self.this_order = min(this_order, self.lower_order_nums + 1)
        self.last_sample = sample
        prev = self._predict(sample, self.this_order)
        self.lower_order_nums = min(self.lower_order_nums + 1, self.order)
        self.index += 1
        return prev

    def roll(self, shift: int, dim: int = -1) -> None:
        """Roll the stored history (predictions and last sample) by ``shift`` along ``dim``, like the latent."""
        self.history = [torch.roll(h, shift, dims=dim) for h in self.history]
        if self.last_sample is not None:
            self.last_sample = torch.roll(self.last_sample, shift, dims=dim)
