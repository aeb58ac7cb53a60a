"""A training package (``panoworld data package``), version 1. Every path inside is relative to its root::

    <root>/videos/<name>.mp4
    <root>/captions/<name>.json      flat captions {"name", "short", "medium", "long", "model", "origin"}
    <root>/annotations/<name>/...    annotation folder (``panoworld.formats.annotations``), when present
    <root>/train.csv, val.csv        header "video_basename", one name per row
    <root>/manifest.json             {"format": "panoworld-package-v1", "created", "seed", "val_ratio", "link",
                                      "counts", "items": [{"name", "split", "group", "origin", "video",
                                      "caption", "annotation", "annotation_files"?}], "skipped"}
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from panoworld.errors import InputError
from panoworld.io.atomic import atomic_write_json, atomic_write_text

__all__ = ["PACKAGE_FORMAT", "PACKAGE_VERSION", "PACKAGE_SPLITS", "PackageLayout", "is_package", "write_split_list",
           "read_split_list", "write_package_manifest", "read_package_manifest", "package_clips"]

PACKAGE_VERSION = 1
PACKAGE_FORMAT = f"panoworld-package-v{PACKAGE_VERSION}"
PACKAGE_SPLITS = ("train", "val")
MANIFEST = "manifest.json"
SPLIT_COLUMN = "video_basename"
VIDEOS_DIR = "videos"


@dataclass(frozen=True)
class PackageLayout:
    """Paths inside a package; the per-item ones are relative POSIX strings (as stored in the manifest)."""

    root: Path

    @property
    def videos(self) -> Path:
        return self.root / VIDEOS_DIR

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    def split_list(self, split: str) -> Path:
        if split not in PACKAGE_SPLITS:
            raise ValueError(f"a package split is one of {PACKAGE_SPLITS}, got {split!r}")
        return self.root / f"{split}.csv"

    @staticmethod
    def video(name: str) -> str:
        return f"{VIDEOS_DIR}/{name}.mp4"

    @staticmethod
    def captions(name: str) -> str:
        return f"captions/{name}.json"

    @staticmethod
    def annotations(name: str) -> str:
        return f"annotations/{name}"

    def path(self, relative: str) -> Path:
        return self.root / relative


def is_package(folder: str | os.PathLike) -> bool:
    """True for a folder laid out as a package (it has ``videos/``)."""
    return PackageLayout(Path(folder)).videos.is_dir()


def write_split_list(root: str | os.PathLike, split: str, names: list[str]) -> Path:
    """Write ``<split>.csv`` (header ``video_basename``) atomically."""
    return atomic_write_text(PackageLayout(Path(root)).split_list(split),
                             f"{SPLIT_COLUMN}\n" + "".join(f"{n}\n" for n in names))


def read_split_list(root: str | os.PathLike, split: str) -> list[str]:
    """Names listed in ``<split>.csv`` ([] when the file is absent)."""
    path = PackageLayout(Path(root)).split_list(split)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [r[SPLIT_COLUMN] for r in csv.DictReader(fh) if r.get(SPLIT_COLUMN)]


def write_package_manifest(root: str | os.PathLike, manifest: dict) -> Path:
    """Write ``manifest.json`` atomically with this format's name."""
    return atomic_write_json(PackageLayout(Path(root)).manifest, {**manifest, "format": PACKAGE_FORMAT})


def read_package_manifest(root: str | os.PathLike) -> dict:
    """The package's manifest; raises :class:`InputError` when absent, unreadable or of another format."""
    path = PackageLayout(Path(root)).manifest
    if not path.is_file():
        raise InputError(f"{root} is not a training package (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
        raise InputError(f"{path}: not a {PACKAGE_FORMAT} manifest")
    return manifest


def package_clips(root: str | os.PathLike, split: str = "all") -> list[tuple[str, Path]]:
    """(name, video path) of the package's ``split`` (``all``: train then val); [] when no split list names any."""
    layout = PackageLayout(Path(root))
    splits = PACKAGE_SPLITS if split == "all" else (split,)
    return [(n, layout.path(layout.video(n))) for s in splits for n in read_split_list(root, s)]
