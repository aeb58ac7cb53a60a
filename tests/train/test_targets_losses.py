"""Supervision targets on the latent grid and the loss terms: zero / positive where they must be, with gradients
into exactly the parts they should reach."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from panoworld.models import PanoWorldTransformer, tiny_config
from panoworld.train.config import FlowConfig
from panoworld.train.data import ClipAnnotations
from panoworld.train.flow import flow_loss, interpolate, network_timestep, row_weights, sample_flow_time
from panoworld.train.losses import depth_loss, rigidity_loss, sample_cells, track_loss
from panoworld.train.targets import annotation_frames, depth_targets, track_targets
from tests.models.conftest import make_inputs

FPS = 16.0


def test_annotation_frames_map_by_time_within_half_a_frame():
    frame_times = np.arange(9) / FPS
    ann = np.array([0.0, 2 / FPS + 0.01, 5 / FPS, 0.9])
    assert annotation_frames(ann, frame_times, FPS).tolist() == [0, 2, 5, -1]


def test_depth_targets_average_log_range_per_cell_and_skip_unannotated_latent_frames():
    depth = torch.ones(3, 16, 32)
    depth[1] = 4.0
    depth[1, :, :4] = 16.0  # the first latent column (cells 4 px wide): log-mean over its pixels
    invalid = torch.zeros(3, 16, 32, dtype=torch.bool)
    invalid[1, :8, 4:8] = True  # sky on the top-left cell of column 1
    # annotation frames 0, 3 and 4: latent 0 <- frame 0, latent 1 <- frames 3, 4; latent 2 has none
    ann = ClipAnnotations(times=np.array([0, 3, 4]) / FPS, size=(16, 32), depth=depth, invalid=invalid)
    out = depth_targets(ann, np.arange(9) / FPS, FPS, (3, 2, 8))
    assert torch.allclose(out[0], torch.zeros(2, 8))
    expected = (math.log(16.0) + 0.0) / 2  # frame 3: log 16, frame 4: log 1 (depth[2] = 1)
    assert out[1, 1, 0].item() == pytest.approx(expected, rel=1e-6)
    assert out[1, 0, 1].item() == pytest.approx(0.0)  # frame 3's cell is sky -> only frame 4 (range 1 m)
    assert torch.isnan(out[2]).all()


def test_track_targets_use_latent_cell_coordinates():
    tracks = np.zeros((2, 2, 2))
    tracks[0, :, :] = [[31.0, 8.0], [0.0, 8.0]]
    tracks[1, :, :] = [[5.0, 3.0], [6.0, 3.0]]
    visible = np.array([[True, True], [True, False]])
    ann = ClipAnnotations(times=np.array([0.0, 1 / FPS]), size=(16, 32), tracks=tracks, visible=visible,
                          static=np.array([True, False]))
    xy, vis, static = track_targets(ann, np.arange(5) / FPS, FPS, (2, 4, 8))
    assert xy[0, 0].tolist() == pytest.approx([(31.5) * 8 / 32 - 0.5, 8.5 * 4 / 16 - 0.5])
    assert vis.tolist() == [[True, True], [True, False]] and static.tolist() == [True, False]


def test_flow_time_law_and_interpolation():
    g = torch.Generator().manual_seed(0)
    t = sample_flow_time(FlowConfig(shift=3.0), g, (20000,))
    assert 0.001 <= float(t.min()) and float(t.max()) <= 0.999 and float(t.mean()) > 0.6  # shifted to high noise
    x0, eps = torch.randn(2, 4, 3, 2, 2), torch.randn(2, 4, 3, 2, 2)
    tt = torch.tensor([[0.25] * 3, [1.0] * 3])
    x_t = interpolate(x0, eps, tt)
    torch.testing.assert_close(x_t[1], eps[1])
    torch.testing.assert_close(x_t[0] - 0.25 * (eps[0] - x0[0]), x0[0])  # the sampler's x0 = x_t - t v
    cond = torch.tensor([[True, False, False]] * 2)
    steps = network_timestep(torch.full((2, 3), 0.5037), cond)
    assert steps[0].tolist() == pytest.approx([1e-4, 0.503, 0.503])


def test_flow_loss_is_zero_on_target_and_ignores_masked_cells():
    target = torch.randn(2, 4, 3, 4, 8)
    mask = torch.ones(2, 1, 3, 4, 8)
    mask[:, :, 0] = 0
    w = row_weights(4, solid_angle=True)
    assert torch.all(flow_loss(target, target, mask, w) == 0)
    pred = target.clone()
    pred[:, :, 0] += 10.0  # only masked cells are wrong
    assert torch.all(flow_loss(pred, target, mask, w) == 0)
    assert torch.all(flow_loss(target + 0.1, target, mask, w) > 0)
    assert w[0, 0] < w[1, 0] and w.mean().item() == pytest.approx(1.0)


def test_depth_loss_zero_exact_scale_invariance_and_positive():
    gt = torch.randn(3, 4, 8)
    gt[0] = float("nan")
    w = row_weights(4, solid_angle=True)
    assert depth_loss(gt.nan_to_num(0), gt, w, 0.5).item() == pytest.approx(0.0, abs=1e-7)
    assert depth_loss(gt.nan_to_num(0) + 0.3, gt, w, 1.0).item() == pytest.approx(0.0, abs=1e-6)
    assert depth_loss(gt.nan_to_num(0) + 0.3, gt, w, 0.5).item() == pytest.approx(0.5 * 0.09, rel=1e-4)
    assert depth_loss(torch.randn(3, 4, 8), gt, w, 0.5).item() > 0
    empty = torch.full((3, 4, 8), float("nan"))
    pred = torch.zeros(3, 4, 8, requires_grad=True)
    loss = depth_loss(pred, empty, w, 0.5)
    loss.backward()
    assert loss.item() == 0 and torch.all(pred.grad == 0)


def test_sampling_wraps_the_seam():
    grid = torch.zeros(1, 4, 8)
    grid[0, :, 7] = 1.0
    assert sample_cells(grid, torch.tensor([[7.5, 1.0]]))[0, 0].item() == pytest.approx(0.5)
    assert sample_cells(grid, torch.tensor([[-0.5, 1.0]]))[0, 0].item() == pytest.approx(0.5)


def test_track_loss_rewards_matching_descriptors_and_respects_the_radius():
    torch.manual_seed(0)
    desc = torch.randn(8, 8, 16)
    xy = torch.tensor([[1.0, 1.0], [5.0, 2.0], [10.0, 5.0], [13.0, 6.0]])
    shift = torch.tensor([1.0, 0.0])
    moved = torch.roll(desc, 1, dims=-1)  # frame b = frame a moved one cell to the right
    good = track_loss(desc, moved, xy, xy + shift, temperature=0.07, negative_radius_deg=1.0)
    bad = track_loss(desc, torch.randn(8, 8, 16), xy, xy + shift, temperature=0.07, negative_radius_deg=1.0)
    assert 0 < good.item() < bad.item() and good.item() < 0.05
    # every other track within the radius: no negatives left, the loss vanishes
    assert track_loss(desc, torch.randn(8, 8, 16), xy, xy, temperature=0.07,
                      negative_radius_deg=180.0).item() == pytest.approx(0.0, abs=1e-6)


def test_rigidity_zero_for_a_consistent_static_scene():
    log = torch.full((8, 16), math.log(3.0))
    xy = torch.tensor([[1.0, 2.0], [6.0, 3.0], [12.0, 5.0]])
    assert rigidity_loss(log, log, xy, xy).item() == pytest.approx(0.0, abs=1e-5)
    assert rigidity_loss(log, log + 0.5 * torch.rand(8, 16), xy, xy).item() > 0


def _grads(model, loss) -> dict[str, bool]:
    model.zero_grad(set_to_none=True)
    loss.backward()
    parts = {"block0": "transformer_blocks.0.", "block1": "transformer_blocks.1.", "proj_out": "proj_out.",
             "depth_head": "depth_head.", "descriptor_head": "descriptor_head."}
    return {part: any(p.grad is not None and bool(p.grad.abs().sum() > 0)
                      for n, p in model.named_parameters() if n.startswith(prefix)) for part, prefix in parts.items()}


def test_each_term_reaches_exactly_the_parts_it_should():
    torch.manual_seed(0)
    model = PanoWorldTransformer(**tiny_config(), depth_head_block=0, descriptor_head_block=0, head_hidden_dim=16,
                                 descriptor_dim=8)
    kwargs = make_inputs(model)
    w = row_weights(8, solid_angle=True)
    out = model(**kwargs, return_heads=True)
    flow = _grads(model, out.sample.pow(2).mean())
    assert flow == {"block0": True, "block1": True, "proj_out": True, "depth_head": False, "descriptor_head": False}
    out = model(**kwargs, return_heads=True)
    depth = _grads(model, depth_loss(out.depth[0, 0], torch.randn(3, 8, 16), w, 0.5))
    assert depth == {"block0": True, "block1": False, "proj_out": False, "depth_head": True, "descriptor_head": False}
    out = model(**kwargs, return_heads=True)
    xy = torch.tensor([[1.0, 1.0], [5.0, 2.0], [10.0, 5.0]])
    track = _grads(model, track_loss(out.descriptors[0, :, 0], out.descriptors[0, :, 1], xy, xy + 1,
                                     temperature=0.1, negative_radius_deg=1.0))
    assert track == {"block0": True, "block1": False, "proj_out": False, "depth_head": False, "descriptor_head": True}
    out = model(**kwargs, return_heads=True)
    rigid = _grads(model, rigidity_loss(out.depth[0, 0, 0], out.depth[0, 0, 2], xy, xy + 1))
    assert rigid == {"block0": True, "block1": False, "proj_out": False, "depth_head": True, "descriptor_head": False}
