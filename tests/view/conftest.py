"""Fixtures: the three folder layouts the viewer reads, built by the real writers where they exist.

- ``synth_split``: a split written by ``panoworld.synth.write_split`` (exact depth in metres, tracks, inputs);
- ``generation_dir``: what ``panoworld generate`` writes (pano.mp4 with spherical metadata, run.json, the input)
  plus the documented geometry files ``depth.npz`` / ``tracks.npz``;
- ``results_dir``: an eval results folder (two methods over the split's clips, a results_long.csv).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from panoworld.io import write_image, write_video
from panoworld.sphere import erp_lonlat, erp_to_perspective
from tests.conftest import textured_erp

#: Small but visible: 2 clips (rotate, walk), 17 frames of 64 x 128, 5 annotation frames, 36 tracks.
SPLIT = dict(clips=2, frames=17, size=(64, 128), seed=3, trajectories=(0, 1, 1, 0), ann_frames=5, grid_size=6,
             shadows=False)
GEN_CAMERA = {"fov_x": 80.0, "yaw": 30.0, "pitch": 10.0, "roll": 5.0}
GEN_FRAMES, GEN_SIZE = 9, (64, 128)


@pytest.fixture(scope="session")
def synth_split(tmp_path_factory) -> Path:
    """Folder of a split written by panoworld.synth.write_split (holds master.csv)."""
    from panoworld.synth import write_split

    root = tmp_path_factory.mktemp("view_split")
    write_split(root, **SPLIT)
    return root


def generation_frames() -> torch.Tensor:
    """(T, 3, H, W) a textured ERP turning 10 columns per frame."""
    erp = textured_erp(*GEN_SIZE, dtype=torch.float32)
    return torch.stack([erp.roll(10 * t, dims=-1) for t in range(GEN_FRAMES)])


def generation_depth() -> tuple[np.ndarray, np.ndarray]:
    """((5, H, W) metres, (5,) frame indices): 2 m at the horizon growing to 20 m at the poles, sky (NaN) at top."""
    lat = erp_lonlat(*GEN_SIZE)[..., 1].numpy()
    depth = 2.0 + 18.0 * np.abs(np.sin(lat))
    depth[:3] = np.nan
    frames = np.array([0, 2, 4, 6, 8])
    return np.stack([depth * (1 + 0.05 * k) for k in range(5)]).astype(np.float16), frames


@pytest.fixture(scope="session")
def generation_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("view_generation") / "desk"
    folder.mkdir()
    frames = generation_frames()
    write_video(folder / "pano.mp4", frames, 16, spherical=True)
    write_video(folder / "round1.mp4", frames.flip(-1), 16, spherical=True)
    write_image(folder / "photo.png", erp_to_perspective(frames[0], size=(48, 64), **GEN_CAMERA).clamp(0, 1))
    record = {"arguments": {"image": str(folder / "photo.png"), "prompt": "a desk", "pano_prompt": "a study"},
              "config": {**GEN_CAMERA, "num_steps": 35, "guidance": 7.0, "seed": 0, "chained": True},
              "outputs": {"video": str(folder / "pano.mp4")}}
    (folder / "run.json").write_text(json.dumps(record))
    depth, indices = generation_depth()
    np.savez(folder / "depth.npz", depth=depth, frame_indices=indices)
    x = np.tile(np.arange(GEN_FRAMES, dtype=np.float32) * 10 + 120, (3, 1))  # crosses the seam at x = 128
    tracks = np.stack([x % 128, np.full_like(x, 32.0)], -1)
    tracks[:, :, 1] += np.array([-10.0, 0.0, 10.0], np.float32)[:, None]  # three rows
    visibility = np.ones((3, GEN_FRAMES), np.float16)
    visibility[2, 4:] = 0
    np.savez(folder / "tracks.npz", tracks_2d=tracks, visibility=visibility)
    return folder


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory, synth_split) -> Path:
    """Eval results: ``oracle`` (the GT video, with the GT annotations copied next to it) and ``static``."""
    from panoworld.formats.testset import read_master
    from panoworld.io import read_video

    root = tmp_path_factory.mktemp("view_results")
    rows = []
    for clip in read_master(synth_split / "master.csv"):
        oracle, static = root / "oracle" / clip.dirname, root / "static" / clip.dirname
        oracle.mkdir(parents=True)
        static.mkdir(parents=True)
        shutil.copyfile(clip.video_path, oracle / "video.mp4")
        shutil.copytree(clip.annotation_dir, oracle, dirs_exist_ok=True)
        first = read_video(clip.video_path, frame_indices=[0])
        write_video(static / "video.mp4", first.expand(SPLIT["frames"], -1, -1, -1), 16, spherical=True)
        for method, psnr in (("oracle", 100.0), ("static", 17.25)):
            rows.append({"method": method, "clip_id": clip.clip_id, "split": clip.split, "bucket": "",
                         "metric": "psnr/erp", "value": psnr})
    rows.append({"method": "static", "clip_id": "", "split": "", "bucket": "all", "metric": "fvd/videomae",
                 "value": 12.0})
    with open(root / "results_long.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["method", "clip_id", "split", "scene_type", "motion_kind", "bucket",
                                                "metric", "value", "n_clips", "run_id"])
        writer.writeheader()
        writer.writerows(rows)
    return root
