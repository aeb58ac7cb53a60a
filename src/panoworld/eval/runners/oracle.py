"""``oracle``: the ground truth itself (video and annotations copied) — the upper bound of every metric."""

from __future__ import annotations

import shutil

from panoworld.formats.annotations import META, has_annotations, read_meta
from panoworld.io import atomic_path, atomic_write_json

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
            atomic_write_json(request.out_dir / META, {**read_meta(request.out_dir), "pose_axes": "opengl"})


SPEC = register(
    MethodSpec("oracle", "the GT video and GT annotations (sanity upper bound)", "gt", run, crop_size=None,
               uses_caption=False)
)
