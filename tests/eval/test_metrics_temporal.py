"""Non-learned temporal metrics, the normalised seam continuity and the true median, on hand-made videos."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from panoworld.eval.metrics import (
    TemporalMetrics,
    discontinuity_score,
    end_continuity,
    flicker_index,
    motion_amount,
    true_median,
    warp_error,
)
from panoworld.sphere import query_grid
from tests.conftest import textured_erp

H, W, T = 64, 128, 10


def _pan(t: int = T, step: int = 1) -> torch.Tensor:
    """A textured ERP turning right by ``step`` columns per frame (wraps: no seam anywhere)."""
    base = textured_erp(H, W, dtype=torch.float32)
    return torch.stack([torch.roll(base, -step * i, dims=-1) for i in range(t)])


def test_true_median_of_an_even_count():
    assert float(true_median(torch.tensor([1.0, 2.0, 3.0, 10.0]))) == 2.5
    assert float(true_median(torch.tensor([3.0, 1.0, 2.0]))) == 2.0


def test_end_continuity_is_normalised_so_noise_is_not_a_seam():
    """The PanFlow definition (mean |last - first column|) scores a noisy seamless video worse than a broken seam;
    normalised by the clip's own column-to-column variation it does not."""
    video = _pan()
    noisy = (video + 0.08 * torch.randn(video.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    seam = video.clone()
    seam[..., -2:] = (seam[..., -2:] + 0.06).clamp(0, 1)

    def panflow(v):
        return float((v[..., -1] - v[..., 0]).abs().mean())

    assert panflow(noisy) > panflow(seam)  # the old definition's failure
    assert end_continuity(seam) > end_continuity(noisy)
    assert end_continuity(noisy) == pytest.approx(end_continuity(video), abs=0.1)  # about 1: like any boundary
    assert discontinuity_score(seam) > discontinuity_score(noisy)


def test_flicker_catches_gain_flicker_but_not_smooth_change():
    pan = _pan()
    fade = pan * torch.linspace(1.0, 0.7, T)[:, None, None, None]  # a smooth exposure change while panning
    gain = 1 + 0.15 * torch.tensor([0, 1, -1, 1, -1, 1, -1, 1, -1, 1.0])
    flicker = (pan * gain[:, None, None, None]).clamp(0, 1)
    assert flicker_index(pan) < 0.01 and flicker_index(fade) < 0.01
    assert flicker_index(flicker) > 5 * max(flicker_index(pan), flicker_index(fade))
    shuffled = pan[torch.tensor([0, 5, 2, 8, 1, 9, 3, 7, 4, 6])]
    assert flicker_index(shuffled) > 3 * flicker_index(pan)


def test_repeated_frames_of_a_low_frame_rate_are_not_flicker():
    pan = _pan(t=5, step=2)
    shown = pan[[0, 0, 1, 1, 2, 2, 3, 3, 4, 4]]  # an 8-fps video on a 16-fps clock
    assert flicker_index(shown, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]) == pytest.approx(flicker_index(pan), abs=1e-9)


def test_motion_and_gaps():
    pan = _pan()
    frozen = pan[:1].expand_as(pan)
    assert motion_amount(frozen) == 0.0 and motion_amount(pan) > 0.01
    gaps = TemporalMetrics().update(frozen, pan)
    assert gaps["temporal/motion_gap"] == pytest.approx(motion_amount(pan))
    assert TemporalMetrics().update(pan, pan) == {"temporal/flicker": flicker_index(pan), "temporal/motion":
                                                  motion_amount(pan), "temporal/flicker_gap": 0.0,
                                                  "temporal/motion_gap": 0.0}


def test_warp_error_along_exact_tracks_and_across_the_seam():
    step = 3
    pan = _pan(step=step)
    q = query_grid(H, W, 8, dtype=torch.float64)
    tracks = torch.stack([torch.stack([q[:, 0] - step * i, q[:, 1]], -1) for i in range(T)], 1)
    tracks[..., 0] = torch.remainder(tracks[..., 0] + 0.5, W) - 0.5  # wrapped: points cross the seam
    vis = torch.ones(tracks.shape[:2], dtype=torch.bool)
    clock = list(range(T))
    assert warp_error(pan, tracks, vis, (H, W), clock) == pytest.approx(0.0, abs=1e-6)
    at_double = warp_error(torch.nn.functional.interpolate(pan, scale_factor=2, mode="nearest"), tracks, vis,
                           (H, W), clock)
    assert at_double < 0.05  # tracks in pixels of their own annotation size are rescaled to the video
    gain = 1 + 0.15 * (-1.0) ** torch.arange(T)
    assert warp_error((pan * gain[:, None, None, None]).clamp(0, 1), tracks, vis, (H, W), clock) > 0.03
    wrong = tracks[:, :1].expand_as(tracks)  # tracks that do not follow the motion
    assert warp_error(pan, wrong, vis, (H, W), clock) > 0.03
    assert math.isnan(warp_error(pan, tracks, torch.zeros_like(vis), (H, W), clock))
    assert np.isfinite(warp_error(pan, tracks[:, ::3], vis[:, ::3], (H, W), clock[::3]))
