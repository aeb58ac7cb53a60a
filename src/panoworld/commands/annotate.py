"""``panoworld annotate``: DAP depth, CoTracker3 tracks, camera motion and static flags for many clips."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import parse_shard, parse_size, progress_bar, raise_failures, say, take_shard
from ._options import output_dir

__all__ = ["annotate"]


def annotate(
    source: Path = typer.Argument(..., exists=True, help="A video, a folder of videos, a training package (videos/ + "
                                  "train.csv/val.csv) or an evaluation master.csv.", show_default=False),
    output: Path = typer.Argument(..., callback=output_dir, help="Output folder; one sub-folder per clip "
                                  "(see docs/annotate.md)."),
    frames: int = typer.Option(20, "--frames", min=2, help="Annotation frames per clip, evenly spaced in time."),
    size: str = typer.Option("512x1024", "--size", help="ERP size HEIGHTxWIDTH in pixels the frames are resized to."),
    grid: int = typer.Option(30, "--grid", min=1, help="Tracks: a GRIDxGRID grid of frame-0 queries."),
    pad: float = typer.Option(0.25, "--pad", min=0.0, max=1.0,
                              help="Circular padding per side, fraction of the width."),
    iters: int = typer.Option(6, "--iters", min=1, help="CoTracker refinement iterations."),
    query_region: str = typer.Option("erp", "--query-region", help="Where the query grid lies: erp (each point "
                                     "once) or padded (over the padded frame, as the reference; copies merged)."),
    split: str = typer.Option("all", "--split", help="Training package split: all, train or val."),
    shard: str = typer.Option("0/1", "--shard", help="Process shard i of n (i/n, 0-based) of the clip list "
                              "(under torchrun each process takes its share by itself)."),
    device: str = typer.Option("auto", "--device", help="Torch device: auto (GPU if present), cpu, cuda, cuda:1..."),
    batch: int = typer.Option(4, "--batch", min=1, help="Depth frames per forward pass."),
    dap_weights: Path = typer.Option(None, "--dap-weights", exists=True, dir_okay=False, help="DAP model.pth.",
                                     show_default="$PANOWORLD_WEIGHTS/dap/model.pth"),
    cotracker_weights: Path = typer.Option(None, "--cotracker-weights", exists=True, dir_okay=False,
                                           help="CoTracker3 scaled_offline.pth.",
                                           show_default="$PANOWORLD_WEIGHTS/cotracker3/scaled_offline.pth"),
    force: bool = typer.Option(False, "--force", "--overwrite", help="Redo clips already annotated (needed when "
                               "their settings changed)."),
    tiny_random: bool = typer.Option(False, "--tiny-random", help="FOR TESTS ONLY: tiny random networks instead of "
                                     "the released weights; outputs are meaningless."),
) -> None:
    """Annotate ERP clips: DAP depth (metres), CoTracker3 tracks, 3-D tracks, camera poses, static flags.

    Resumable: finished clips (meta.json with the same settings) are skipped; each clip is written atomically;
    a clip that fails gets failed.json and the others go on (exit code 1).
    """
    from panoworld.annotate.batch import AnnotateSettings, annotate_clips, list_clips

    settings = AnnotateSettings(frames=frames, size=parse_size(size), grid=grid, pad=pad, iters=iters,
                                query_region=query_region).validate()
    from panoworld.parallel.sharding import job_share

    (index, count), device = job_share(parse_shard(shard), device)
    clips = take_shard(list_clips(source, split), index, count)
    with progress_bar("annotate", len(clips)) as advance:
        report = annotate_clips(clips, output, settings, device=device, depth_batch=batch, dap_weights=dap_weights,
                                cotracker_weights=cotracker_weights, tiny_random=tiny_random, force=force,
                                advance=advance, say=say)
    say(f"annotate: shard {index}/{count}: {len(report.done)} annotated, {len(report.skipped)} already done")
    raise_failures(report.failed, "failed.json in each clip's folder")
