"""The one rigid / similarity alignment: exact recovery, weights, batches, reflections, degenerate input."""

from __future__ import annotations

import math

import pytest
import torch

from panoworld.registration import align_points, apply_similarity
from panoworld.sphere import rotation_matrix


def _random_rotation(gen: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
    return q * torch.sign(torch.det(q))


def test_rigid_exact():
    gen = torch.Generator().manual_seed(1)
    p = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    q_rot = _random_rotation(gen)
    t = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    sim = align_points(p, p @ q_rot.t() + t)
    assert torch.allclose(sim.rotation, q_rot, atol=1e-10) and torch.allclose(sim.translation, t, atol=1e-10)
    assert float(sim.scale) == 1.0


def test_umeyama_recovers_similarity():
    gen = torch.Generator().manual_seed(0)
    src = torch.randn(30, 3, generator=gen, dtype=torch.float64)
    rot = rotation_matrix(10.0, 20.0, 30.0).double()
    sim = align_points(src, 1.7 * src @ rot.T + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), with_scale=True)
    assert float(sim.scale) == pytest.approx(1.7)
    assert torch.allclose(sim.rotation, rot, atol=1e-10)
    assert torch.allclose(sim.translation, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), atol=1e-10)


def test_zero_weights_ignore_outliers_and_batches_broadcast():
    gen = torch.Generator().manual_seed(2)
    src = torch.randn(4, 25, 3, generator=gen, dtype=torch.float64)
    rots = torch.stack([_random_rotation(gen) for _ in range(4)])
    trans = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    dst = 0.5 * src @ rots.transpose(-1, -2) + trans[:, None]
    dst[:, :6] += 10 * torch.randn(4, 6, 3, generator=gen, dtype=torch.float64)  # gross outliers
    w = torch.ones(25, dtype=torch.float64)
    w[:6] = 0
    sim = align_points(src, dst, w, with_scale=True)
    assert sim.rotation.shape == (4, 3, 3) and sim.scale.shape == (4,)
    assert torch.allclose(sim.rotation, rots, atol=1e-10)
    assert torch.allclose(sim.scale, torch.full((4,), 0.5, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(apply_similarity(src[:, 6:], sim), dst[:, 6:], atol=1e-10)
    unweighted = align_points(src, dst, with_scale=True)
    assert not torch.allclose(unweighted.rotation, rots, atol=1e-3)  # the weights did matter


def test_reflection_never_returned():
    gen = torch.Generator().manual_seed(3)
    src = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    mirrored = src * torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    sim = align_points(src, mirrored)
    assert float(torch.det(sim.rotation)) == pytest.approx(1.0)
    # planar points: x -> -x is a 180° turn about y for them, which the fit must find exactly
    plane = src * torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
    flipped = plane * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    sim = align_points(plane, flipped)
    assert float(torch.det(sim.rotation)) == pytest.approx(1.0)
    assert torch.allclose(apply_similarity(plane, sim), flipped, atol=1e-10)


def test_rotation_about_origin_without_translation():
    gen = torch.Generator().manual_seed(4)
    b0 = torch.nn.functional.normalize(torch.randn(10, 3, generator=gen, dtype=torch.float64), dim=-1)
    rot = rotation_matrix(-40.0, 5.0, 70.0).double()
    sim = align_points(b0, b0 @ rot.T + 0.01, with_translation=False)
    assert torch.equal(sim.translation, torch.zeros(3, dtype=torch.float64))
    angle = math.degrees(math.acos((float(torch.trace(sim.rotation.T @ rot)) - 1) / 2))
    assert angle < 2.0


def test_degenerate_inputs_are_finite():
    src = torch.tensor([[1.0, 2.0, 3.0]] * 5)
    dst = torch.randn(5, 3, generator=torch.Generator().manual_seed(5))
    sim = align_points(src, dst, with_scale=True)
    assert torch.equal(sim.rotation, torch.eye(3)) and float(sim.scale) == 1.0
    assert torch.allclose(sim.translation, dst.mean(0) - src[0], atol=1e-6)
    sim = align_points(dst, dst, torch.zeros(5), with_scale=True)
    assert all(bool(torch.isfinite(x).all()) for x in sim)
    with pytest.raises(ValueError):
        align_points(src, dst[:4])
