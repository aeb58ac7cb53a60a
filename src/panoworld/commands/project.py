"""``panoworld project``: convert images and videos between ERP, perspective and cubemap views."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
import typer

from panoworld import sphere
from panoworld.errors import InputError
from panoworld.io import VideoWriter, iter_video, probe_video, read_image, write_image

from ._common import is_video_path, parse_size, progress_bar

app = typer.Typer(
    help="Convert images and videos between equirectangular (ERP), perspective and cubemap views. "
    "Angles are in degrees; sizes are HEIGHTxWIDTH in pixels. Videos are processed as a stream.",
    no_args_is_help=True,
)

Frames = Callable[[torch.Tensor], torch.Tensor]

INPUT = typer.Argument(..., help="Input image (.png/.jpg/...) or video (.mp4/...).", show_default=False)
OUTPUT = typer.Argument(..., help="Output file; an image for an image input, an .mp4 for a video input.")
FOV = typer.Option(90.0, "--fov", help="Full horizontal field of view of the perspective view, degrees, in (0, 180).")
YAW = typer.Option(0.0, "--yaw", help="Camera yaw in degrees; positive turns right (view centre at lon = yaw).")
PITCH = typer.Option(0.0, "--pitch", help="Camera pitch in degrees; positive looks up (view centre at lat = pitch).")
ROLL = typer.Option(0.0, "--roll", help="Camera roll in degrees; positive turns the camera clockwise (right side down).")
MODE = typer.Option("bilinear", "--mode", help="Interpolation: bilinear or nearest.")
CHUNK = typer.Option(16, "--chunk", min=1, help="Video frames processed at once (memory vs speed).")
DEVICE = typer.Option("cpu", "--device", help="Torch device for the resampling, e.g. cpu or cuda.")


def _check_erp_input(height: int, width: int, path: Path) -> None:
    try:
        sphere.check_erp_size(height, width)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None


def convert_media(
    src: Path, dst: Path, fn: Frames, *, erp_input: bool, erp_output: bool, device: str, label: str, chunk: int
) -> None:
    """Apply ``fn`` ((t, C, H, W) -> (t, C, h, w)) to an image or, streamed in chunks, a video."""
    if is_video_path(src) != is_video_path(dst):
        raise InputError(f"{src} and {dst} must both be images or both be videos")
    dev = torch.device(device)
    if not is_video_path(src):
        image = read_image(src).to(dev)
        if erp_input:
            _check_erp_input(image.shape[-2], image.shape[-1], src)
        write_image(dst, fn(image[None])[0].cpu())
        return
    info = probe_video(src)
    if erp_input:
        _check_erp_input(info.height, info.width, src)
    with VideoWriter(dst, info.fps, spherical=erp_output) as writer, progress_bar(label, info.num_frames) as advance:
        for chunk in iter_video(src, chunk_size=chunk):
            writer.write(fn(chunk.to(dev)).cpu())
            advance(chunk.shape[0])


@app.command("e2p")
def e2p(
    input: Path = INPUT,
    output: Path = OUTPUT,
    fov: float = FOV,
    yaw: float = YAW,
    pitch: float = PITCH,
    roll: float = ROLL,
    size: str = typer.Option("480x640", "--size", help="Perspective output size HEIGHTxWIDTH in pixels."),
    mode: str = MODE,
    chunk: int = CHUNK,
    device: str = DEVICE,
) -> None:
    """ERP -> upright perspective view."""
    out_size = parse_size(size)
    sphere.check_fov(fov)
    fn = lambda x: sphere.erp_to_perspective(x, fov_x=fov, yaw=yaw, pitch=pitch, roll=roll, size=out_size, mode=mode)  # noqa: E731
    convert_media(input, output, fn, erp_input=True, erp_output=False, device=device, label="e2p", chunk=chunk)


@app.command("p2e")
def p2e(
    input: Path = INPUT,
    output: Path = OUTPUT,
    fov: float = FOV,
    yaw: float = YAW,
    pitch: float = PITCH,
    roll: float = ROLL,
    size: str = typer.Option("512x1024", "--size", help="ERP output size HEIGHTxWIDTH in pixels (W = 2H)."),
    mask: Path = typer.Option(None, "--mask", help="Also write the ERP window mask (image inputs) to this PNG."),
    mode: str = MODE,
    chunk: int = CHUNK,
    device: str = DEVICE,
) -> None:
    """Perspective image/video -> ERP canvas (black outside the window)."""
    out_size = parse_size(size)
    try:
        sphere.check_erp_size(*out_size)
    except ValueError as exc:
        raise InputError(f"--size: {exc}") from None
    sphere.check_fov(fov)

    def fn(x: torch.Tensor) -> torch.Tensor:
        erp, window = sphere.perspective_to_erp(x, fov_x=fov, yaw=yaw, pitch=pitch, roll=roll, size=out_size, mode=mode)
        if mask is not None and not is_video_path(input):
            write_image(mask, window[0].cpu())
        return erp

    convert_media(input, output, fn, erp_input=False, erp_output=True, device=device, label="p2e", chunk=chunk)


@app.command("e2c")
def e2c(
    input: Path = INPUT,
    output: Path = OUTPUT,
    face_size: int = typer.Option(256, "--face-size", min=2, help="Cube face edge in pixels."),
    mode: str = MODE,
    chunk: int = CHUNK,
    device: str = DEVICE,
) -> None:
    """ERP -> cubemap as a horizontal strip of 6 faces: front, right, back, left, up, down."""

    def fn(x: torch.Tensor) -> torch.Tensor:
        faces = sphere.erp_to_cubemap(x, face_size, mode=mode)
        return torch.cat(faces.unbind(-4), dim=-1)

    convert_media(input, output, fn, erp_input=True, erp_output=False, device=device, label="e2c", chunk=chunk)


@app.command("c2e")
def c2e(
    input: Path = INPUT,
    output: Path = OUTPUT,
    size: str = typer.Option("512x1024", "--size", help="ERP output size HEIGHTxWIDTH in pixels (W = 2H)."),
    mode: str = MODE,
    chunk: int = CHUNK,
    device: str = DEVICE,
) -> None:
    """Cubemap strip (6 faces side by side: front, right, back, left, up, down) -> ERP."""
    out_size = parse_size(size)
    try:
        sphere.check_erp_size(*out_size)
    except ValueError as exc:
        raise InputError(f"--size: {exc}") from None

    def fn(x: torch.Tensor) -> torch.Tensor:
        s = x.shape[-2]
        if x.shape[-1] != 6 * s:
            raise InputError(f"{input}: a cubemap strip must be 6 times as wide as tall, got {s}x{x.shape[-1]}")
        faces = torch.stack(x.split(s, dim=-1), dim=-4)
        return sphere.cubemap_to_erp(faces, out_size, mode=mode)

    convert_media(input, output, fn, erp_input=False, erp_output=True, device=device, label="c2e", chunk=chunk)


@app.command("rotate")
def rotate(
    input: Path = INPUT,
    output: Path = OUTPUT,
    yaw: float = YAW,
    pitch: float = PITCH,
    roll: float = ROLL,
    mode: str = MODE,
    chunk: int = CHUNK,
    device: str = DEVICE,
) -> None:
    """Re-render an ERP as seen by a camera turned by yaw/pitch/roll (the new centre = old (yaw, pitch))."""
    fn = lambda x: sphere.rotate_erp(x, yaw=yaw, pitch=pitch, roll=roll, mode=mode)  # noqa: E731
    convert_media(input, output, fn, erp_input=True, erp_output=True, device=device, label="rotate", chunk=chunk)
