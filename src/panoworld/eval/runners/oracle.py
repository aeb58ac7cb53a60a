"""``oracle``: the ground truth itself (video and annotations copied) — the upper bound of every metric."""

from __future__ import annotations

import shutil

from panoworld.io import atomic_path

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


SPEC = register(
    MethodSpec("oracle", "the GT video and GT annotations (sanity upper bound)", "gt", run, crop_size=None,
               uses_caption=False)
)
