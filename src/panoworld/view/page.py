"""Write the self-contained viewer folder: ``index.html``, ``data.js``, our scripts, the vendored libraries and
each clip's assets. Everything is written into a temporary sibling folder and renamed into place at the end."""

from __future__ import annotations

import functools
import html
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import panoworld
from panoworld.errors import InputError
from panoworld.io import atomic_write_text

from .assets import (
    tracks_payload,
    write_cube_video,
    write_depth_video,
    write_erp_video,
    write_input_image,
    write_script_asset,
)
from ._paths import default_out
from .fov import fov_outline, vertical_fov
from .sources import ViewClip, read_sources

__all__ = ["write_viewer", "default_out", "check_out", "count_videos", "MARKER"]

PACKAGE_DIR = Path(__file__).parent
STATIC = ("assets.js", "overlay.js", "viewer.js", "viewer.css")
#: Present in every folder written by :func:`write_viewer`; only such folders are ever replaced.
MARKER = ".panoworld-viewer"


def _manifest() -> dict:
    return json.loads((PACKAGE_DIR / "vendor" / "manifest.json").read_text())


def _write_library(root: Path) -> tuple[list[str], list[str]]:
    """Copy our scripts and the vendored libraries (their licences next to them); returns the relative paths
    of the vendored style sheets and scripts in load order."""
    for name in STATIC:
        shutil.copyfile(PACKAGE_DIR / "static" / name, root / name)
    styles, scripts = [], []
    for package in _manifest()["packages"]:
        src, dest = PACKAGE_DIR / "vendor" / package["dir"], root / "lib" / package["dir"]
        dest.mkdir(parents=True)
        shutil.copyfile(src / package["license"], dest / "LICENSE")
        for name in package["styles"]:
            shutil.copyfile(src / name, dest / name)
            styles.append(f"lib/{package['dir']}/{name}")
        for name in package["scripts"]:
            body = (src / name).read_text(encoding="utf-8")
            wrapped = (f"/* {package['name']} {package['version']} ({name}, unmodified), wrapped for loading from "
                       f"file:// */\nPanoworldVendor.define({json.dumps(package['name'])}, "
                       f"function (module, exports, require) {{\n{body}\n}});\n")
            (dest / f"{name}.js").write_text(wrapped, encoding="utf-8")
            scripts.append(f"lib/{package['dir']}/{name}.js")
    return styles, scripts


def _video_asset(folder: Path, rel: str, name: str, render: Callable[[Path], dict]) -> dict:
    """Render a helper video to a temporary mp4, then store it as the script asset ``name``."""
    tmp = folder / f"{name}.tmp.mp4"
    info = render(tmp)
    write_script_asset(folder / f"{name}.mp4.js", f"{rel}/{name}.mp4.js", tmp.read_bytes())
    tmp.unlink()
    return {**info, "video": f"{rel}/{name}.mp4.js"}


def _input_entry(clip: ViewClip, folder: Path, rel: str) -> dict | None:
    entry: dict = {}
    aspect = 0.75
    if clip.input_image is not None:
        height, width = write_input_image(clip.input_image, folder / "input.jpg")
        entry["image"], aspect = f"{rel}/input.jpg", height / width
    if clip.camera is not None:
        cam = clip.camera
        outline = fov_outline(cam.fov_x, yaw=cam.yaw, pitch=cam.pitch, roll=cam.roll, aspect=aspect)
        entry.update(fov_x=cam.fov_x, fov_y=round(vertical_fov(cam.fov_x, aspect, 1.0), 2), yaw=cam.yaw,
                     pitch=cam.pitch, roll=cam.roll, outline=outline.round(decimals=3).tolist())
    return entry or None


def _metrics(clip: ViewClip) -> dict | None:
    """Per-clip metric rows as a table: one row per metric, one column per method."""
    if not clip.metrics:
        return None
    labels = [v.label for v in clip.videos]
    methods = sorted({r["method"] for r in clip.metrics}, key=lambda m: (m not in labels, labels.index(m)
                                                                          if m in labels else 0, m))
    table: dict[str, dict[str, str]] = {}
    for row in clip.metrics:
        try:
            value = f"{float(row['value']):.4g}"
        except (TypeError, ValueError):
            value = str(row.get("value", ""))
        table.setdefault(row["metric"], {})[row["method"]] = value
    rows = [{"metric": m, "values": [table[m].get(method, "") for method in methods]} for m in sorted(table)]
    return {"methods": methods, "rows": rows}


