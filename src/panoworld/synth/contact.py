"""A contact sheet of sample scenes: one row per scene, first / middle / last frame of a clip."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from panoworld.io import atomic_path, to_uint8

from .render import ClipRenderer

__all__ = ["contact_sheet", "write_contact_sheet"]

SAMPLES = (
    ("indoor", "static"), ("indoor", "walk"), ("indoor", "rotate"),
    ("outdoor", "static"), ("outdoor", "walk_rotate"), ("outdoor", "walk"),
)


def contact_sheet(
    *, seed: int = 0, size: tuple[int, int] = (128, 256), frames: int = 93, fps: float = 16.0, device: str = "cpu",
    samples=SAMPLES,
) -> torch.Tensor:
    """(3, rows * (H + 2), 3 * (W + 2)) float image: for each (kind, trajectory) in ``samples`` the
    first, middle and last frame of a ``frames``-frame clip of the scene with seed ``seed + row``."""
    from . import make_scene

    height, width = size
    rows = []
    for r, (kind, traj) in enumerate(samples):
        renderer = ClipRenderer(make_scene(seed + r, kind, traj), frames=frames, size=size, fps=fps, device=device)
        tiles = []
        for i in (0, frames // 2, frames - 1):
            tile = torch.ones(3, height + 2, width + 2)
            tile[:, 1:-1, 1:-1] = renderer.render_frame(i)[0].cpu()
            tiles.append(tile)
        rows.append(torch.cat(tiles, dim=2))
    return torch.cat(rows, dim=1)


def write_contact_sheet(path: str | os.PathLike, *, seed: int = 0, device: str = "cpu", colors: int = 192, **kw) -> Path:
    """Render :func:`contact_sheet` and save it as a palette PNG (``colors`` colours keep it small)."""
    from PIL import Image

    image = Image.fromarray(to_uint8(contact_sheet(seed=seed, device=device, **kw)))
    image = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    return Path(path)
