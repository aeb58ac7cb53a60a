"""Build a training package: videos, one caption schema, annotations, a grouped train/val split, a manifest.

Layout (every path inside is relative to the package root; links are hard links, copies or
*relative* symlinks, never absolute ones)::

    <out>/videos/<name>.mp4
    <out>/captions/<name>.json      {"name", "short", "medium", "long", "model", "origin"}
    <out>/annotations/<name>/...    (when present)
    <out>/train.csv, val.csv        header "video_basename", one name per row
    <out>/manifest.json

Split: items are grouped (clips of one source video share a group), groups are shuffled with the
seed, and groups go to val until it holds at least ``val_ratio`` of the items (train is never emptied).
"""

from __future__ import annotations

import os
import random
import shutil
from datetime import datetime, timezone
from pathlib import Path

from panoworld.errors import InputError
from panoworld.io import atomic_path, atomic_write_json, atomic_write_text

from .importers import PackageItem

__all__ = ["split_groups", "build_package", "LINK_MODES"]

LINK_MODES = ("hardlink", "copy", "symlink")


def split_groups(groups: list[str], val_ratio: float, seed: int) -> set[str]:
    """The groups that go to val (see the module docstring); ``groups`` has one entry per item."""
    if not 0 <= val_ratio < 1:
        raise InputError(f"--val-ratio must be in [0, 1), got {val_ratio}")
    sizes: dict[str, int] = {}
    for g in groups:
        sizes[g] = sizes.get(g, 0) + 1
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    target = val_ratio * len(groups)
    val: set[str] = set()
    count = 0
    for g in order:
        if count >= target or len(val) == len(order) - 1:
            break
        val.add(g)
        count += sizes[g]
    return val


def _place(src: Path, dst: Path, mode: str) -> None:
    """Put ``src`` at ``dst`` atomically as a hard link (copy across devices), a copy or a relative symlink."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as tmp:
        tmp.unlink()
        if mode == "symlink":
            os.symlink(os.path.relpath(src.resolve(), dst.parent.resolve()), tmp)
        elif mode == "hardlink":
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copy2(src, tmp)
        else:
            shutil.copy2(src, tmp)


def _place_tree(src: Path, dst: Path, mode: str) -> list[str]:
    files = []
    for p in sorted(src.rglob("*")):
        if p.is_file():
            rel = p.relative_to(src)
            _place(p, dst / rel, mode)
            files.append(rel.as_posix())
    return files


def build_package(
    items: list[PackageItem],
    out: Path,
    *,
    val_ratio: float = 0.05,
    seed: int = 42,
    link: str = "hardlink",
    require_captions: bool = True,
    on_item=None,
) -> dict:
    """Write the package for ``items`` into ``out``; return the manifest (also written as ``manifest.json``)."""
    if link not in LINK_MODES:
        raise InputError(f"--link must be one of {', '.join(LINK_MODES)}, got {link!r}")
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[:3]
        raise InputError(f"two package items share the name(s) {dup}; package the inputs separately")
    skipped = [{"name": it.name, "reason": "no_caption"} for it in items if require_captions and not it.captions]
    keep = [it for it in items if it.captions or not require_captions]
    if not keep:
        raise InputError("nothing to package: no item has a caption (run `panoworld data caption`, "
                         "or pass --allow-uncaptioned)")
    val_groups = split_groups([it.group for it in keep], val_ratio, seed)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for it in keep:
        split = "val" if it.group in val_groups else "train"
        _place(it.video, out / "videos" / f"{it.name}.mp4", link)
        entry = {"name": it.name, "split": split, "group": it.group, "origin": it.origin,
                 "video": f"videos/{it.name}.mp4", "caption": None, "annotation": None}
        if it.captions:
            caption = {"name": it.name, "short": it.captions.get("short"), "medium": it.captions.get("medium"),
                       "long": it.captions.get("long"), "model": it.captions.get("model"), "origin": it.origin}
            atomic_write_json(out / "captions" / f"{it.name}.json", caption)
            entry["caption"] = f"captions/{it.name}.json"
        if it.annotation is not None:
            files = _place_tree(it.annotation, out / "annotations" / it.name, link)
            entry["annotation"] = f"annotations/{it.name}"
            entry["annotation_files"] = files
        entries.append(entry)
        if on_item:
            on_item()
    for split in ("train", "val"):
        rows = [e["name"] for e in entries if e["split"] == split]
        atomic_write_text(out / f"{split}.csv", "video_basename\n" + "".join(f"{n}\n" for n in rows))
    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "format": "panoworld-package-v1",
        "seed": seed,
        "val_ratio": val_ratio,
        "link": link,
        "counts": {
            "items": len(entries),
            "train": sum(e["split"] == "train" for e in entries),
            "val": sum(e["split"] == "val" for e in entries),
            "groups": len({e["group"] for e in entries}),
            "skipped": len(skipped),
        },
        "items": entries,
        "skipped": skipped,
    }
    atomic_write_json(out / "manifest.json", manifest)
    return manifest