def _write_clip(root: Path, index: int, clip: ViewClip, advance: Callable[[int], None]) -> dict:
    rel = f"clips/c{index:03d}"
    folder = root / rel
    folder.mkdir(parents=True)
    entry = {"title": clip.title, "caption": clip.caption, "info": dict(clip.info),
             "input": _input_entry(clip, folder, rel), "metrics": _metrics(clip), "videos": []}
    for j, video in enumerate(clip.videos):
        name = f"v{j}"
        info = write_erp_video(video.path, folder / f"{name}.mp4.js", f"{rel}/{name}.mp4.js")
        item = {"label": video.label, "erp": f"{rel}/{name}.mp4.js", **info, "depth": None, "tracks": None}
        item["cube"] = _video_asset(folder, rel, f"{name}_cube", functools.partial(write_cube_video, video.path))
        geometry = video.geometry()
        if geometry is not None and geometry.depth is not None:
            item["depth"] = _video_asset(folder, rel, f"{name}_depth", functools.partial(
                write_depth_video, geometry, fps=info["fps"], frames=info["frames"]))
        if geometry is not None and geometry.tracks is not None:
            item["tracks"] = f"{rel}/{name}_tracks.js"
            write_script_asset(folder / f"{name}_tracks.js", item["tracks"], tracks_payload(geometry))
        entry["videos"].append(item)
        advance(1)
    return entry


def _page(title: str, styles: list[str], scripts: list[str]) -> str:
    text = (PACKAGE_DIR / "static" / "index.html").read_text(encoding="utf-8")
    replacements = {
        "{{TITLE}}": html.escape(title),
        "{{GENERATOR}}": f"panoworld {panoworld.__version__}",
        "{{VENDOR_STYLES}}": "\n".join(f'<link rel="stylesheet" href="{s}">' for s in styles),
        "{{VENDOR_SCRIPTS}}": "\n".join(f'<script src="{s}"></script>' for s in scripts),
    }
    for key, value in replacements.items():
        text = text.replace(key, value)
    return text


def check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise InputError(f"{out} exists and was not written by panoworld view; choose another --out folder")


def count_videos(clips: list[ViewClip]) -> int:
    """Number of ERP videos (the unit of progress of :func:`write_viewer`)."""
    return sum(len(c.videos) for c in clips)


def write_viewer(
    paths: list[str | os.PathLike] | str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    master: str | os.PathLike | None = None,
    progress: Callable[[int], None] | None = None,
    clips: list[ViewClip] | None = None,
) -> Path:
    """Write a self-contained 360-degree viewer of ``paths`` into ``out``; returns the path of its index.html.

    Args:
        paths: generation output folders, eval results folders, test splits (folder or master.csv) or ERP .mp4
            files (layouts: docs/view.md); one path or a list.
        out: the viewer folder (default: ``<folder>/viewer`` for one folder, else ``./panoworld_view``). An
            existing folder is replaced only if a previous ``write_viewer`` wrote it.
        master: the test split of an eval results folder, to show the ground truth and the input next to the methods.
        progress: called with 1 after each ERP video.
        clips: already read clips (from :func:`panoworld.view.read_sources`), instead of reading ``paths`` again.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    out = Path(out) if out is not None else default_out(paths)
    check_out(out)
    clips = clips if clips is not None else read_sources(paths, master=master)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    os.chmod(staging, 0o755)
    try:
        styles, scripts = _write_library(staging)
        entries = [_write_clip(staging, i, clip, progress or (lambda n: None)) for i, clip in enumerate(clips)]
        title = f"panoworld view · {clips[0].title}" if len(clips) == 1 else f"panoworld view · {len(clips)} clips"
        data = {"title": title, "clips": entries}
        atomic_write_text(staging / "data.js", f"window.PANOWORLD_VIEW = {json.dumps(data)};\n")
        atomic_write_text(staging / "index.html", _page(title, styles, scripts))
        (staging / MARKER).write_text(f"panoworld {panoworld.__version__}\n")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / "viewer")
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / "index.html"
