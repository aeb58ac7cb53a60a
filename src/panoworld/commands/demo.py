"""``panoworld demo``: the quick start on bundled sample data (no downloads, no network)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import parse_size, progress_bar, say
from ._options import open_range, output_dir


def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", callback=output_dir,
                             help="Folder for the demo outputs (created if needed)."),
    generate: bool = typer.Option(True, "--generate/--no-generate",
                                  help="Generate a 360-degree video from the sample photo (with --model)."),
    model: str = typer.Option("small-4step", "--model", help="Model that generates: 'small-4step' (the small "
                              "PanoWorld's 4-step student, shipped with the package), 'small' (its 15-step "
                              "teacher), a PanoWorld model folder or a weights root."),
    device: str = typer.Option(None, "--device", help="Torch device (default cuda if available, else cpu)."),
    steps: int = typer.Option(None, "--steps", min=1, help="Sampling steps [default: the model's].",
                              show_default=False),
    seed: int = typer.Option(0, "--seed", help="Random seed of the generation."),
    frames: int = typer.Option(96, "--frames", min=2, help="Frames of the perspective tour video."),
    fps: int = typer.Option(24, "--fps", min=1, help="Frame rate of the tour video, frames per second."),
    fov: float = typer.Option(75.0, "--fov", callback=open_range(0, 180),
                              help="Horizontal field of view of the tour camera, degrees, in (0, 180)."),
    size: str = typer.Option("360x640", "--size", help="Tour video size HEIGHTxWIDTH in pixels."),
    face_size: int = typer.Option(256, "--face-size", min=2, help="Cube face edge for the cubemap, pixels."),
) -> None:
    """Generate a 360-degree video (with its depth) from the bundled sample photo and caption with the small
    PanoWorld, write a viewer page of it, then run the geometry tools on the sample room: place the photo into a
    360-degree canvas, cut the sample ERP into a cubemap and render a perspective tour that pans around it."""
    tour_size = parse_size(size)
    from panoworld.pipelines.config import LoadConfig

    LoadConfig(device=device).validate()
    from panoworld.demo import run_demo, run_demo_generation

    generated = {}
    if generate:
        generated = run_demo_generation(out, model=model, device=device, seed=seed, num_steps=steps,
                                        progress=progress_bar, say=say)
    with progress_bar("tour", frames) as advance:
        run_demo(out, frames=frames, fps=fps, fov=fov, size=tour_size, face_size=face_size, progress=advance, say=say)
    if generated:
        say(f"generated 360-degree video: {generated['video']}" +
            (f" (depth in metres: {generated['depth']})" if "depth" in generated else ""))
        say(f"next: open {generated['viewer']} in a browser to look around "
            f"(or: panoworld view {generated['video'].parent} --serve)")
