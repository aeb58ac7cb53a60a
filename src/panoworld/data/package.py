"""Build a training package: videos, one caption schema, annotations, a grouped train/val split, a manifest.

Layout: ``panoworld.formats.package`` (every path inside is relative to the package root; links are hard
links, copies or *relative* symlinks, never absolute ones).

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
from panoworld.formats.captions import write_captions
from panoworld.formats.package import (
    PACKAGE_FORMAT,
    PACKAGE_SPLITS,
    PackageLayout,
    write_package_manifest,
    write_split_list,
)
from panoworld.io import atomic_path

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
    layout = PackageLayout(out)
    entries = []
    for it in keep:
        split = "val" if it.group in val_groups else "train"
        video = layout.video(it.name)
        _place(it.video, layout.path(video), link)
        entry = {"name": it.name, "split": split, "group": it.group, "origin": it.origin,
                 "video": video, "caption": None, "annotation": None}
        if it.captions:
            entry["caption"] = layout.captions(it.name)
            write_captions(layout.path(entry["caption"]), it.captions, name=it.name, model=it.captions.model,
                           origin=it.origin)
        if it.annotation is not None:
            entry["annotation"] = layout.annotations(it.name)
            entry["annotation_files"] = _place_tree(it.annotation, layout.path(entry["annotation"]), link)
        entries.append(entry)
        if on_item:
            on_item()
    for split in PACKAGE_SPLITS:
        write_split_list(out, split, [e["name"] for e in entries if e["split"] == split])
    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "format": PACKAGE_FORMAT,
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
    write_package_manifest(out, manifest)
    return manifest
