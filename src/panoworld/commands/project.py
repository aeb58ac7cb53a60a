"""``panoworld project``: convert images and videos between ERP, perspective and cubemap views."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import parse_size, progress_bar
from ._options import new_app, open_range, output_file

app = new_app("Convert images and videos between equirectangular (ERP), perspective and cubemap views. Angles "
              "are in degrees; sizes are HEIGHTxWIDTH in pixels. Videos are processed as a stream.")

INPUT = typer.Argument(..., help="Input image (.png/.jpg/...) or video (.mp4/...).", show_default=False,
                       exists=True, dir_okay=False)
OUTPUT = typer.Argument(..., help="Output file; an image for an image input, an .mp4 for a video input.",
                        callback=output_file)
FOV = typer.Option(90.0, "--fov", callback=open_range(0, 180),
                   help="Full horizontal field of view of the perspective view, degrees, in (0, 180).")
YAW = typer.Option(0.0, "--yaw", help="Camera yaw in degrees; positive turns right (view centre at lon = yaw).")
PITCH = typer.Option(0.0, "--pitch", help="Camera pitch in degrees; positive looks up (view centre at lat = pitch).")
ROLL = typer.Option(0.0, "--roll", help="Camera roll in degrees; positive turns the camera clockwise (right side down).")
MODE = typer.Option("bilinear", "--mode", help="Interpolation: bilinear or nearest.")
CHUNK = typer.Option(16, "--chunk", min=1, help="Video frames processed at once (memory vs speed).")
DEVICE = typer.Option("cpu", "--device", help="Torch device for the resampling, e.g. cpu or cuda.")
ERP_SIZE = typer.Option("512x1024", "--size", help="ERP output size HEIGHTxWIDTH in pixels (W = 2H).")


def _erp_size(size: tuple[int, int], what: str) -> None:
    from panoworld import sphere
    from panoworld.errors import InputError

    try:
        sphere.check_erp_size(*size)
    except ValueError as exc:
        raise InputError(f"{what}: {exc}") from None


def _run(src: Path, dst: Path, fn, *, erp_input: bool, erp_output: bool, device: str, chunk: int) -> None:
    from panoworld.io.media import transform_media

    check = (lambda h, w: _erp_size((h, w), str(src))) if erp_input else None
    with progress_bar(dst.name, None) as advance:
        transform_media(src, dst, fn, check_input=check, spherical_output=erp_output, device=device, chunk=chunk,
                        progress=advance)


@app.command("e2p")
def e2p(input: Path = INPUT, output: Path = OUTPUT, fov: float = FOV, yaw: float = YAW, pitch: float = PITCH,
        roll: float = ROLL, mode: str = MODE, chunk: int = CHUNK, device: str = DEVICE,
        size: str = typer.Option("480x640", "--size", help="Perspective output size HEIGHTxWIDTH in pixels.")) -> None:
    """ERP -> upright perspective view."""
    out_size = parse_size(size)
    from panoworld import sphere

    _run(input, output, lambda x: sphere.erp_to_perspective(x, fov_x=fov, yaw=yaw, pitch=pitch, roll=roll,
                                                            size=out_size, mode=mode),
         erp_input=True, erp_output=False, device=device, chunk=chunk)


@app.command("p2e")
def p2e(input: Path = INPUT, output: Path = OUTPUT, fov: float = FOV, yaw: float = YAW, pitch: float = PITCH,
        roll: float = ROLL, size: str = ERP_SIZE, mode: str = MODE, chunk: int = CHUNK, device: str = DEVICE,
        mask: Path = typer.Option(None, "--mask", callback=output_file,
                                  help="Also write the ERP window mask (image inputs) to this PNG.")) -> None:
    """Perspective image/video -> ERP canvas (black outside the window)."""
    from panoworld import sphere
    from panoworld.io import write_image
    from panoworld.io.media import is_video_path

    out_size = parse_size(size)
    _erp_size(out_size, "--size")

    def fn(x):
        erp, window = sphere.perspective_to_erp(x, fov_x=fov, yaw=yaw, pitch=pitch, roll=roll, size=out_size,
                                                mode=mode)
        if mask is not None and not is_video_path(input):
            write_image(mask, window[0].cpu())
        return erp

    _run(input, output, fn, erp_input=False, erp_output=True, device=device, chunk=chunk)


@app.command("e2c")
def e2c(input: Path = INPUT, output: Path = OUTPUT, mode: str = MODE, chunk: int = CHUNK, device: str = DEVICE,
        face_size: int = typer.Option(256, "--face-size", min=2, help="Cube face edge in pixels.")) -> None:
    """ERP -> cubemap as a horizontal strip of 6 faces: front, right, back, left, up, down."""
    from panoworld import sphere

    import torch

    _run(input, output, lambda x: torch.cat(sphere.erp_to_cubemap(x, face_size, mode=mode).unbind(-4), dim=-1),
         erp_input=True, erp_output=False, device=device, chunk=chunk)


@app.command("c2e")
def c2e(input: Path = INPUT, output: Path = OUTPUT, size: str = ERP_SIZE, mode: str = MODE, chunk: int = CHUNK,
        device: str = DEVICE) -> None:
    """Cubemap strip (6 faces side by side: front, right, back, left, up, down) -> ERP."""
    from panoworld import sphere

    import torch

    from panoworld.errors import InputError

    out_size = parse_size(size)
    _erp_size(out_size, "--size")

    def fn(x):
        s = x.shape[-2]
        if x.shape[-1] != 6 * s:
            raise InputError(f"{input}: a cubemap strip must be 6 times as wide as tall, got {s}x{x.shape[-1]}")
        return sphere.cubemap_to_erp(torch.stack(x.split(s, dim=-1), dim=-4), out_size, mode=mode)

    _run(input, output, fn, erp_input=False, erp_output=True, device=device, chunk=chunk)


@app.command("rotate")
def rotate(input: Path = INPUT, output: Path = OUTPUT, yaw: float = YAW, pitch: float = PITCH, roll: float = ROLL,
           mode: str = MODE, chunk: int = CHUNK, device: str = DEVICE) -> None:
    """Re-render an ERP as seen by a camera turned by yaw/pitch/roll (the new centre = old (yaw, pitch))."""
    from panoworld import sphere

    _run(input, output, lambda x: sphere.rotate_erp(x, yaw=yaw, pitch=pitch, roll=roll, mode=mode), erp_input=True,
         erp_output=True, device=device, chunk=chunk)
