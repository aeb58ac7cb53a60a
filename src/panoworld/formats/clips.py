"""Finding clips: source videos under folders, the output folder of ``panoworld data cut``, and any clip source.

A cut output folder (version 1)::

    <out>/clips/<video_id>__clip<NNN>.mp4     kept clips (NNN = clip index of that video, from 000)
    <out>/manifest.jsonl                      one JSON row per clip entry, kept or dropped, with the video's fields
    <out>/manifest.csv                        the same rows, flat fields (:data:`CUT_MANIFEST_FIELDS`)
    <out>/.records/<video_id>.json            per-video record: a re-run skips videos whose record matches

:func:`find_clips` turns any clip source (a video, a folder of videos, a cut folder, a training package or a
test set's master.csv) into (name, video) pairs; names are unique folder names for per-clip outputs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Iterable

from panoworld.errors import InputError
from panoworld.io.atomic import atomic_write_text
from panoworld.io.media import VIDEO_SUFFIXES, is_video_path

__all__ = [
    "CLIPS_VERSION",
    "VIDEO_SUFFIXES",
    "CUT_CLIPS_DIR",
    "CUT_RECORDS_DIR",
    "CUT_MANIFEST_FIELDS",
    "is_video_path",
    "safe_id",
    "cut_clip_name",
    "source_video_id",
    "cut_record_path",
    "cut_manifest_path",
    "is_cut_folder",
    "write_cut_manifest",
    "read_cut_manifest",
    "kept_clips",
    "find_videos",
    "find_clips",
]

CLIPS_VERSION = 1
CUT_CLIPS_DIR = "clips"
CUT_RECORDS_DIR = ".records"
CUT_MANIFEST = "manifest.jsonl"
CUT_MANIFEST_CSV = "manifest.csv"
CLIP_MARK = "__clip"
CUT_MANIFEST_FIELDS = [
    "video_id", "source", "status", "reason", "clip", "path", "clip_index", "num_frames", "fps", "start_s",
    "duration_s", "first_source_frame", "last_source_frame", "width", "height", "source_width", "source_height",
    "source_fps",
]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_id(text: str) -> str:
    """A file-name-safe identifier (runs of other characters become ``-``)."""
    return _UNSAFE.sub("-", text).strip("-.") or "video"


def cut_clip_name(video_id: str, index: int) -> str:
    """File name of clip ``index`` of a video: ``<video_id>__clip<NNN>.mp4``."""
    return f"{video_id}{CLIP_MARK}{index:03d}.mp4"


def source_video_id(clip_stem: str) -> str:
    """The source video id of a cut clip's stem (a stem without the clip mark is its own source)."""
    return clip_stem.split(CLIP_MARK)[0]


def cut_record_path(out_dir: str | os.PathLike, video_id: str) -> Path:
    """Where the cut record of one source video lives."""
    return Path(out_dir) / CUT_RECORDS_DIR / f"{video_id}.json"


def cut_manifest_path(folder: str | os.PathLike) -> Path:
    """The full manifest (``manifest.jsonl``) of a cut folder."""
    return Path(folder) / CUT_MANIFEST


def is_cut_folder(folder: str | os.PathLike) -> bool:
    return cut_manifest_path(folder).is_file()


def write_cut_manifest(out_dir: str | os.PathLike, rows: list[dict]) -> None:
    """Write ``manifest.jsonl`` (full rows) and ``manifest.csv`` (flat fields) atomically."""
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / CUT_MANIFEST, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CUT_MANIFEST_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in CUT_MANIFEST_FIELDS})
    atomic_write_text(out_dir / CUT_MANIFEST_CSV, buf.getvalue())


def read_cut_manifest(path: str | os.PathLike) -> list[dict]:
    """Rows of a cut ``manifest.jsonl`` (the cut folder holding it is accepted too)."""
    path = Path(path)
    if path.is_dir():
        path = cut_manifest_path(path)
    if not path.is_file():
        raise InputError(f"manifest not found: {path} (run `panoworld data cut` first)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def kept_clips(folder: str | os.PathLike) -> list[tuple[Path, dict]]:
    """(clip path, manifest row) of every kept clip of a cut folder, in manifest order."""
    folder = Path(folder)
    return [(folder / row["path"], row) for row in read_cut_manifest(folder) if row.get("status") == "kept"]


def find_videos(inputs: Iterable[str | os.PathLike]) -> list[tuple[Path, str]]:
    """Expand files and folders (searched recursively) into ``(path, video_id)`` pairs, sorted.

    The id of a video found under a folder is its relative path with ``/`` replaced by ``__`` and the suffix
    dropped (``scene/take1.mp4`` -> ``scene__take1``); a file given directly uses its stem. Ids that collide
    get a short hash of the path appended.
    """
    found: list[tuple[Path, str]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            for p in sorted(item.rglob("*")):
                if p.is_file() and is_video_path(p) and not p.name.startswith("."):
                    rel = p.relative_to(item).with_suffix("")
                    found.append((p, safe_id("__".join(rel.parts))))
        elif item.is_file():
            found.append((item, safe_id(item.stem)))
        else:
            raise InputError(f"input not found: {item}")
    seen: set[str] = set()
    unique = []
    for path, vid in found:
        if vid in seen:
            vid = f"{vid}-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}"
        seen.add(vid)
        unique.append((path, vid))
    if not unique:
        raise InputError("no video files found in the inputs (looked for " + ", ".join(VIDEO_SUFFIXES) + ")")
    return unique


def find_clips(source: str | os.PathLike, split: str = "all") -> list[tuple[str, Path]]:
    """(name, video) pairs of a clip source: a video, a folder of videos, a cut folder, a training package (its
    ``split``: all, train or val) or a test set's master.csv (names are the clips' ``<split>__<name>``)."""
    from .package import PackageLayout, is_package, package_clips
    from .testset import read_master

    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        return [(clip.dirname, clip.video_path) for clip in read_master(source, load_captions=False)]
    if source.is_file() and is_video_path(source):
        return [(source.stem, source)]
    if not source.is_dir():
        raise InputError(f"{source} is not a video, a folder of videos, a training package or a master.csv")
    if is_cut_folder(source):
        return [(path.stem, path) for path, _ in kept_clips(source)]
    if is_package(source):
        clips = package_clips(source, split)
        if clips:
            return clips
        source = PackageLayout(source).videos
    clips = [(p.stem, p) for p in sorted(source.iterdir())
             if p.is_file() and is_video_path(p) and not p.name.startswith(".")]
    if not clips:
        raise InputError(f"no videos found in {source}")
    return clips
