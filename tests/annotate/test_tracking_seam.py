"""Tracking across the +-180-degree seam with an exact stand-in tracker (pure rotations: ground truth is exact)."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from panoworld.annotate.tracking import track_erp
from panoworld.sphere import (
    direction_to_lonlat,
    lonlat_to_direction,
    lonlat_to_pixel,
    pixel_to_lonlat,
    query_grid,
    rotation_matrix,
    wrap_dx,
)

H, W, T = 32, 64, 11


class RotationOracle(torch.nn.Module):
    """Tracker stand-in that knows the camera rotations: it moves each query exactly as the rotation does (from its
    query frame, both ways in time, continuously in the padded frame) and loses it outside the padded frame, as
    a real tracker does. Same call signature as ``CoTracker3Offline``."""

    def __init__(self, rotations: torch.Tensor, pad: int):
        super().__init__()
        self.rot, self.pad = rotations, pad
        self.config = SimpleNamespace(model_resolution=(H, W + 2 * pad))
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.calls = 0

    def forward(self, video, queries, iters=6):
        self.calls += 1
        hm, wm = video.shape[-2:]
        wp = W + 2 * self.pad
        sx, sy = (wm - 1) / (wp - 1), (hm - 1) / (H - 1)
        qt, x0, y0 = queries[0, :, 0].long(), queries[0, :, 1].double() / sx, queries[0, :, 2].double() / sy
        rays = lonlat_to_direction(pixel_to_lonlat(x0 - self.pad, y0, H, W))
        world = (self.rot[qt] @ rays[..., None])[..., 0]
        cam = torch.einsum("tji,nj->tni", self.rot, world)
        px = lonlat_to_pixel(direction_to_lonlat(cam), H, W)  # (T, N, 2)
        steps = torch.cat([torch.zeros_like(px[:1, :, 0]), wrap_dx(px[1:, :, 0] - px[:-1, :, 0], W)])
        path = torch.cumsum(steps, 0)
        x = x0[None] + path - path.gather(0, qt[None])
        inside = ((x >= -0.5) & (x <= wp - 0.5)).float()
        coords = torch.stack([x * sx, px[..., 1] * sy], -1).float()
        return coords[None], inside[None], torch.ones_like(inside)[None]


def _turn(yaw: float, pitch: float = 10.0) -> torch.Tensor:
    s = torch.linspace(0, 1, T, dtype=torch.float64)
    return rotation_matrix(yaw=yaw * s, pitch=pitch * s, roll=torch.zeros_like(s), dtype=torch.float64)


def _truth(rot: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    rays = lonlat_to_direction(pixel_to_lonlat(queries[:, 0].double(), queries[:, 1].double(), H, W))
    cam = torch.einsum("tji,nj->tni", rot, (rot[0] @ rays[..., None])[..., 0])
    return lonlat_to_pixel(direction_to_lonlat(cam), H, W).permute(1, 0, 2)


def test_points_past_the_seam_are_wrapped_not_dropped():
    rot = _turn(150.0)
    frames = torch.zeros(T, 3, H, W)
    tracker = RotationOracle(rot, W // 4)
    tracks, vis = track_erp(tracker, frames, grid_size=8)
    truth = _truth(rot, query_grid(H, W, 8, dtype=torch.float64))
    assert bool((vis > 0.5).all())  # every point stays tracked through 150 degrees of yaw
    err = torch.hypot(wrap_dx(tracks[..., 0].double() - truth[..., 0], W), tracks[..., 1] - truth[..., 1])
    assert float(err.max()) < 1e-3
    assert float(tracks[..., 0].min()) >= -0.5 and float(tracks[..., 0].max()) < W - 0.5
    assert tracker.calls >= 2  # the hand-over really ran
    _, lost = track_erp(RotationOracle(rot, W // 4), frames, grid_size=8, handover=False)
    assert float((lost <= 0.5).float().mean()) > 0.02  # without it points past the padding were lost


def test_given_queries_are_tracked_and_a_still_camera_needs_one_pass():
    rot = _turn(0.0, 0.0)
    tracker = RotationOracle(rot, W // 4)
    queries = torch.tensor([[0.0, 5.0], [63.0, 20.0], [31.5, 16.0]])
    tracks, vis = track_erp(tracker, torch.zeros(T, 3, H, W), queries=queries, merge=False)
    assert tracks.shape == (3, T, 2) and bool((vis > 0.5).all()) and tracker.calls == 1
    assert torch.allclose(tracks, queries[:, None].expand(-1, T, -1), atol=1e-4)
