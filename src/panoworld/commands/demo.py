"""``panoworld demo``: the quick start on bundled sample data (no weights, no network)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch
import typer

from panoworld import sphere
from panoworld.errors import InputError
from panoworld.io import VideoWriter, read_image, write_image

from ._common import console, progress_bar

SAMPLE_PERSPECTIVE = "sample_room_persp.png"
SAMPLE_ERP = "sample_room_erp.png"
SAMPLE_META = "sample_room.json"


def _asset(name: str) -> Path:
    path = Path(str(resources.files("panoworld") / "assets" / name))
    if not path.is_file():
        raise InputError(f"bundled sample {name} is missing from the installation; reinstall panoworld")
    return path


def tour_angles(frames: int, *, pitch_amplitude: float = 15.0) -> list[tuple[float, float]]:
    """(yaw, pitch) in degrees for a full 360-degree pan with a gentle nod, one pair per frame."""
    angles = []
    for i in range(frames):
        phase = i / frames
        yaw = -180.0 + 360.0 * phase
        pitch = pitch_amplitude * float(torch.sin(torch.tensor(2 * torch.pi * 2 * phase)))
        angles.append((yaw, pitch))
    return angles


def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", help="Folder for the demo outputs (created if needed)."),
    frames: int = typer.Option(96, "--frames", min=2, help="Frames of the perspective tour video."),
    fps: int = typer.Option(24, "--fps", min=1, help="Frame rate of the tour video, frames per second."),
    fov: float = typer.Option(75.0, "--fov", help="Horizontal field of view of the tour camera, degrees."),
    size: str = typer.Option("360x640", "--size", help="Tour video size HEIGHTxWIDTH in pixels."),
    face_size: int = typer.Option(256, "--face-size", min=2, help="Cube face edge for the cubemap, pixels."),
) -> None:
    """Run the geometry tools on the bundled sample room: place the perspective photo into a 360-degree canvas,
    cut the sample ERP into a cubemap, and render a perspective tour video that pans around it."""
    from ._common import parse_size

    tour_size = parse_size(size)
    sphere.check_fov(fov)
    out.mkdir(parents=True, exist_ok=True)
    meta = json.loads(_asset(SAMPLE_META).read_text())

    photo = read_image(_asset(SAMPLE_PERSPECTIVE))
    canvas, mask = sphere.perspective_to_erp(
        photo,
        fov_x=meta["fov_x"],
        yaw=meta.get("yaw", 0.0),
        pitch=meta.get("pitch", 0.0),
        roll=meta.get("roll", 0.0),
        size=(512, 1024),
    )
    write_image(out / "canvas.png", canvas)
    write_image(out / "canvas_mask.png", mask)
    console.print(f"placed the {photo.shape[-1]}x{photo.shape[-2]} photo (fov {meta['fov_x']} deg) -> {out / 'canvas.png'}")

    erp = read_image(_asset(SAMPLE_ERP))
    faces = sphere.erp_to_cubemap(erp, face_size)
    write_image(out / "cubemap.png", torch.cat(faces.unbind(0), dim=-1))
    console.print(f"cut the ERP into 6 faces (front, right, back, left, up, down) -> {out / 'cubemap.png'}")

    with VideoWriter(out / "tour.mp4", fps) as writer, progress_bar("tour", frames) as advance:
        for yaw, pitch in tour_angles(frames):
            writer.write(sphere.erp_to_perspective(erp, fov_x=fov, yaw=yaw, pitch=pitch, size=tour_size))
            advance(1)
    console.print(f"rendered a {frames}-frame 360-degree tour -> {out / 'tour.mp4'}")
