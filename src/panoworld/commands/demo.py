"""``panoworld demo``: the quick start on bundled sample data (no weights, no network)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import parse_size, progress_bar, say
from ._options import open_range, output_dir


def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", callback=output_dir,
                             help="Folder for the demo outputs (created if needed)."),
    frames: int = typer.Option(96, "--frames", min=2, help="Frames of the perspective tour video."),
    fps: int = typer.Option(24, "--fps", min=1, help="Frame rate of the tour video, frames per second."),
    fov: float = typer.Option(75.0, "--fov", callback=open_range(0, 180),
                              help="Horizontal field of view of the tour camera, degrees, in (0, 180)."),
    size: str = typer.Option("360x640", "--size", help="Tour video size HEIGHTxWIDTH in pixels."),
    face_size: int = typer.Option(256, "--face-size", min=2, help="Cube face edge for the cubemap, pixels."),
) -> None:
    """Run the geometry tools on the bundled sample room: place the perspective photo into a 360-degree canvas,
    cut the sample ERP into a cubemap, and render a perspective tour video that pans around it."""
    tour_size = parse_size(size)
    from panoworld.demo import run_demo

    with progress_bar("tour", frames) as advance:
        run_demo(out, frames=frames, fps=fps, fov=fov, size=tour_size, face_size=face_size, progress=advance, say=say)
