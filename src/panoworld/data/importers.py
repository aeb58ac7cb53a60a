"""Items of a training package, from our own cut/caption outputs or from the WEB360 and 360x layouts.

Layouts read (reference §8.3):

- WEB360: ``WEB360_360TF_train.csv`` (columns ``videoid``, ``name`` = the caption) and a folder
  ``videos_512x1024x100/`` of ``<videoid>.mp4``, anywhere under the given root.
- a folder of self-collected clips: ``<stem>.mp4`` next to ``<stem>.json`` (our caption record, or the
  reference's ``{model_key: {short, medium, long}}``) or ``<stem>.txt`` (one caption, used as the long one).
- 360x: ``index.json`` (records with ``uuid``, ``category``, ``weather``; a list, or a mapping from
  uuid to record) and ``panoramic/<uuid>.mp4``, anywhere under the given root. Its caption is built
  from the category and weather (the dataset has no free-text captions).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from panoworld.errors import InputError

from .batch import read_manifest

__all__ = ["PackageItem", "items_from_cut", "items_from_web360", "items_from_360x", "items_from_folder", "load_captions"]


@dataclass
class PackageItem:
    """One video of a package: its name (file stem), file, split group, captions and annotations."""

    name: str
    video: Path
    group: str
    origin: str
    captions: dict | None = None
    annotation: Path | None = None
    extra: dict = field(default_factory=dict)


def _find(root: Path, name: str, *, is_dir: bool) -> Path:
    if (root / name).exists():
        return root / name
    for p in sorted(root.rglob(name)):
        if p.is_dir() == is_dir:
            return p
    raise InputError(f"{root}: no {'folder' if is_dir else 'file'} named {name} found under it")


def load_captions(caption_dirs: list[Path]) -> dict[str, dict]:
    """Caption records (``<stem>.json`` written by ``panoworld data caption``) by clip stem; later folders win."""
    found: dict[str, dict] = {}
    for folder in caption_dirs:
        if not Path(folder).is_dir():
            raise InputError(f"caption folder not found: {folder}")
        for p in sorted(Path(folder).glob("*.json")):
            if p.name.endswith(".failed.json"):
                continue
            try:
                rec = json.loads(p.read_text())
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("captions"), dict):
                found[p.stem] = rec
    return found


def items_from_cut(cut_dirs: list[Path], captions: dict[str, dict], annotations: Path | None) -> list[PackageItem]:
    """Kept clips of ``panoworld data cut`` outputs, with their captions and annotation folders when present."""
    items = []
    for folder in cut_dirs:
        for row in read_manifest(Path(folder)):
            if row.get("status") != "kept":
                continue
            path = Path(folder) / row["path"]
            stem = path.stem
            rec = captions.get(stem)
            caps = None
            if rec is not None:
                caps = {**rec["captions"], "model": rec.get("model")}
            ann = annotations / stem if annotations is not None and (annotations / stem).is_dir() else None
            items.append(PackageItem(stem, path, row["video_id"], "cut", caps, ann, {"source": row.get("source")}))
    return items


def items_from_web360(root: Path) -> list[PackageItem]:
    """WEB360 clips, each captioned by its ``name`` column (used as the long caption)."""
    table = _find(root, "WEB360_360TF_train.csv", is_dir=False)
    videos = _find(root, "videos_512x1024x100", is_dir=True)
    items = []
    with open(table, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"videoid", "name"} <= set(reader.fieldnames):
            raise InputError(f"{table}: expected columns videoid,name; got {reader.fieldnames}")
        for row in reader:
            vid = str(row["videoid"]).strip()
            path = videos / f"{vid}.mp4"
            if not path.is_file():
                continue
            caption = " ".join(str(row["name"]).split())
            items.append(PackageItem(f"web360_{vid}", path, f"web360_{vid}", "web360",
                                     {"short": None, "medium": None, "long": caption, "model": "web360"}))
    return items


def caption_360x(category: str, weather: str | None) -> str:
    """A plain caption from a 360x category and weather label, e.g. ``("park", "sunny")``."""
    place = " ".join(str(category).replace("_", " ").split()) or "outdoor place"
    text = f"A panoramic view of a {place.lower()} seen from a moving camera."
    if weather:
        text += f" The weather is {' '.join(str(weather).replace('_', ' ').split()).lower()}."
    return text


def items_from_360x(root: Path) -> list[PackageItem]:
    """360x panoramic videos with captions built from category and weather."""
    index_path = _find(root, "index.json", is_dir=False)
    videos = _find(root, "panoramic", is_dir=True)
    data = json.loads(index_path.read_text())
    records = list(data.values()) if isinstance(data, dict) else list(data)
    if isinstance(data, dict):
        for uuid, rec in zip(data.keys(), records):
            if isinstance(rec, dict):
                rec.setdefault("uuid", uuid)
    items = []
    for rec in records:
        if not isinstance(rec, dict) or "uuid" not in rec:
            continue
        uuid = str(rec["uuid"])
        path = videos / f"{uuid}.mp4"
        if not path.is_file():
            continue
        caption = caption_360x(rec.get("category", ""), rec.get("weather"))
        items.append(PackageItem(f"x360_{uuid}", path, f"x360_{uuid}", "360x",
                                 {"short": None, "medium": None, "long": caption, "model": "360x-labels"}))
    return items


def _folder_caption(video: Path) -> dict | None:
    js, txt = video.with_suffix(".json"), video.with_suffix(".txt")
    if js.is_file():
        try:
            rec = json.loads(js.read_text())
        except ValueError:
            raise InputError(f"{js}: not valid JSON") from None
        if isinstance(rec, dict) and isinstance(rec.get("captions"), dict):
            return {**rec["captions"], "model": rec.get("model")}
        if isinstance(rec, dict):
            for key, value in rec.items():
                if isinstance(value, dict) and any(k in value for k in ("short", "medium", "long")):
                    return {k: value.get(k) for k in ("short", "medium", "long")} | {"model": key}
        raise InputError(f"{js}: expected a caption record or {{model_key: {{short, medium, long}}}}")
    if txt.is_file():
        text = " ".join(txt.read_text(encoding="utf-8").split())
        return {"short": None, "medium": None, "long": text, "model": "legacy"} if text else None
    return None


def items_from_folder(root: Path) -> list[PackageItem]:
    """Self-collected clips: ``*.mp4`` with a ``.json`` or ``.txt`` caption beside it (grouped by ``__clip``)."""
    if not root.is_dir():
        raise InputError(f"clip folder not found: {root}")
    items = []
    for video in sorted(root.glob("*.mp4")):
        group = "self_" + video.stem.split("__clip")[0]
        items.append(PackageItem(f"self_{video.stem}", video, group, "self", _folder_caption(video)))
    if not items:
        raise InputError(f"{root}: no .mp4 clips in it")
    return items
