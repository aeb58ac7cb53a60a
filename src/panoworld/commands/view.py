"""``panoworld view``: write (and optionally serve) a self-contained 360-degree viewer of results."""

from __future__ import annotations

from pathlib import Path

import typer

from panoworld.errors import InputError

from ._common import progress_bar, say
from ._options import check_writable


def view(
    paths: list[Path] = typer.Argument(
        ..., exists=True, help="Generation output folders (pano.mp4 + run.json), eval results folders "
                  "(<method>/<split>__<clip>/video.mp4), test splits (folder with master.csv, or the CSV) "
                  "or ERP .mp4 files."
    ),
    out: Path = typer.Option(
        None, "--out", help="Viewer folder to write (default: <PATH>/viewer for one folder, else ./panoworld_view). "
                            "An existing folder is replaced only if panoworld view wrote it."
    ),
    master: Path = typer.Option(
        None, "--master", help="The test split (master.csv or its folder) of an eval results folder: adds the ground "
                               "truth, the input photo and the caption next to the methods."
    ),
    serve: bool = typer.Option(
        False, "--serve", help="Then serve the viewer on 127.0.0.1 (loopback only) until Ctrl-C."
    ),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="TCP port for --serve (0 = any free port)."),
) -> None:
    """Write a viewer that works from file:// with no network: a drag-to-look 360-degree player of each ERP video,
    the input photo with its field of view outlined, the flat ERP, cube faces, depth (metres) and point tracks when
    present, and eval methods side by side with their metric rows (layouts: docs/view.md)."""
    from panoworld.view._paths import default_out

    target = out if out is not None else default_out(paths)
    try:
        check_writable(target, folder=True)
    except InputError as exc:
        raise InputError(f"--out: {exc}") from None
    from panoworld.view import read_sources, serve_viewer, write_viewer
    from panoworld.view.page import check_out, count_videos

    check_out(target)
    clips = read_sources(paths, master=master)
    with progress_bar("view", count_videos(clips)) as advance:
        index = write_viewer(paths, target, clips=clips, progress=advance)
    say(f"viewer -> {index}  (open it in a browser: {index.resolve().as_uri()})")
    if serve:
        serve_viewer(index.parent, port=port, on_ready=lambda url: say(f"serving on {url}  (Ctrl-C stops)"))
