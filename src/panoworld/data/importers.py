"""Items of a training package, from our own cut/caption outputs, a folder of clips, or the WEB360 / 360x datasets.

Sources (file layouts: ``panoworld.formats.clips``, ``.captions`` and ``.external``):

- ``panoworld data cut`` output folders (kept clips), captioned by ``panoworld data caption`` records;
- a folder of self-collected clips: ``<stem>.mp4`` with captions beside it (``<stem>.json`` or ``<stem>.txt``);
- WEB360 (its ``name`` column is the long caption) and 360x (a caption built from category and weather).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from panoworld.errors import InputError
from panoworld.formats.captions import Captions, sidecar_captions
from panoworld.formats.clips import kept_clips, source_video_id
from panoworld.formats.external import read_360x, read_web360

__all__ = ["PackageItem", "items_from_cut", "items_from_web360", "items_from_360x", "items_from_folder",
           "caption_360x"]


@dataclass
class PackageItem:
    """One video of a package: its name (file stem), file, split group, captions and annotations."""

    name: str
    video: Path
    group: str
    origin: str
    captions: Captions | None = None
    annotation: Path | None = None
    extra: dict = field(default_factory=dict)


def items_from_cut(cut_dirs: list[Path], captions: dict[str, Captions], annotations: Path | None) -> list[PackageItem]:
    """Kept clips of ``panoworld data cut`` outputs, with their captions and annotation folders when present."""
    items = []
    for folder in cut_dirs:
        for path, row in kept_clips(folder):
            stem = path.stem
            ann = annotations / stem if annotations is not None and (annotations / stem).is_dir() else None
            items.append(PackageItem(stem, path, row["video_id"], "cut", captions.get(stem), ann,
                                     {"source": row.get("source")}))
    return items


def items_from_web360(root: Path) -> list[PackageItem]:
    """WEB360 clips, each captioned by its ``name`` column (used as the long caption)."""
    return [PackageItem(f"web360_{v.video_id}", v.path, f"web360_{v.video_id}", "web360",
                        Captions(long=v.labels["caption"], model="web360")) for v in read_web360(root)]


def caption_360x(category: str, weather: str | None) -> str:
    """A plain caption from a 360x category and weather label, e.g. ``("park", "sunny")``."""
    place = " ".join(str(category).replace("_", " ").split()) or "outdoor place"
    text = f"A panoramic view of a {place.lower()} seen from a moving camera."
    if weather:
        text += f" The weather is {' '.join(str(weather).replace('_', ' ').split()).lower()}."
    return text


def items_from_360x(root: Path) -> list[PackageItem]:
    """360x panoramic videos with captions built from category and weather."""
    return [PackageItem(f"x360_{v.video_id}", v.path, f"x360_{v.video_id}", "360x",
                        Captions(long=caption_360x(v.labels["category"], v.labels["weather"]), model="360x-labels"))
            for v in read_360x(root)]


def items_from_folder(root: Path) -> list[PackageItem]:
    """Self-collected clips: ``*.mp4`` with captions beside them (grouped by their source video)."""
    if not root.is_dir():
        raise InputError(f"clip folder not found: {root}")
    items = [PackageItem(f"self_{video.stem}", video, "self_" + source_video_id(video.stem), "self",
                         sidecar_captions(video)) for video in sorted(root.glob("*.mp4"))]
    if not items:
        raise InputError(f"{root}: no .mp4 clips in it")
    return items
