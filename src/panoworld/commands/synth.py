"""``panoworld synth``: render a split of procedural 360-degree worlds with exact ground truth."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from panoworld.errors import InputError

from ._common import parse_size, progress_bar, say
from ._options import open_range, output_dir, output_file


def _proportions(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--trajectories must be 4 comma-separated numbers, e.g. 25,12,8,5; got {text!r}") from None
    if len(values) != 4 or not all(math.isfinite(v) and v >= 0 for v in values):
        raise InputError(f"--trajectories needs 4 finite numbers >= 0 (static,rotate,walk,walk_rotate), got {text!r}")
    return values


def synth(
    out: Path = typer.Option(None, "--out", callback=output_dir, help="Output folder of the split (created; "
                             "re-running resumes it, a larger --clips grows it)."),
    clips: int = typer.Option(50, "--clips", min=1, help="Number of clips (the first clips of a larger split are "
                              "the same)."),
    force: bool = typer.Option(False, "--force", help="Re-render every clip (needed when the folder holds a split "
                               "made with other settings)."),
    frames: int = typer.Option(93, "--frames", min=1, help="Frames per clip."),
    size: str = typer.Option("512x1024", "--size", help="ERP frame size HEIGHTxWIDTH in pixels (W = 2H)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split; the same seed and settings give identical files."),
    fps: float = typer.Option(16.0, "--fps", min=0.001, help="Frame rate, frames per second."),
    trajectories: str = typer.Option(
        "25,12,8,5", "--trajectories", help="Proportions of static,rotate,walk,walk_rotate camera paths."
    ),
    indoor_fraction: float = typer.Option(0.5, "--indoor-fraction", min=0.0, max=1.0,
                                          help="Fraction of indoor (room) clips, 0..1."),
    ann_frames: int = typer.Option(20, "--ann-frames", min=0, help="Annotation frames per clip, evenly in time "
                                   "(0 = all)."),
    grid: int = typer.Option(30, "--grid", min=1, help="Track queries: a GRID x GRID grid on frame 0."),
    split_name: str = typer.Option("synth", "--split-name", help="Split name used in clip ids and folders."),
    device: str = typer.Option("cpu", "--device", help="Torch device for rendering, e.g. cpu or cuda."),
    supersample: int = typer.Option(1, "--supersample", min=1, help="Odd anti-aliasing factor (rays per pixel side)."),
    shadows: bool = typer.Option(True, "--shadows/--no-shadows", help="Cast shadows from the lamp or sun."),
    depth_dtype: str = typer.Option("float16", "--depth-dtype", help="Depth file dtype: float16 or float32 (metres)."),
    input_fov: float = typer.Option(90.0, "--input-fov", callback=open_range(0, 180),
                                    help="Horizontal field of view of the input image, degrees, in (0, 180)."),
    threads: int = typer.Option(
        0, "--threads", min=0, help="Torch CPU threads (0 = torch default; 1 is fastest on a busy shared machine)."
    ),
    contact_sheet: Path = typer.Option(
        None, "--contact-sheet", callback=output_file,
        help="Also (or only) write a PNG contact sheet of sample scenes to this file."
    ),
) -> None:
    """Render procedural indoor rooms and outdoor streets as ERP videos with metric depth (metres), camera poses,
    2-D/3-D point tracks, visibility, static flags, captions and a master.csv (layout: docs/synth.md)."""
    if out is None and contact_sheet is None:
        raise InputError("give --out DIR to write a split, or --contact-sheet FILE.png for a preview")
    height, width = parse_size(size)
    proportions = _proportions(trajectories)
    from panoworld.synth import write_split
    from panoworld.synth.contact import write_contact_sheet
    from panoworld.synth.dataset import check_settings

    check_settings(size=(height, width), frames=frames, fps=fps, grid_size=grid, depth_dtype=depth_dtype,
                   split=split_name, clips=clips, trajectories=proportions, indoor_fraction=indoor_fraction,
                   supersample=supersample)
    if threads:
        import torch

        torch.set_num_threads(threads)
    if contact_sheet is not None:
        write_contact_sheet(contact_sheet, seed=seed, device=device)
        say(f"contact sheet -> {contact_sheet}")
    if out is None:
        return
    with progress_bar("synth", clips * frames) as advance:
        master = write_split(
            out, clips=clips, frames=frames, size=(height, width), seed=seed, fps=fps,
            trajectories=proportions, indoor_fraction=indoor_fraction, ann_frames=ann_frames,
            grid_size=grid, split=split_name, device=device, supersample=supersample, shadows=shadows,
            depth_dtype=depth_dtype, input_fov=input_fov, progress=advance, force=force,
        )
    say(f"wrote {clips} clips -> {master}")
