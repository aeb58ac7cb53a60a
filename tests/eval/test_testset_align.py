"""master.csv reading (paths, captions), annotation units and times, the common clock."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from panoworld.errors import InputError
from panoworld.eval.align import AlignConfig, grid_indices, load_aligned_video, match_times
from panoworld.formats.annotations import poses_to_c2w, read_annotations
from panoworld.formats.captions import Captions
from panoworld.formats.testset import read_master
from panoworld.io import write_video
from panoworld.sphere import resize_erp


def _master(tmp_path, rows):
    p = tmp_path / "sub" / "master.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
        w.writeheader()
        w.writerows(rows)
    return p


def test_master_paths_and_caption_forms(tmp_path):
    (tmp_path / "sub" / "caps").mkdir(parents=True)
    (tmp_path / "sub" / "caps" / "a.json").write_text(json.dumps({"gemini": {"short": "s", "long": "L"}}))
    absolute = tmp_path / "b.json"
    absolute.write_text(json.dumps({"short": "only short"}))
    p = _master(tmp_path, [
        {"clip_id": "self_iid::a", "split": "self_iid", "video_path": "v/a.mp4", "caption_path": "caps/a.json",
         "is_static": "1", "trajectory_kind": "", "resolution": "1024x512"},
        {"clip_id": "habitat_ood::b", "split": "habitat_ood", "video_path": str(tmp_path / "b.mp4"),
         "caption_path": str(absolute), "is_static": "0", "trajectory_kind": "walk"},
    ])  # fmt: skip
    a, b = read_master(p, caption_style="medium")
    assert a.video_path.is_absolute() and a.video_path.parts[-3:] == ("sub", "v", "a.mp4")
    assert b.video_path == tmp_path / "b.mp4"
    assert a.caption == "L"  # medium missing -> long
    assert b.caption == "only short"
    assert a.size == (512, 1024) and a.motion_kind == "static" and b.motion_kind == "walk"
    assert a.dirname == "self_iid__a" and a.caption_for("short") == "s"
    assert [c.name for c in read_master(p, splits=["habitat_ood"])] == ["b"]


def test_master_errors(tmp_path):
    with pytest.raises(InputError):
        read_master(tmp_path / "nope.csv")
    p = _master(tmp_path, [{"clip": "x"}])
    with pytest.raises(InputError, match="clip_id"):
        read_master(p)
    assert Captions().pick("medium") == ""  # no caption file: an empty caption


def test_annotation_units_times_and_reference_poses(tmp_path):
    root = tmp_path / "ann"
    (root / "depth").mkdir(parents=True)
    for i in range(4):
        np.save(root / "depth" / f"{i:04d}.npy", np.full((4, 8), 0.05, np.float16))
    rot = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], np.float64)
    t = np.array([1.0, 2.0, 3.0])
    np.save(root / "camera_poses.npy", np.tile(np.concatenate([rot.ravel(), t]), (4, 1)).astype(np.float32))
    ann = read_annotations(root, video_fps=25.0, video_frames=80, depth_kind="dap_estimated")
    assert torch.allclose(ann.depth, torch.full((4, 4, 8), 5.0), atol=0.01)  # DAP code 0.05 = 5 m
    assert np.allclose(ann.times, np.arange(4) * 20 / 25.0)  # every 80 // 4 = 20th frame at 25 fps
    c2w = poses_to_c2w(np.concatenate([rot.ravel(), t])[None])
    p0 = np.array([0.3, -0.2, 2.0])  # a frame-0 point; in camera t it is R p0 + t; c2w maps it back
    assert np.allclose(c2w[0, :3, :3] @ (rot @ p0 + t) + c2w[0, :3, 3], p0)


def test_clock_and_time_matching(tmp_path):
    cfg = AlignConfig(n_frames=8, fps=16.0)
    assert grid_indices(100, 8.0, cfg) == [0, 1, 1, 2, 2, 3, 3, 4]  # round half up of i/2
    assert grid_indices(3, 16.0, cfg)[-1] == 2  # short source repeats its last frame
    assert match_times([0.0, 0.25, 0.5], [0.1, 0.2, 0.49]).tolist() == [0, 1, 2]
    frames = torch.stack([torch.full((3, 16, 32), i / 10) for i in range(5)])
    write_video(tmp_path / "v.mp4", frames, 8, crf=0)
    v = load_aligned_video(tmp_path / "v.mp4", (8, 16), cfg)
    assert v.shape == (8, 3, 8, 16)
    assert torch.allclose(v[:, 0, 4, 8], torch.tensor([0, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4]), atol=0.02)


def test_resize_wraps_longitude():
    img = torch.zeros(1, 3, 16, 32)
    img[..., 0] = 1.0  # first column bright: after downscaling both edge columns see it
    out = resize_erp(img, (8, 16))
    assert out[0, 0, 4, -1] > 0.05 and out[0, 0, 4, 0] > 0.2


def test_habitat_opengl_poses_become_opencv(tmp_path):
    root = tmp_path / "hab"
    root.mkdir()
    c2w_gl = np.tile(np.eye(4), (3, 1, 1))
    c2w_gl[:, :3, 3] = [[0, 0, 0], [0, 0, -1], [0, 0, -2]]  # walking along -z = forward in OpenGL axes
    np.save(root / "camera_poses.npy", c2w_gl)
    ann = read_annotations(root, video_fps=25.0, video_frames=3, pose_kind="habitat_gt")
    forward_cv = ann.poses[:, :3, :3] @ np.array([0.0, 0.0, 1.0])  # the camera's +z (OpenCV forward) in world
    assert np.allclose(forward_cv, [0.0, 0.0, -1.0])  # = the direction of travel
    assert np.allclose(read_annotations(root, video_fps=25.0, video_frames=3).poses, c2w_gl)
