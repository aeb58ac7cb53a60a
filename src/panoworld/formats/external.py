"""Layouts of external 360° video datasets read by ``panoworld data package`` (reference §8.3), version 1.

- WEB360: ``WEB360_360TF_train.csv`` (columns ``videoid``, ``name`` = the caption) and a folder
  ``videos_512x1024x100/`` of ``<videoid>.mp4``, anywhere under the given root.
- 360x: ``index.json`` (records with ``uuid``, ``category``, ``weather``; a list, or a mapping from uuid to
  record) and ``panoramic/<uuid>.mp4``, anywhere under the given root. It has no free-text captions.

Entries whose video file is missing are skipped.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from panoworld.errors import InputError

__all__ = ["EXTERNAL_VERSION", "ExternalVideo", "read_web360", "read_360x"]

EXTERNAL_VERSION = 1
WEB360_TABLE = "WEB360_360TF_train.csv"
WEB360_VIDEOS = "videos_512x1024x100"
X360_INDEX = "index.json"
X360_VIDEOS = "panoramic"


@dataclass(frozen=True)
class ExternalVideo:
    """One video of an external dataset: its id, file and labels (``caption`` for WEB360; ``category`` and
    ``weather`` for 360x)."""

    video_id: str
    path: Path
    labels: dict


def _find(root: Path, name: str, *, is_dir: bool) -> Path:
    if (root / name).exists():
        return root / name
    for p in sorted(root.rglob(name)):
        if p.is_dir() == is_dir:
            return p
    raise InputError(f"{root}: no {'folder' if is_dir else 'file'} named {name} found under it")


def read_web360(root: str | Path) -> list[ExternalVideo]:
    """WEB360 videos with their caption (whitespace-normalised ``name`` column) as ``labels["caption"]``."""
    root = Path(root)
    table = _find(root, WEB360_TABLE, is_dir=False)
    videos = _find(root, WEB360_VIDEOS, is_dir=True)
    out = []
    with open(table, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"videoid", "name"} <= set(reader.fieldnames):
            raise InputError(f"{table}: expected columns videoid,name; got {reader.fieldnames}")
        for row in reader:
            vid = str(row["videoid"]).strip()
            path = videos / f"{vid}.mp4"
            if path.is_file():
                out.append(ExternalVideo(vid, path, {"caption": " ".join(str(row["name"]).split())}))
    return out


def read_360x(root: str | Path) -> list[ExternalVideo]:
    """360x videos with ``labels = {"category", "weather"}`` from the index."""
    root = Path(root)
    index_path = _find(root, X360_INDEX, is_dir=False)
    videos = _find(root, X360_VIDEOS, is_dir=True)
    try:
        data = json.loads(index_path.read_text())
    except ValueError as exc:
        raise InputError(f"{index_path}: not valid JSON ({exc})") from None
    if isinstance(data, dict):
        records = [dict(rec, uuid=rec.get("uuid", uuid)) for uuid, rec in data.items() if isinstance(rec, dict)]
    else:
        records = [rec for rec in data if isinstance(rec, dict)]
    out = []
    for rec in records:
        if "uuid" not in rec:
            continue
        uuid = str(rec["uuid"])
        path = videos / f"{uuid}.mp4"
        if path.is_file():
            out.append(ExternalVideo(uuid, path, {"category": rec.get("category", ""), "weather": rec.get("weather")}))
    return out
