"""``panoworld annotate``: DAP depth, CoTracker3 tracks, camera motion and static flags for many clips."""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from panoworld.errors import InputError, PanoworldError

from ._common import console, is_video_path, parse_shard, parse_size, progress_bar, take_shard

__all__ = ["annotate", "list_clips"]


def _from_master_csv(path: Path) -> list[tuple[str, Path]]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "video_path" not in rows[0]:
        raise InputError(f"{path} has no video_path column (expected a master.csv)")
    out = []
    for row in rows:
        video = Path(row["video_path"])
        video = video if video.is_absolute() else path.parent / video
        name = (row.get("clip_id") or video.stem).replace("::", "__")
        out.append((name, video))
    return out


def list_clips(source: Path, split: str) -> list[tuple[str, Path]]:
    """(name, video path) pairs from a video, a folder of videos, a training package or a master.csv."""
    if source.is_file() and source.suffix.lower() == ".csv":
        return _from_master_csv(source)
    if source.is_file() and is_video_path(source):
        return [(source.stem, source)]
    if not source.is_dir():
        raise InputError(f"{source} is not a video, a folder of videos, a training package or a master.csv")
    videos = source / "videos"
    if videos.is_dir():
        splits = ["train", "val"] if split == "all" else [split]
        names = []
        for s in splits:
            csv_path = source / f"{s}.csv"
            if csv_path.is_file():
                with open(csv_path, newline="") as fh:
                    names += [r["video_basename"] for r in csv.DictReader(fh) if r.get("video_basename")]
        if names:
            return [(n, videos / f"{n}.mp4") for n in names]
        source = videos
    clips = [(p.stem, p) for p in sorted(source.iterdir()) if p.is_file() and is_video_path(p)]
    if not clips:
        raise InputError(f"no videos found in {source}")
    return clips


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
    from panoworld.annotate.pipeline import AnnotateOptions, annotate_frames, is_done, resize_frames, \
        sample_frame_indices, write_annotation
    from panoworld.io import probe_video, read_video

    height, width = parse_size(size)
    if width != 2 * height:
        raise InputError(f"--size must be an ERP size with width = 2 x height, got {size}")
    if query_region not in ("erp", "padded"):
        raise InputError(f"--query-region must be erp or padded, got {query_region!r}")
    if split not in ("all", "train", "val"):
        raise InputError(f"--split must be all, train or val, got {split!r}")
    index, count = parse_shard(shard)
    clips = take_shard(list_clips(source, split), index, count)
    todo = [(n, v) for n, v in clips if overwrite or not is_done(output / n)]
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
                info = probe_video(video, count_frames=True)
                idx = sample_frame_indices(info.num_frames, frames)
                clip = resize_frames(read_video(video, frame_indices=idx), (height, width))
                ann = annotate_frames(clip, dap, tracker, options, frame_indices=idx)
                write_annotation(ann, output / name, {"source_video": str(video), "source_fps": float(info.fps),
                                                      "tiny_random": tiny_random})
            except (PanoworldError, OSError) as exc:
                failed.append(name)
                console.print(f"warning: skipped {name}: {' '.join(str(exc).split())}")
            advance(1)
    if failed:
        raise InputError(f"{len(failed)} of {len(todo)} clips failed (first: {failed[0]}); fix them and re-run")
