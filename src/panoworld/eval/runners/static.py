"""``static``: GT frame 0 repeated for the GT duration — a frozen world (sanity lower bound).

Its geometry annotations are exact for a frozen video: frame-0 depth, frame-0 track positions and
visibility and 3-D points at every annotation time, identity camera poses.
"""

from __future__ import annotations

import json

import numpy as np

from panoworld.io import atomic_write_json, probe_video, write_video

from ..annotations import has_annotations, load_annotations
from .base import MethodSpec, RunRequest, register


def _save(path, array: np.ndarray) -> None:
    from panoworld.io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)


def run(request: RunRequest) -> None:
    clip = request.clip
    info = probe_video(clip.video_path)
    frame0 = request.gt_frame0()
    write_video(request.video_path, frame0[None].expand(max(1, info.num_frames), -1, -1, -1), info.fps)
    if not has_annotations(clip.annotation_dir):
        return
    gt = load_annotations(clip.annotation_dir, video_fps=float(info.fps), video_frames=info.num_frames,
                          video_size=(info.height, info.width), depth_kind=clip.depth_kind)
    t = len(gt.times)
    out = request.out_dir
    if gt.depth is not None:
        for i in range(t):
            _save(out / "depth" / f"{i:04d}.npy", gt.depth[0].numpy().astype(np.float32))
    if gt.tracks_2d is not None:
        _save(out / "tracks_2d.npy", np.repeat(gt.tracks_2d[:, :1], t, axis=1).astype(np.float32))
        vis = gt.visibility if gt.visibility is not None else np.ones(gt.tracks_2d.shape[:2], bool)
        _save(out / "visibility.npy", np.repeat(vis[:, :1], t, axis=1).astype(np.float32))
    if gt.tracks_3d is not None:
        _save(out / "tracks_3d.npy", np.repeat(gt.tracks_3d[:, :1], t, axis=1).astype(np.float32))
    _save(out / "camera_poses.npy", np.tile(np.eye(4), (t, 1, 1)).astype(np.float32))
    meta = {"frame_times": [float(x) for x in gt.times], "video_resolution": [gt.size[1], gt.size[0]],
            "depth_unit": "m", "n_frames": t, "source": "static runner (exact annotations of a frozen frame 0)"}
    atomic_write_json(out / "meta.json", json.loads(json.dumps(meta)))


SPEC = register(
    MethodSpec("static", "GT frame 0 repeated (sanity lower bound)", "gt", run, crop_size=None, uses_caption=False)
)
