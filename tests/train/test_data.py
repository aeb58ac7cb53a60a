"""Reading training data: synth splits and training packages with `panoworld annotate` annotations."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from panoworld.errors import InputError
from panoworld.train.data import list_clips, read_clip_annotations, read_clip_video


def test_synth_split(synth_splits):
    clips = list_clips(synth_splits["train"])
    assert [c.name for c in clips] == ["tr__clip0000", "tr__clip0001"]
    assert set(clips[0].captions) == {"short", "medium", "long"}
    frames, times = read_clip_video(clips[0], num_frames=5, fps=8.0, size=(16, 32))
    assert frames.shape == (5, 3, 16, 32) and times.tolist() == pytest.approx([0, 0.125, 0.25, 0.375, 0.5])
    ann = read_clip_annotations(clips[0])
    assert ann.depth.shape == (9, 32, 64) and ann.size == (32, 64) and ann.times[1] == pytest.approx(1 / 16)
    assert ann.tracks.shape == (36, 9, 2) and ann.visible.dtype == bool and ann.static.shape == (36,)
    with pytest.raises(InputError, match="shorter than"):
        read_clip_video(clips[0], num_frames=13, fps=16.0, size=(32, 64))


def test_training_package_with_annotate_output(synth_splits, tmp_path):
    source = list_clips(synth_splits["train"])[0]
    package, annotations = tmp_path / "package", tmp_path / "annotations"
    (package / "videos").mkdir(parents=True)
    (package / "captions").mkdir()
    shutil.copy(source.video, package / "videos" / "web360_a.mp4")
    (package / "captions" / "web360_a.json").write_text(json.dumps({"name": "web360_a", "short": "a room",
                                                                    "medium": None, "long": "a long room"}))
    (package / "train.csv").write_text("video_basename\nweb360_a\n")
    (package / "val.csv").write_text("video_basename\n")
    folder = annotations / "web360_a"
    (folder / "depth").mkdir(parents=True)
    code = np.full((32, 64), 0.05, np.float16)  # DAP code: 5 m
    for k in range(3):
        np.save(folder / "depth" / f"{k:04d}.npy", code)
    sky = np.zeros((3, 32, 64), bool)
    sky[:, :4] = True
    np.save(folder / "sky_mask.npy", sky)
    np.save(folder / "frame_indices.npy", np.array([0, 4, 8]))
    np.save(folder / "tracks_2d.npy", np.zeros((4, 3, 2), np.float32))
    np.save(folder / "visibility.npy", np.ones((4, 3), np.float16))
    (folder / "meta.json").write_text(json.dumps({"video_resolution": [64, 32], "n_frames": 3, "depth_unit": "m",
                                                  "depth_scale": 100.0, "source_fps": 16.0}))
    clips = list_clips(package, annotations=str(annotations))
    assert [c.name for c in clips] == ["web360_a"] and clips[0].captions == {"short": "a room", "long": "a long room"}
    ann = read_clip_annotations(clips[0])
    assert torch.allclose(ann.depth, torch.full((3, 32, 64), 5.0), rtol=1e-3)
    assert bool(ann.invalid[:, :4].all()) and not bool(ann.invalid[:, 4:].any())
    assert ann.times.tolist() == pytest.approx([0.0, 0.25, 0.5]) and not ann.static.any()
    with pytest.raises(InputError, match="no val.csv|no clips"):
        list_clips(package, split="val")
    with pytest.raises(InputError, match="neither"):
        list_clips(tmp_path)
