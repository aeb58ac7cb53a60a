"""``oracle``: the ground truth itself (video and annotations copied) — the upper bound of every metric."""

from __future__ import annotations

import shutil
from pathlib import Path

from panoworld.formats.annotations import AnnotationWriter, has_annotations
from panoworld.formats.testset import TestClip
from panoworld.io import atomic_path

from .base import MethodSpec, RunRequest, register

__all__ = ["SPEC", "copy_gt_video", "copy_gt_annotations"]


def copy_gt_video(clip: TestClip, target: Path) -> None:
    with atomic_path(target) as tmp:
        shutil.copyfile(clip.video_path, tmp)


def copy_gt_annotations(clip: TestClip, out_dir: Path) -> None:
    """The GT annotation folder (if any) into ``out_dir`` (through the annotation writer: older folders in metres,
    the GT's OpenGL pose axes kept explicit for Habitat clips)."""
    if not has_annotations(clip.annotation_dir):
        return
    with AnnotationWriter(out_dir, depth_dtype="float32") as writer:
        meta = writer.copy(clip.annotation_dir, depth_kind=clip.depth_kind)
        if clip.pose_kind == "habitat_gt":
            meta["pose_axes"] = "opengl"
        writer.commit(meta)


def run(request: RunRequest) -> None:
    copy_gt_video(request.clip, request.video_path)
    copy_gt_annotations(request.clip, request.out_dir)


SPEC = register(
    MethodSpec("oracle", "the GT video and GT annotations (sanity upper bound)", "gt", run, crop_size=None,
               uses_caption=False)
)
