"""Renderer ground truth: analytic depth, seam continuity, determinism."""

from __future__ import annotations

import dataclasses
import math

import torch

from panoworld.sphere import erp_directions
from panoworld.synth import ClipRenderer, Prim, make_scene, render_clip

from .conftest import GREY, open_scene


def test_depth_of_ground_plane_and_sphere_is_analytic():
    height = 1.7
    center, radius = (0.5, -1.2, 4.0), 0.8
    scene = open_scene([Prim("sphere", (radius, 0, 0), center, GREY, 2, "ball")], start=(0.0, -height, 0.0), yaw=30.0)
    renderer = ClipRenderer(scene, frames=1, size=(32, 64))
    _, depth, inst = renderer.render_frame(0)
    d = erp_directions(32, 64, dtype=torch.float64) @ renderer.poses[0, :3, :3].T
    cam = torch.tensor([0.0, -height, 0.0], dtype=torch.float64)
    t_plane = torch.where(d[..., 1] > 0, height / d[..., 1], torch.full_like(d[..., 1], math.inf))
    oc = cam - torch.tensor(center, dtype=torch.float64)
    b = (oc * d).sum(-1)
    disc = b * b - ((oc * oc).sum() - radius**2)
    t_sphere = torch.where(disc > 0, -b - torch.sqrt(disc.clamp_min(0)), torch.full_like(b, math.inf))
    on_sphere = (inst == 2) & (t_sphere < t_plane)
    on_plane = (inst == 1) & (t_plane < t_sphere) & (t_plane < 90)
    assert int(on_sphere.sum()) > 10 and int(on_plane.sum()) > 200
    rel_s = ((depth.double() - t_sphere).abs() / t_sphere)[on_sphere]
    rel_p = ((depth.double() - t_plane).abs() / t_plane)[on_plane]
    assert float(rel_s.max()) < 1e-4
    assert float(rel_p.max()) < 1e-4


def test_frames_are_continuous_across_the_seam():
    # Turning the camera by 180 deg moves the seam to the image centre: the frame must be the same
    # image rolled by W/2, so the seam column pair is as continuous as any interior pair.
    for kind in ("indoor", "outdoor"):
        scene = make_scene(3, kind, "static")
        turned = dataclasses.replace(scene, trajectory=dataclasses.replace(scene.trajectory, yaw=scene.trajectory.yaw + 180))
        rgb, depth, _ = ClipRenderer(scene, frames=1, size=(64, 128)).render_frame(0)
        rgb2, depth2, _ = ClipRenderer(turned, frames=1, size=(64, 128)).render_frame(0)
        rolled = torch.roll(rgb2, 64, dims=-1)
        assert float(((rolled - rgb).abs() > 0.02).float().mean()) < 0.005, kind
        assert float(((torch.roll(depth2, 64, dims=-1) - depth).abs() / depth > 1e-4).float().mean()) < 0.005, kind


def test_rendering_is_deterministic_and_supersampling_keeps_exact_depth():
    scene = make_scene(5, "indoor", "walk_rotate")
    a = render_clip(scene, frames=3, size=(16, 32), grid_size=4)
    b = render_clip(scene, frames=3, size=(16, 32), grid_size=4)
    assert torch.equal(a.frames, b.frames) and torch.equal(a.depth, b.depth)
    assert torch.equal(a.tracks2d, b.tracks2d)
    ss = ClipRenderer(scene, frames=3, size=(16, 32), supersample=3).render_frame(2)
    assert torch.allclose(ss[1], a.depth[2], rtol=1e-5)
    assert torch.equal(ss[2], a.instances[2])
    assert a.frames.shape == (3, 3, 16, 32) and a.frames.dtype == torch.float32
    assert 0.0 <= float(a.frames.min()) and float(a.frames.max()) <= 1.0


def test_culling_and_cached_background_do_not_change_the_output():
    for kind, traj in (("outdoor", "walk_rotate"), ("indoor", "static")):
        scene = make_scene(1, kind, traj)
        fast = ClipRenderer(scene, frames=8, size=(32, 64))
        naive = ClipRenderer(scene, frames=8, size=(32, 64), optimize=False)
        for i in (0, 7):
            a, b = fast.render_frame(i), naive.render_frame(i)
            assert torch.equal(a[1], b[1]) and torch.equal(a[2], b[2])
            assert float((a[0] - b[0]).abs().max()) < 1e-5
