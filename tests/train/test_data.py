"""Reading training data: synth splits and training packages with `panoworld annotate` annotations."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from panoworld.errors import InputError
from panoworld.formats.annotations import AnnotationWriter
from panoworld.formats.captions import Captions, write_captions
from panoworld.formats.package import PackageLayout, write_split_list
from panoworld.formats.testset import MASTER_CSV
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
    layout = PackageLayout(package)
    layout.videos.mkdir(parents=True)
    shutil.copy(source.video, layout.path(layout.video("web360_a")))
    write_captions(layout.path(layout.captions("web360_a")), Captions(short="a room", long="a long room"),
                   name="web360_a")
    write_split_list(package, "train", ["web360_a"])
    write_split_list(package, "val", [])
    sky = np.zeros((3, 32, 64), bool)
    sky[:, :4] = True
    with AnnotationWriter(annotations / "web360_a") as writer:  # as `panoworld annotate` writes it
        for k in range(3):
            writer.depth(k, np.full((32, 64), 5.0, np.float32))
        writer.put(sky_mask=sky, tracks_2d=np.zeros((4, 3, 2)), visibility=np.ones((4, 3)),
                   frame_indices=np.array([0, 4, 8]))
        writer.commit({"video_resolution": [64, 32], "n_frames": 3, "n_tracks": 4, "frame_indices": [0, 4, 8],
                       "source_fps": 16.0})
    clips = list_clips(package, annotations=str(annotations))
    assert [c.name for c in clips] == ["web360_a"] and clips[0].captions == {"short": "a room", "long": "a long room"}
    ann = read_clip_annotations(clips[0])
    assert torch.allclose(ann.depth, torch.full((3, 32, 64), 5.0))
    assert bool(ann.invalid[:, :4].all()) and not bool(ann.invalid[:, 4:].any())
    assert ann.times.tolist() == pytest.approx([0.0, 0.25, 0.5]) and not ann.static.any()  # indices / video fps
    assert list_clips(package, split="all")[0].annotation_dir is None  # the package holds no annotations itself
    with pytest.raises(InputError, match="no clips"):
        list_clips(package, split="val")
    with pytest.raises(InputError, match="neither"):
        list_clips(tmp_path)


def test_master_csv_and_split_filter(synth_splits):
    split = Path(synth_splits["val"])
    by_file = list_clips(split / MASTER_CSV, split="va")
    assert [c.name for c in by_file] == [c.name for c in list_clips(split)] == ["va__clip0000"]
    assert by_file[0].annotation_dir is not None and read_clip_annotations(by_file[0]).depth is not None
    with pytest.raises(InputError, match="no clips"):
        list_clips(split, split="tr")
