"""Procedural ERP videos for the data tests: sky on top, ground below, a texture drifting around the seam."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from panoworld.cli import main
from panoworld.io import write_video

SKY = (0.35, 0.6, 0.95)
GROUND = (0.45, 0.3, 0.15)


def erp_frames(
    num_frames: int, height: int = 64, width: int = 128, *, kind: str = "good", palette_shift: int | None = None
) -> torch.Tensor:
    """(T, 3, H, W) float frames of a synthetic ERP world.

    ``good``: blue sky above the horizon, brown ground below, a bright band whose pattern is a
    periodic function of longitude (continuous across the seam) drifting 6 degrees per frame.
    ``broken_seam``: the same plus a left-to-right colour ramp, so the two edges do not meet.
    ``black``: all zeros. ``palette_shift``: from that frame on the scene turns green (a hard shot cut).
    """
    if kind == "black":
        return torch.zeros(num_frames, 3, height, width)
    lon = -math.pi + 2 * math.pi * (torch.arange(width) + 0.5) / width
    lat = math.pi / 2 - math.pi * (torch.arange(height) + 0.5) / height
    sky = torch.tensor(SKY)[:, None, None].expand(3, height, width)
    ground = torch.tensor(GROUND)[:, None, None].expand(3, height, width)
    upper = (lat > 0)[None, :, None].float()
    frames = []
    for t in range(num_frames):
        phase = math.radians(6 * t)
        band = 0.5 + 0.5 * torch.sin(5 * (lon - phase)) * torch.cos(3 * (lon + 2 * phase))
        img = upper * sky + (1 - upper) * ground
        in_band = ((lat > -0.5) & (lat < 0.0))[None, :, None].float()
        img = img * (1 - in_band) + in_band * band[None, None, :].expand(3, height, width) * torch.tensor(
            [0.9, 0.8, 0.2]
        )[:, None, None]
        if kind == "broken_seam":
            img = img * 0.5 + 0.5 * ((torch.arange(width) / (width - 1))[None, None, :]).expand(3, height, width)
        if palette_shift is not None and t >= palette_shift:
            img = img[[1, 2, 0]] * 0.3 + torch.tensor([0.0, 0.6, 0.0])[:, None, None]
        frames.append(img.clamp(0, 1))
    return torch.stack(frames)


def make_video(path: Path, seconds: float, fps: int, **kw) -> Path:
    """Write a synthetic ERP video of ``seconds * fps`` frames (H.264) and return its path."""
    frames = erp_frames(int(round(seconds * fps)), **kw)
    write_video(path, frames, fps, crf=20)
    return path


@pytest.fixture(scope="session")
def source_videos(tmp_path_factory) -> dict[str, Path]:
    """Long-ish synthetic sources: two good ones in scene folders, non-2:1, broken seam, all black."""
    root = tmp_path_factory.mktemp("sources")
    (root / "sceneA").mkdir()
    (root / "sceneB").mkdir()
    return {
        "good_a": make_video(root / "sceneA" / "walk.mp4", 11.0, 8),
        "good_b": make_video(root / "sceneB" / "street.mp4", 10.5, 8),
        "not_2to1": make_video(root / "odd.mp4", 5.0, 8, height=64, width=96),
        "broken_seam": make_video(root / "seam.mp4", 5.0, 8, kind="broken_seam"),
        "black": make_video(root / "black.mp4", 5.0, 8, kind="black"),
        "root": root,
    }


@pytest.fixture(scope="session")
def cut_out(source_videos, tmp_path_factory) -> Path:
    """``panoworld data cut`` of all sources with two worker processes (shared by the caption/package tests)."""
    out = tmp_path_factory.mktemp("cut")
    assert main(["data", "cut", str(source_videos["root"]), "--out", str(out), "-j", "2"]) == 0
    return out
