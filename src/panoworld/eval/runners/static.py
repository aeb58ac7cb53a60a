"""``static``: GT frame 0 repeated for the GT duration — a frozen world (sanity lower bound).

Its geometry annotations are exact for a frozen video: frame-0 depth, frame-0 track positions and
visibility and 3-D points at every annotation time, identity camera poses.
"""

from __future__ import annotations

import numpy as np

from panoworld.formats.annotations import AnnotationWriter, has_annotations, read_annotations
from panoworld.io import probe_video, write_video

from .base import MethodSpec, RunRequest, register


def run(request: RunRequest) -> None:
    clip = request.clip
    info = probe_video(clip.video_path)
    frame0 = request.gt_frame0()
    write_video(request.video_path, frame0[None].expand(max(1, info.num_frames), -1, -1, -1), info.fps)
    if not has_annotations(clip.annotation_dir):
        return
    gt = read_annotations(clip.annotation_dir, video_fps=float(info.fps), video_frames=info.num_frames,
                          video_size=(info.height, info.width), depth_kind=clip.depth_kind)
    t = len(gt.times)
    with AnnotationWriter(request.out_dir, depth_dtype="float32") as writer:
        if gt.depth is not None:
            for i in range(t):
                writer.depth(i, gt.depth[0].numpy())
        if gt.tracks_2d is not None:
            writer.put(tracks_2d=np.repeat(gt.tracks_2d[:, :1], t, axis=1))
            vis = gt.visibility if gt.visibility is not None else np.ones(gt.tracks_2d.shape[:2], bool)
            writer.put(visibility=np.repeat(vis[:, :1], t, axis=1))
        if gt.tracks_3d is not None:
            writer.put(tracks_3d=np.repeat(gt.tracks_3d[:, :1], t, axis=1))
        writer.put(camera_poses=np.tile(np.concatenate([np.eye(3).ravel(), np.zeros(3)]), (t, 1)))
        writer.put(camera_c2w=np.tile(np.eye(4, dtype=np.float32), (t, 1, 1)))
        writer.commit({"frame_times": [float(x) for x in gt.times], "video_resolution": [gt.size[1], gt.size[0]],
                       "n_frames": t, "source": "static runner (exact annotations of a frozen frame 0)"})


SPEC = register(
    MethodSpec("static", "GT frame 0 repeated (sanity lower bound)", "gt", run, crop_size=None, uses_caption=False)
)
