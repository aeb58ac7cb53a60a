"""``degrade-<kind>``: the ground truth with one controlled defect (:mod:`panoworld.eval.degrade`) — each should be
flagged by the metric meant for it and ranked behind ``oracle``."""

from __future__ import annotations

import zlib

from panoworld.io import probe_video, read_video, write_video

from ..degrade import DEGRADATIONS, degrade_annotations, degrade_video
from . import DEGRADATION_KINDS
from .base import MethodSpec, RunRequest, register
from .oracle import copy_gt_annotations, copy_gt_video

if set(DEGRADATION_KINDS) != set(DEGRADATIONS):
    raise RuntimeError("runners.DEGRADATION_KINDS and eval.degrade.DEGRADATIONS disagree")


def _runner(kind: str):
    def run(request: RunRequest) -> None:
        clip = request.clip
        seed = request.seed + zlib.crc32(clip.clip_id.encode())
        info = probe_video(clip.video_path)
        if DEGRADATIONS[kind].target == "video":
            video = degrade_video(read_video(clip.video_path), kind, seed=seed)
            write_video(request.video_path, video, info.fps, crf=0)
            copy_gt_annotations(clip, request.out_dir)
        else:
            copy_gt_video(clip, request.video_path)
            degrade_annotations(clip.annotation_dir, request.out_dir, kind, fps=float(info.fps),
                                depth_kind=clip.depth_kind, seed=seed)

    return run


for _kind, _d in DEGRADATIONS.items():
    register(MethodSpec(f"degrade-{_kind}", f"the GT with a controlled defect: {_d.description} "
                        f"(flagged by {_d.flagged_by})", "gt", _runner(_kind), crop_size=None, uses_caption=False))
