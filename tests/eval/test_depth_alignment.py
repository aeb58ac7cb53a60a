"""Depth alignment never makes the error it serves worse than no alignment (synth clips with exact depth, including
outdoor streets under a ~150 m sky dome, against DAP-like predictions)."""

from __future__ import annotations

import pytest
import torch

from panoworld.eval.metrics import DepthMetrics, fit_alignment
from panoworld.eval.metrics.depth import _weighted_abs_rel

synth = pytest.importorskip("panoworld.synth")

CLIPS = [(0, "outdoor", "walk_rotate"), (3, "outdoor", "rotate"), (1, "indoor", "walk")]


@pytest.fixture(scope="module", params=CLIPS, ids=[f"{k}-{t}" for _, k, t in CLIPS])
def rendered(request):
    seed, kind, trajectory = request.param
    scene = synth.make_scene(seed, kind=kind, trajectory=trajectory)
    return kind, synth.render_clip(scene, frames=3, size=(64, 128), fps=2.0, shadows=False, grid_size=4)


def _predictions(clip) -> dict[str, torch.Tensor]:
    """DAP-like range maps: the sky at DAP's 100 m marker, a wrong scale or shift, multiplicative noise, an affine
    error in inverse depth, or only noise at the right scale."""
    g = clip.depth
    sky = clip.instances == 0
    gen = torch.Generator().manual_seed(0)
    noise = torch.exp(0.15 * torch.randn(g.shape, generator=gen))
    return {
        "dap_sky_scale": torch.where(sky, torch.full_like(g, 100.0), 0.8 * g * noise),
        "scale_shift": 1.3 * g * noise + 0.5,
        "inverse_affine": 1.0 / (0.7 / g + 0.02),
        "noise_only": g * noise,
    }


def test_aligned_error_is_never_worse_than_unaligned(rendered):
    kind, clip = rendered
    for name, pred in _predictions(clip).items():
        m = DepthMetrics().update(pred, clip.depth, clip.frames)
        for tag in ("raw", "sky_masked", "texture_weighted"):
            raw = m[f"depth/abs_rel/{tag}"]
            assert m[f"depth/abs_rel/{tag}@scale"] <= raw + 1e-12, (kind, name, tag)
            assert m[f"depth/abs_rel/{tag}@scale_shift"] <= m[f"depth/abs_rel/{tag}@scale"] + 1e-12, (kind, name, tag)


def test_least_squares_in_metres_would_be_worse_outdoors():
    """The first version's fit (least squares s p + t ~ g in metres) lets the far sky dome dominate: on this
    outdoor clip it makes AbsRel worse than no alignment, which the AbsRel-minimising fit cannot."""
    scene = synth.make_scene(0, kind="outdoor", trajectory="walk_rotate")
    clip = synth.render_clip(scene, frames=3, size=(64, 128), fps=2.0, shadows=False, grid_size=4)
    pred = _predictions(clip)["dap_sky_scale"]
    p, g = pred.flatten().double(), clip.depth.flatten().double()
    w = torch.ones_like(p)
    design = torch.stack([p, torch.ones_like(p)], 1)
    s, t = torch.linalg.lstsq(design, g[:, None]).solution[:, 0]
    raw = float(_weighted_abs_rel(p, g, w, 1.0, 0.0))
    assert float(_weighted_abs_rel(p, g, w, s, t)) > raw
    ours = fit_alignment(p, g, w, "scale_shift")
    assert float(_weighted_abs_rel(p, g, w, *ours)) < raw


def test_scale_fit_is_the_exact_minimiser():
    gen = torch.Generator().manual_seed(1)
    g = torch.rand(5000, generator=gen, dtype=torch.float64) * 50 + 1
    p = g * torch.exp(0.3 * torch.randn(5000, generator=gen, dtype=torch.float64)) * 0.6
    w = torch.rand(5000, generator=gen, dtype=torch.float64)
    s, _ = fit_alignment(p, g, w, "scale")
    best = float(_weighted_abs_rel(p, g, w, s, 0.0))
    grid = torch.linspace(float(s) * 0.9, float(s) * 1.1, 2001, dtype=torch.float64)
    assert best <= min(float(_weighted_abs_rel(p, g, w, v, 0.0)) for v in grid) + 1e-12
