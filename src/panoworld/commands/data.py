"""``panoworld data``: cut long 360-degree videos into clips, caption them with a VLM, build training packages."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import List, Optional

import typer

from panoworld.errors import InputError
from panoworld.formats.clips import cut_manifest_path
from panoworld.formats.package import PackageLayout

from ._common import parse_size, progress_bar, say
from ._options import new_app, output_dir
from .data_caption import caption

app = new_app("Dataset building: `cut` long ERP videos into checked fixed-length clips, `caption` them with a "
              "vision-language model (12 upright views per clip), `package` clips + captions into a training set.")

INPUTS = typer.Argument(..., exists=True, help="Video files and/or folders (searched recursively).")
OUT = typer.Option(..., "--out", "-o", callback=output_dir, help="Output folder.")
FORCE = typer.Option(False, "--force", help="Redo items already finished (needed when their settings changed).")
WORKERS = typer.Option(1, "-j", "--workers", min=1, help="Videos cut in parallel (processes).")


@app.command("cut")
def cut(
    inputs: List[Path] = INPUTS, out: Path = OUT, force: bool = FORCE, workers: int = WORKERS,
    seconds: float = typer.Option(5.0, "--seconds", min=0.01, help="Clip length in seconds (whole frames)."),
    fps: Optional[str] = typer.Option(None, "--fps", help="Output frame rate in frames/s (e.g. 16 or 30000/1001); "
                                      "frames are picked nearest in time. Default: keep the source rate."),
    size: Optional[str] = typer.Option(None, "--size", help="Resize to HEIGHTxWIDTH pixels (W = 2H), e.g. 512x1024. "
                                       "Default: keep."),
    shots: bool = typer.Option(False, "--split-shots", help="Drop clips that span a hard shot cut and restart clip "
                               "boundaries at the cut."),
    shot_threshold: float = typer.Option(0.5, "--shot-threshold", min=0.01, max=1.0, help="Histogram distance in "
                                         "(0, 1] that counts as a shot cut."),
    no_filters: bool = typer.Option(False, "--no-filters", help="Keep every clip (no ERP sanity filters)."),
    black_fraction: float = typer.Option(0.9, "--black-fraction", min=0.0, max=1.0, help="Drop a clip when more "
                                         "than this fraction of pixels is black."),
    seam_ratio: float = typer.Option(3.0, "--seam-ratio", min=0.0, help="Drop a clip when the left/right edge "
                                     "difference exceeds this multiple of the neighbour-column difference."),
    crf: int = typer.Option(18, "--crf", min=0, max=51, help="x264 quality of the clips (lower = better)."),
    chunk: int = typer.Option(16, "--chunk", min=1, help="Frames decoded per step (memory vs speed)."),
) -> None:
    """Cut long ERP videos into fixed-length clips with exact frame boundaries (re-encoded; resumable).
    Writes clips/, manifest.jsonl and manifest.csv."""
    try:
        fps_value = Fraction(fps) if fps else None
    except (ValueError, ZeroDivisionError):
        raise InputError(f"--fps must be a number or a ratio like 30000/1001, got {fps!r}") from None
    if fps_value is not None and fps_value <= 0:
        raise InputError(f"--fps must be positive, got {fps}")
    out_size = parse_size(size) if size else None
    if out_size and (out_size[1] != 2 * out_size[0] or out_size[0] % 2):
        raise InputError(f"--size must be an even HEIGHTx(2*HEIGHT) ERP size, got {size}")
    from panoworld.data import CutOptions, FilterConfig, cut_videos, find_videos
    from panoworld.data.batch import summarize

    filters = FilterConfig(enabled=not no_filters, black_fraction=black_fraction, seam_ratio=seam_ratio)
    opts = CutOptions(seconds, fps_value, out_size, shot_threshold if shots else None, crf, chunk, filters)
    videos = find_videos(inputs)
    with progress_bar("cut", len(videos)) as advance:
        records = cut_videos(videos, out, opts, workers=workers, force=force, on_done=lambda rec, skipped: advance(1))
    say(f"{len(videos)} videos -> {summarize(records)}; manifest: {cut_manifest_path(out)}")


app.command("caption")(caption)


@app.command("package")
def package(
    out: Path = OUT,
    clips: List[Path] = typer.Option([], "--clips", exists=True, help="A `data cut` output folder (repeatable)."),
    captions: List[Path] = typer.Option([], "--captions", exists=True, help="A `data caption` output folder "
                                        "(repeatable)."),
    annotations: Optional[Path] = typer.Option(None, "--annotations", exists=True, help="Folder of per-clip "
                                               "annotation folders named like the clips (optional)."),
    web360: Optional[Path] = typer.Option(None, "--web360", exists=True, help="WEB360 root "
                                          "(WEB360_360TF_train.csv + videos_512x1024x100/)."),
    x360: Optional[Path] = typer.Option(None, "--360x", exists=True, help="360x root (index.json + panoramic/)."),
    folders: List[Path] = typer.Option([], "--folder", exists=True, help="Folder of self-collected <stem>.mp4 clips "
                                       "with <stem>.json or <stem>.txt captions (repeatable)."),
    val_ratio: float = typer.Option(0.05, "--val-ratio", min=0.0, max=0.99, help="Fraction of items for val."),
    seed: int = typer.Option(42, "--seed", help="Seed of the grouped train/val shuffle."),
    link: str = typer.Option("hardlink", "--link", help="hardlink (copy across devices), copy, or symlink "
                             "(relative)."),
    allow_uncaptioned: bool = typer.Option(False, "--allow-uncaptioned", help="Keep clips without captions."),
) -> None:
    """Build a training package: videos/, captions/, annotations/, train.csv, val.csv, manifest.json."""
    from panoworld.data.importers import items_from_360x, items_from_cut, items_from_folder, items_from_web360
    from panoworld.data.package import build_package
    from panoworld.formats.captions import read_caption_records

    if not (clips or web360 or x360 or folders):
        raise InputError("give at least one of --clips, --folder, --web360, --360x")
    items = items_from_cut(list(clips), read_caption_records(list(captions)), annotations) if clips else []
    items += (items_from_web360(web360) if web360 else []) + (items_from_360x(x360) if x360 else [])
    for folder in folders:
        items += items_from_folder(folder)
    with progress_bar("package", len(items)) as advance:
        manifest = build_package(items, out, val_ratio=val_ratio, seed=seed, link=link,
                                 require_captions=not allow_uncaptioned, on_item=advance)
    say(json.dumps(manifest["counts"]) + f" -> {PackageLayout(out).manifest}")
