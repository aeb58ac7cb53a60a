"""The small PanoWorld shipped inside the package generates on the CPU: shape, range, determinism for a seed, and
the depth of its head in metres next to the video (a short clip: 5 frames, 2 steps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from panoworld.cli import main
from panoworld.formats.model_folder import is_model_folder, read_model_index
from panoworld.io import probe_video, read_image
from panoworld.pipelines import PanoWorldPipeline
from panoworld.pipelines.loading import SMALL, SMALL_STUDENT, resolve_model, small_model_folder

pytest.importorskip("diffusers")
SAMPLE = small_model_folder().parent / "sample_room_persp.png"


def test_the_shipped_folder_is_complete_and_small():
    folder = small_model_folder()
    assert is_model_folder(folder)
    index = read_model_index(folder)
    assert index.family == "panoworld-small" and index.defaults["height"] == 128 and index.defaults["width"] == 256
    weights = [p for p in folder.rglob("*") if p.suffix in (".safetensors", ".bin", ".pt", ".pth", ".ckpt")]
    assert weights and all(p.suffix == ".safetensors" for p in weights)
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) <= 30 * 2**20


def test_generates_a_deterministic_clip_with_metric_depth():
    source = resolve_model(SMALL)
    pipe = PanoWorldPipeline.from_pretrained(SMALL, device="cpu")
    config = source.generation_config(num_frames=5, num_steps=2, seed=7)
    image = read_image(SAMPLE)
    first = pipe(image, "A living room with a red fabric sofa.", None, config)
    again = pipe(image, "A living room with a red fabric sofa.", None, config)
    assert first.video.shape == (5, 3, 128, 256)
    assert torch.isfinite(first.video).all() and 0.0 <= float(first.video.min()) and float(first.video.max()) <= 1.0
    assert torch.equal(first.video, again.video)
    other = pipe(image, "A living room with a red fabric sofa.", None, config.replace(seed=8)).video
    assert not torch.equal(first.video, other)
    assert first.depth is not None and torch.isfinite(first.depth).all() and float(first.depth.min()) > 0


def test_generate_writes_the_video_and_its_depth_in_metres(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(tmp_path / "no-weights"))
    out = tmp_path / "out"
    code = main(["generate", str(SAMPLE), "--prompt", "A living room.", "--frames", "5", "--steps", "2",
                 "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert probe_video(out / "pano.mp4", count_frames=True).num_frames == 5
    with np.load(out / "depth.npz") as depth:
        metres = depth["depth"].astype(np.float32)
    assert metres.shape == (5, 16, 32) and np.isfinite(metres).all()
    assert 0.05 < float(np.median(metres)) < 100.0  # a range along the ray in metres, not a [0, 1] code


def test_the_shipped_student_is_a_four_step_model_on_the_small_models_components():
    student, teacher = small_model_folder(student=True), small_model_folder()
    index = read_model_index(student)
    assert index.family == "panoworld-small-4step"
    assert (index.sampler.kind, index.sampler.num_steps, index.sampler.guidance) == ("few-step", 4, 0.0)
    assert index.defaults == read_model_index(teacher).defaults
    source = resolve_model(SMALL_STUDENT)
    assert source.sampler["kind"] == "few-step" and source.sampler["num_steps"] == 4
    for slot in ("vae", "text_encoder", "image_encoder"):  # shared with the teacher, not copied
        assert Path(source.components[slot]).resolve() == (teacher / slot).resolve()
    assert Path(source.components["transformer"]).resolve() == (student / "transformer").resolve()
    assert sum(p.stat().st_size for p in student.rglob("*") if p.is_file()) <= 16 * 2**20


def test_the_student_generates_with_its_own_sampler_and_refuses_cfg(tmp_path, capsys):
    source = resolve_model(SMALL_STUDENT)
    pipe = PanoWorldPipeline.from_pretrained(SMALL_STUDENT, device="cpu")
    config = source.generation_config(num_frames=5, seed=7)
    assert (config.sampler, config.num_steps, config.guidance) == ("few-step", 4, 0.0)
    image = read_image(SAMPLE)
    video = pipe(image, "A living room with a red fabric sofa.", None, config).video
    assert video.shape == (5, 3, 128, 256) and torch.isfinite(video).all()
    code = main(["generate", str(SAMPLE), "--prompt", "A living room.", "--model", SMALL_STUDENT, "--guidance", "7",
                 "--device", "cpu", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "error:" in err and "Traceback" not in err
