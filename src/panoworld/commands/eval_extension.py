"""``panoworld eval extension``: the drift report of a long video (ours or any method's) over its rounds."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import parse_list, progress_bar, say
from ._options import output_dir

VIDEO = typer.Argument(..., exists=True, help="A long ERP video (.mp4) or a `panoworld generate` output folder "
                       "(its run.json says where the rounds are; its depth.npz gives the depth).")
OUT = typer.Option(None, "--out", "-o", callback=output_dir, help="Report folder [default: <folder>/extension, or "
                   "<video stem>_extension beside a video file].", show_default=False)
JUNCTIONS = typer.Option(None, "--junctions", help="Comma-separated frame indices where rounds 2, 3, ... start "
                         "(for videos without a generation record).")
ROUND_SECONDS = typer.Option(None, "--round-seconds", help="Rounds of this many seconds each (instead of "
                             "--junctions).")
OVERLAP = typer.Option(None, "--overlap", min=1, help="Frames cross-faded at each junction [default: from run.json, "
                       "else 1].", show_default=False)
DEPTH = typer.Option(None, "--depth", exists=True, dir_okay=False, help="depth.npz with 'depth' (T, H, W) metres "
                     "and optional 'frame_indices' [default: the folder's depth.npz, else the DAP annotator].",
                     show_default=False)
TRACKS = typer.Option(None, "--tracks", exists=True, dir_okay=False, help="tracks.npz with 'visibility' (N, T) and "
                      "optional 'frame_indices' [default: the CoTracker3 annotator].", show_default=False)
ANNOTATE = typer.Option(True, "--annotate/--no-annotate", help="Run the DAP / CoTracker3 annotators for what no "
                        "file gives, when their weights are installed (`panoworld weights`).")
DEVICE = typer.Option("cpu", "--device", help="Torch device of the annotators, e.g. cpu or cuda.")
DEPTH_FPS = typer.Option(4.0, "--depth-fps", min=0.1, help="Frames per second the DAP annotator runs on.")
TRACK_GRID = typer.Option(16, "--track-grid", min=2, help="Query grid (N x N points) of each track window.")


def extension(video: Path = VIDEO, out: Optional[Path] = OUT, junctions: Optional[str] = JUNCTIONS,
              round_seconds: Optional[float] = ROUND_SECONDS, overlap: Optional[int] = OVERLAP,
              depth: Optional[Path] = DEPTH, tracks: Optional[Path] = TRACKS, annotate: bool = ANNOTATE,
              device: str = DEVICE, depth_fps: float = DEPTH_FPS, track_grid: int = TRACK_GRID) -> None:
    """Drift of a long video over time: per-round and per-second colour, sharpness, seam, pole and depth statistics,
    a boundary-jump score and track survival at every junction, the degradation ratio last / first round and one
    plot per metric (extension_report.json, extension_per_second.csv, extension_per_round.csv,
    extension_junctions.csv, plots/). Values that cannot be computed are NaN, with the reason in the report."""
    from panoworld.errors import InputError

    try:
        frames = [int(v) for v in parse_list(junctions)] if junctions else None
    except ValueError:
        raise InputError(f"--junctions must be comma-separated frame indices, got {junctions!r}") from None
    if round_seconds is not None and not round_seconds > 0:
        raise InputError(f"--round-seconds must be positive, got {round_seconds}")
    from panoworld.eval.extension import run_extension_eval
    from panoworld.eval.extension_geometry import GeometrySettings

    geometry = GeometrySettings(depth=depth, tracks=tracks, annotate=annotate, device=device, depth_fps=depth_fps,
                                track_grid=track_grid)
    layout = {"junctions": frames, "round_seconds": round_seconds, "overlap": overlap}
    with progress_bar("drift report (frames)", None) as advance:
        report, folder = run_extension_eval(video, out, layout, geometry, advance=advance)
    for j in report["junctions"]:
        say(f"junction at {j['time_s']:.2f} s: boundary jump {j['boundary_jump']:.3g}, "
            f"track survival {j['track_survival']:.3g} (control {j['track_survival_control']:.3g})")
    for part in ("depth", "tracks"):
        if report[part]["reason"]:
            say(f"{part}: NaN ({report[part]['reason']})")
    say(f"wrote {report['files']['report']} and {len(report['files']['plots'])} plots into {folder}")
