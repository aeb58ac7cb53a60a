"""``panoworld annotate``: DAP depth, CoTracker3 tracks, camera motion and static flags for many clips."""

from __future__ import annotations

from pathlib import Path

import typer

from panoworld.errors import InputError, PanoworldError

from ._common import console, parse_shard, parse_size, progress_bar, take_shard

__all__ = ["annotate"]


def annotate(
    source: Path = typer.Argument(..., help="A video, a folder of videos, a training package (videos/ + train.csv/"
                                  "val.csv) or an evaluation master.csv.", show_default=False),
    output: Path = typer.Argument(..., help="Output folder; one sub-folder per clip (see docs/annotate.md)."),
    frames: int = typer.Option(20, "--frames", min=2, help="Annotation frames per clip, evenly spaced in time."),
    size: str = typer.Option("512x1024", "--size", help="ERP size HEIGHTxWIDTH in pixels the frames are resized to."),
    grid: int = typer.Option(30, "--grid", min=1, help="Tracks: a GRIDxGRID grid of frame-0 queries."),
    pad: float = typer.Option(0.25, "--pad", min=0.0, max=1.0,
                              help="Circular padding per side, fraction of the width."),
    iters: int = typer.Option(6, "--iters", min=1, help="CoTracker refinement iterations."),
    query_region: str = typer.Option("erp", "--query-region", help="Where the query grid lies: erp (each point "
                                     "once) or padded (over the padded frame, as the reference; copies merged)."),
    split: str = typer.Option("all", "--split", help="Training package split: all, train or val."),
    shard: str = typer.Option("0/1", "--shard", help="Process shard i of n (i/n, 0-based) of the clip list."),
    device: str = typer.Option("auto", "--device", help="Torch device: auto (GPU if present), cpu, cuda, cuda:1..."),
    batch: int = typer.Option(4, "--batch", min=1, help="Depth frames per forward pass."),
    dap_weights: Path = typer.Option(None, "--dap-weights", help="DAP model.pth [default: "
                                     "$PANOWORLD_WEIGHTS/dap/model.pth]."),
    cotracker_weights: Path = typer.Option(None, "--cotracker-weights", help="CoTracker3 scaled_offline.pth "
                                           "[default: $PANOWORLD_WEIGHTS/cotracker3/scaled_offline.pth]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo clips that are already annotated."),
    tiny_random: bool = typer.Option(False, "--tiny-random", help="FOR TESTS ONLY: tiny random networks instead of "
                                     "the released weights; outputs are meaningless."),
) -> None:
    """Annotate ERP clips: DAP depth (metres), CoTracker3 tracks, 3-D tracks, camera poses, static flags.

    Resumable: finished clips (with meta.json) are skipped; each clip is written atomically.
    """
    from panoworld.annotate.models import load_annotation_models, pick_device
    from panoworld.annotate.pipeline import AnnotateOptions, annotate_frames, read_clip_frames, write_annotation
    from panoworld.formats.annotations import is_complete
    from panoworld.formats.clips import find_clips

    height, width = parse_size(size)
    if width != 2 * height:
        raise InputError(f"--size must be an ERP size with width = 2 x height, got {size}")
    if query_region not in ("erp", "padded"):
        raise InputError(f"--query-region must be erp or padded, got {query_region!r}")
    if split not in ("all", "train", "val"):
        raise InputError(f"--split must be all, train or val, got {split!r}")
    index, count = parse_shard(shard)
    clips = take_shard(find_clips(source, split), index, count)
    todo = [(n, v) for n, v in clips if overwrite or not is_complete(output / n)]
    console.print(f"annotate: {len(clips)} clips in shard {index}/{count}, {len(clips) - len(todo)} already done")
    if not todo:
        return
    dev = pick_device(device)
    dap, tracker = load_annotation_models(dev, dap_weights=dap_weights, cotracker_weights=cotracker_weights,
                                          tiny_random=tiny_random)
    options = AnnotateOptions(grid_size=grid, pad_frac=pad, iters=iters, depth_batch=batch, query_region=query_region)
    failed = []
    with progress_bar("annotate", len(todo)) as advance:
        for name, video in todo:
            try:
                clip, idx, fps = read_clip_frames(video, frames, (height, width))
                ann = annotate_frames(clip, dap, tracker, options, frame_indices=idx)
                write_annotation(ann, output / name, {"source_video": str(video), "source_fps": fps,
                                                      "tiny_random": tiny_random})
            except (PanoworldError, OSError) as exc:
                failed.append(name)
                console.print(f"warning: skipped {name}: {' '.join(str(exc).split())}")
            advance(1)
    if failed:
        raise InputError(f"{len(failed)} of {len(todo)} clips failed (first: {failed[0]}); fix them and re-run")
