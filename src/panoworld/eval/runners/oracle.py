"""``oracle``: the ground truth itself (video and annotations copied) — the upper bound of every metric."""

from __future__ import annotations

import json
import shutil

from panoworld.io import atomic_path, atomic_write_json

from ..annotations import has_annotations
from .base import MethodSpec, RunRequest, register


def run(request: RunRequest) -> None:
    clip = request.clip
    with atomic_path(request.video_path) as tmp:
        shutil.copyfile(clip.video_path, tmp)
    if has_annotations(clip.annotation_dir):
        for item in clip.annotation_dir.iterdir():
            dst = request.out_dir / item.name
            if item.is_dir():
                shutil.copytree(item, dst, dirs_exist_ok=True)
            else:
                shutil.copyfile(item, dst)
        if clip.pose_kind == "habitat_gt":  # keep the GT's OpenGL pose axes explicit for the copy
            meta_path = request.out_dir / "meta.json"
            meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
            atomic_write_json(meta_path, {**meta, "pose_axes": "opengl"})


SPEC = register(
    MethodSpec("oracle", "the GT video and GT annotations (sanity upper bound)", "gt", run, crop_size=None,
               uses_caption=False)
)
