"""Exact checks on synthetic worlds: ground-truth depth + 2-D tracks through lifting, camera motion, static flags."""

from __future__ import annotations

import math

import pytest
import torch

from panoworld.annotate.camera import estimate_camera_motion, stabilise
from panoworld.annotate.lifting import lift_tracks
from panoworld.annotate.static import semantic_static_from_masks, static_flags
from panoworld.annotate.tracking import merge_seam_tracks
from panoworld.sphere import wrap_pad
from tests.annotate.worlds import make_world, relative_c2w, rotation_angle_deg


def _umeyama_scale(est: torch.Tensor, gt: torch.Tensor) -> float:
    """Least-squares scale s with gt ≈ s * est for camera positions relative to frame 0."""
    return float((est * gt).sum() / (est * est).sum().clamp_min(1e-12))


@pytest.fixture(scope="module", params=["rotate", "walk", "walk_rotate"])
def solved(request):
    world = make_world(request.param)
    raw = lift_tracks(world.tracks, world.depth, world.visibility)
    motion = estimate_camera_motion(raw)
    return world, raw, motion


def test_lifting_recovers_camera_frame_points():
    world = make_world("walk", frames=3, n_dynamic=0)
    raw = lift_tracks(world.tracks, world.depth)
    rel = relative_c2w(world.c2w)
    world0 = (rel[None, :, :3, :3] @ raw[..., None])[..., 0] + rel[None, :, :3, 3]
    spread = (world0 - world0[:, :1]).norm(dim=-1).amax(1)  # a static point stays put in the world
    assert float(spread.median()) < 0.02


def test_camera_rotation_and_translation(solved):
    world, _, motion = solved
    gt = relative_c2w(world.c2w)
    est = motion.camera_to_world()
    rot_err = rotation_angle_deg(est[:, :3, :3].transpose(-1, -2) @ gt[:, :3, :3])
    assert float(rot_err.max()) < 0.5
    path = float((gt[1:, :3, 3] - gt[:-1, :3, 3]).norm(dim=-1).sum())
    if world.kind == "rotate":
        assert motion.method == "rotation"
        assert float(est[:, :3, 3].norm(dim=-1).max()) < 1e-9
    else:
        assert motion.method == "6dof"
        s = _umeyama_scale(est[:, :3, 3], gt[:, :3, 3])
        err = (s * est[:, :3, 3] - gt[:, :3, 3]).norm(dim=-1).max()
        assert float(err) < 0.02 * path


def test_static_flags_accuracy(solved):
    world, raw, motion = solved
    flags = static_flags(raw, stabilise(raw, motion), motion.inliers)
    accuracy = (flags.is_static == world.is_static).float().mean()
    assert float(accuracy) >= 0.95
    assert float(flags.is_static[~world.is_static].float().mean()) < 0.2  # dynamic points are caught


def test_translation_only_camera_is_moving():
    world = make_world("translate", n_dynamic=0)
    motion = estimate_camera_motion(lift_tracks(world.tracks, world.depth))
    assert not motion.is_static and motion.method == "6dof"
    assert float(motion.camera_to_world()[-1, :3, 3].norm()) > 1.0


def test_static_camera_is_static():
    world = make_world("static")
    motion = estimate_camera_motion(lift_tracks(world.tracks, world.depth))
    assert motion.is_static and torch.equal(motion.rotation[-1], torch.eye(3, dtype=torch.float64))


def _unwrapped_padded(world, pad):
    """GT tracks as a tracker sees them in the padded frame: continuous x (no jump at the seam) + pad."""
    w = world.depth.shape[-1]
    x = world.tracks[..., 0].clone()
    step = torch.remainder(x[:, 1:] - x[:, :-1] + w / 2, w) - w / 2
    x[:, 1:] = x[:, :1] + torch.cumsum(step, dim=1)
    return torch.stack([x + pad, world.tracks[..., 1]], dim=-1)


def test_seam_crossing_track_maps_back_as_one_track():
    """A point crossing the seam stays one track: padded-frame x maps back wrapped to [0, W)."""
    width, pad = 64, 16
    frames = torch.rand(2, 3, 8, width)
    padded = wrap_pad(frames, pad)
    assert torch.equal(padded[..., :pad], frames[..., -pad:]) and torch.equal(padded[..., -pad:], frames[..., :pad])
    world = make_world("rotate", n_dynamic=0)
    w = world.depth.shape[-1]
    x = world.tracks[..., 0]
    assert ((x[:, 1:] - x[:, :-1]).abs() > w / 2).any()  # the rotating camera moves points across the seam
    merged, _, groups = merge_seam_tracks(_unwrapped_padded(world, w // 4), world.visibility, w, w // 4)
    assert len(groups) == world.tracks.shape[0]  # distinct points never merge
    assert torch.allclose(merged, world.tracks, atol=1e-3)


def test_seam_fragments_and_duplicates_merge():
    """A track lost at one seam copy, its continuation in the other copy, and a duplicate merge into one."""
    world = make_world("rotate", n_dynamic=0)
    w, pad = world.depth.shape[-1], world.depth.shape[-1] // 4
    padded = _unwrapped_padded(world, pad)
    x = world.tracks[..., 0]
    idx = int(((x[:, 1:] - x[:, :-1]).abs() > w / 2).any(1).nonzero()[0])
    t = x.shape[1]
    jump = int(((x[idx, 1:] - x[idx, :-1]).abs() > w / 2).nonzero()[0]) + 1
    shift = -w if float(padded[idx, -1, 0]) > w else w
    a = padded[idx]
    b = a + torch.tensor([float(shift), 0.0]) + torch.tensor([0.3, -0.2])
    vis_a = (torch.arange(t) < jump).float()
    others = padded[[i for i in range(8) if i != idx][:5]]
    tracks = torch.cat([a[None], b[None], a[None] + torch.tensor([float(shift), 0.0]), others])
    vis = torch.cat([vis_a[None], 1 - vis_a[None], vis_a[None], torch.ones(5, t)])
    merged, mvis, groups = merge_seam_tracks(tracks, vis, w, pad)
    assert len(groups) == 6 and sorted(groups[0]) == [0, 1, 2]
    gt = world.tracks[idx]
    dx = torch.remainder(merged[0, :, 0] - gt[:, 0] + w / 2, w) - w / 2
    assert float(dx.abs().max()) < 0.5 and float((merged[0, :, 1] - gt[:, 1]).abs().max()) < 0.5
    assert float(mvis[0].min()) == 1.0


def test_semantic_hook_fuses_with_and():
    world = make_world("static", frames=4, n_dynamic=0, n_static=50)
    raw = lift_tracks(world.tracks, world.depth)
    motion = estimate_camera_motion(raw)
    masks = torch.zeros(4, *world.depth.shape[-2:], dtype=torch.bool)
    masks[:, :, : world.depth.shape[-1] // 2] = True  # "people" on the left half
    sem = semantic_static_from_masks(masks, world.tracks, world.visibility)
    flags = static_flags(raw, stabilise(raw, motion), motion.inliers, semantic=sem)
    left = world.tracks[:, 0, 0] < world.depth.shape[-1] / 2 - 1
    right = world.tracks[:, 0, 0] > world.depth.shape[-1] / 2
    assert not flags.is_static[left].any() and flags.is_static[~left & right].all()
    assert math.isclose(float(sem[left].sum()), 0.0)
