"""``fov-only``: the perspective input pasted onto a black ERP at yaw 0, repeated (no generation at all)."""

from __future__ import annotations

from panoworld.io import probe_video, write_video
from panoworld.sphere import perspective_to_erp

from .base import MethodSpec, RunRequest, register


def run(request: RunRequest) -> None:
    info = probe_video(request.clip.video_path)
    erp, mask = perspective_to_erp(request.input_crop(), fov_x=request.spec.crop_fov, size=(info.height, info.width))
    frame = (erp * mask).clamp(0, 1)
    write_video(request.video_path, frame[None].expand(max(1, info.num_frames), -1, -1, -1), info.fps)


SPEC = register(MethodSpec("fov-only", "the input crop pasted on black, repeated", "perspective", run,
                           uses_caption=False))
