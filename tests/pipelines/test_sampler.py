"""Schedule, UniPC solver and sampler maths, tested with analytic velocity fields (no network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from panoworld.pipelines import FlowUniPC, karras_flow_schedule, sample
from panoworld.pipelines.sampler import finalize


def test_schedule_matches_reference_formula():
    s = karras_flow_schedule(35)
    assert s.num_evals == 36 and s.sigmas.shape == (37,)
    i = np.arange(36)
    edm = (200 ** (1 / 7) + i / 35 * (0.01 ** (1 / 7) - 200 ** (1 / 7))) ** 7
    np.testing.assert_allclose(s.sigmas[:-1], edm / (1 + edm), rtol=1e-12)
    assert s.sigmas[0] == pytest.approx(0.995, abs=1e-4)
    assert s.sigmas[-2] == pytest.approx(0.0099, abs=1e-4)
    assert s.sigmas[-1] == 0.0
    np.testing.assert_array_equal(s.timesteps, np.floor(1000 * edm / (1 + edm)).astype(np.int64))
    assert s.timesteps[0] == 995 and s.timesteps[-1] == 9
    assert s.network_time(0) == pytest.approx(0.995)


def test_unipc_equals_diffusers_unipc_on_a_nonlinear_field():
    diffusers = pytest.importorskip("diffusers")
    ref = diffusers.UniPCMultistepScheduler(
        use_karras_sigmas=True, use_flow_sigmas=True, prediction_type="flow_prediction", sigma_max=200.0,
        sigma_min=0.01,
    )
    ref.set_timesteps(36)  # diffusers counts rungs; the reference's num_steps=35 has 36
    sched = karras_flow_schedule(35)
    np.testing.assert_allclose(ref.sigmas.double().numpy(), sched.sigmas, atol=1e-7)
    np.testing.assert_array_equal(ref.timesteps.numpy(), sched.timesteps)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    eps = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)

    def field(x, t):
        return torch.sin(x) * (1 + t) - x0 * t

    ours, theirs, solver = eps.clone(), eps.clone(), FlowUniPC(sched.sigmas)
    for i in range(sched.num_evals):
        t = float(sched.sigmas[i])
        ours = solver.step(ours - t * field(ours, t), ours)
        theirs = ref.step(field(theirs, float(ref.sigmas[i])), ref.timesteps[i], theirs).prev_sample
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


class _Field:
    """Denoiser of an analytic velocity field ``v(x, t)``; per-pixel parameters roll with the latent."""

    def __init__(self, fn, sigmas, params):
        self.fn, self.sigmas, self.params = fn, sigmas, params

    def __call__(self, x, index):
        return x, self.fn(x, float(self.sigmas[index]), self.params)

    def roll(self, shift):
        self.params = {k: torch.roll(v, shift, dims=-1) for k, v in self.params.items()}


def test_straight_flow_to_a_fixed_point_is_exact():
    # Every path x_t = t eps + (1 - t) x0 has velocity (x - x0) / t: the solver must land on x0 exactly.
    gen = torch.Generator().manual_seed(3)
    x0 = torch.randn(1, 2, 3, 4, 8, generator=gen, dtype=torch.float64)
    eps = torch.randn(1, 2, 3, 4, 8, generator=gen, dtype=torch.float64)
    sched = karras_flow_schedule(35)
    t0 = float(sched.sigmas[0])
    out = sample(_Field(lambda x, t, p: (x - p["x0"]) / t, sched.sigmas, {"x0": x0}), t0 * eps + (1 - t0) * x0,
                 sched)
    torch.testing.assert_close(out, x0, atol=1e-10, rtol=0)


def test_gaussian_data_flow_converges_to_the_exact_transport():
    # Data x0 ~ N(mu, s^2) per element: the rectified-flow ODE carries z at t=1 to mu + s z at t=0 along
    # x_t = (1 - t) mu + sqrt(t^2 + (1 - t)^2 s^2) z; its velocity is known in closed form.
    gen = torch.Generator().manual_seed(1)
    mu = torch.randn(1, 2, 3, 4, 8, generator=gen, dtype=torch.float64)
    s = torch.rand(1, 2, 3, 4, 8, generator=gen, dtype=torch.float64) + 0.2
    z = torch.randn(1, 2, 3, 4, 8, generator=gen, dtype=torch.float64)

    def velocity(x, t, p):
        std = torch.sqrt(t**2 + (1 - t) ** 2 * p["s"] ** 2)
        z_hat = (x - (1 - t) * p["mu"]) / std
        return -p["mu"] + z_hat * (t - (1 - t) * p["s"] ** 2) / std

    errors = []
    for steps in (35, 100):
        sched = karras_flow_schedule(steps)
        t0 = float(sched.sigmas[0])
        x_init = (1 - t0) * mu + torch.sqrt(t0**2 + (1 - t0) ** 2 * s**2) * z
        out = sample(_Field(velocity, sched.sigmas, {"mu": mu, "s": s}), x_init, sched)
        errors.append(float((out - (mu + s * z)).abs().max()))
    assert errors[0] < 0.02  # 36 evaluations
    assert errors[1] < errors[0] / 10  # higher-order convergence


def test_rotated_denoising_rolls_the_solver_history():
    gen = torch.Generator().manual_seed(2)
    target = torch.randn(1, 2, 2, 4, 16, generator=gen, dtype=torch.float64)
    eps = torch.randn(1, 2, 2, 4, 16, generator=gen, dtype=torch.float64)

    def velocity(x, t, p):  # a non-trivial field whose parameters live on the latent grid
        return (x - p["x0"]) / t + 0.3 * torch.sin(p["x0"] * x)

    sched = karras_flow_schedule(12)
    plain = sample(_Field(velocity, sched.sigmas, {"x0": target}), eps, sched)
    rotated = sample(_Field(velocity, sched.sigmas, {"x0": target}), eps, sched, rotate_seed=5)
    torch.testing.assert_close(rotated, plain, atol=1e-10, rtol=0)
    original = FlowUniPC.roll
    try:
        FlowUniPC.roll = lambda self, shift, dim=-1: None  # the reference's bug: history left unrolled
        buggy = sample(_Field(velocity, sched.sigmas, {"x0": target}), eps, sched, rotate_seed=5)
    finally:
        FlowUniPC.roll = original
    assert (buggy - plain).abs().max() > 1e-3


def test_finalize_pastes_clean_guide_and_frames():
    from panoworld.pipelines import DenoiserInputs

    x = torch.randn(1, 4, 3, 4, 8)
    guide, frame = torch.randn_like(x), torch.randn_like(x)
    mask = (torch.rand(1, 1, 3, 4, 8) > 0.5).float()
    frames = torch.tensor([True, False, False])
    inputs = DenoiserInputs(text=torch.zeros(1, 1, 1), paste_latent=guide, paste_mask=mask, frame_latent=frame,
                            frames=frames)
    out = finalize(x, inputs)
    torch.testing.assert_close(out[:, :, 0], frame[:, :, 0], rtol=0, atol=0)
    m = mask[:, :, 1:].expand(1, 4, 2, 4, 8) > 0
    assert torch.equal(out[:, :, 1:][m], guide[:, :, 1:][m])
    assert torch.equal(out[:, :, 1:][~m], x[:, :, 1:][~m])
