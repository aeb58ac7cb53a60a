"""Reading the three documented folder layouts (docs/view.md) into clips, videos, inputs and geometry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from panoworld.errors import InputError
from panoworld.view import Camera, read_sources
from panoworld.view.sources import source_kind

from .conftest import GEN_CAMERA, GEN_FRAMES, SPLIT, generation_depth


def test_kinds_are_recognised(generation_dir, synth_split, results_dir, tmp_path):
    assert source_kind(generation_dir) == "generation"
    assert source_kind(synth_split) == "split"
    assert source_kind(synth_split / "master.csv") == "split"
    assert source_kind(results_dir) == "results"
    assert source_kind(generation_dir / "pano.mp4") == "video"
    with pytest.raises(InputError, match="not a generation folder"):
        source_kind(tmp_path)
    with pytest.raises(InputError, match="not found"):
        read_sources([tmp_path / "missing"])
    with pytest.raises(InputError, match="at least one"):
        read_sources([])


def test_generation_folder(generation_dir):
    (clip,) = read_sources([generation_dir])
    assert clip.title == "desk"
    assert [v.label for v in clip.videos] == ["generated", "round 1"]
    assert clip.camera == Camera(**GEN_CAMERA)
    assert clip.input_image == generation_dir / "photo.png"
    assert clip.caption == "a desk / a study"
    assert clip.info["chained"] is True
    geo = clip.videos[0].geometry()
    depth, indices = generation_depth()
    np.testing.assert_allclose(geo.depth, depth.astype(np.float32))
    np.testing.assert_allclose(geo.depth_times, indices / 16.0)
    assert geo.tracks.shape == (3, GEN_FRAMES, 2) and geo.size == (64, 128)
    assert geo.visibility[2, :4].all() and not geo.visibility[2, 4:].any()
    np.testing.assert_allclose(geo.track_times, np.arange(GEN_FRAMES) / 16.0)
    assert clip.videos[1].geometry() is None  # round 1 has no geometry


def test_generation_input_falls_back_to_a_copy_next_to_the_video(generation_dir, tmp_path):
    import shutil

    folder = tmp_path / "g"
    shutil.copytree(generation_dir, folder)
    record = json.loads((folder / "run.json").read_text())
    record["arguments"]["image"] = "/nonexistent/photo.png"
    (folder / "run.json").write_text(json.dumps(record))
    assert read_sources([folder])[0].input_image is None
    shutil.copyfile(folder / "photo.png", folder / "input.png")
    assert read_sources([folder])[0].input_image == folder / "input.png"


def test_split_reads_exact_depth_in_metres_and_tracks(synth_split):
    clips = read_sources([synth_split])
    assert [c.title for c in clips] == ["synth::clip0000", "synth::clip0001"]
    clip = clips[0]
    assert clip.camera == Camera(90.0, 0.0, 0.0, 0.0)
    assert clip.input_image.is_file() and clip.caption
    geo = clip.videos[0].geometry()
    meta = json.loads((synth_split / "annotations" / "synth__clip0000" / "meta.json").read_text())
    raw = np.load(synth_split / "annotations" / "synth__clip0000" / "depth" / "0000.npy")
    np.testing.assert_allclose(geo.depth[0], raw.astype(np.float32))  # metres, unscaled
    np.testing.assert_allclose(geo.depth_times, meta["frame_times_s"], atol=1e-6)
    assert geo.tracks.shape == (SPLIT["grid_size"] ** 2, SPLIT["ann_frames"], 2)
    assert geo.size == SPLIT["size"]


def test_results_join_methods_metrics_and_ground_truth(results_dir, synth_split):
    clips = read_sources([results_dir])
    assert [c.title for c in clips] == ["synth::clip0000", "synth::clip0001"]
    assert [v.label for v in clips[0].videos] == ["oracle", "static"]
    assert clips[0].camera is None
    rows = clips[0].metrics
    assert {(r["method"], r["metric"], float(r["value"])) for r in rows} == {
        ("oracle", "psnr/erp", 100.0), ("static", "psnr/erp", 17.25)}  # the bucketed Fréchet row is not a clip row
    assert clips[0].videos[0].geometry().depth is not None  # annotations next to a method's video
    assert clips[0].videos[1].geometry() is None
    with_gt = read_sources([results_dir], master=synth_split)
    assert [v.label for v in with_gt[1].videos] == ["ground truth", "oracle", "static"]
    assert with_gt[1].camera == Camera(90.0, 0.0, 0.0, 0.0) and with_gt[1].input_image.is_file()


def test_several_paths_give_all_their_clips(generation_dir, synth_split):
    clips = read_sources([generation_dir, synth_split / "master.csv", generation_dir / "pano.mp4"])
    assert [c.title for c in clips] == ["desk", "synth::clip0000", "synth::clip0001", "pano"]
