"""``PanoWorldPipeline.from_pretrained`` on both layouts (weights root, model folder), the model folder's sampler
contract, and ``panoworld generate --model``: tiny random components saved with ``save_pretrained``."""

from __future__ import annotations

import json

import pytest
import torch

from panoworld.cli import main
from panoworld.errors import InputError, MissingComponentError
from panoworld.io import probe_video, write_image
from panoworld.pipelines import PanoWorldPipeline
from panoworld.pipelines.loading import resolve_model
from tests.tiny_models import TINY_DEFAULTS, write_tiny_model_folder, write_tiny_weights_root

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    root = tmp_path_factory.mktemp("layouts")
    return {"root": write_tiny_weights_root(root / "weights"), "folder": write_tiny_model_folder(root / "model"),
            "few_step": write_tiny_model_folder(root / "student", sampler={
                "kind": "few-step", "num_steps": 2, "guidance": 0.0, "timesteps": [0.9, 0.4]})}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_both_layouts_load_the_same_model_and_the_folder_sets_the_defaults(layouts):
    image = torch.rand(3, 24, 32, generator=torch.Generator().manual_seed(1))
    folder = PanoWorldPipeline.from_pretrained(str(layouts["folder"]), device="cpu")
    settings = folder.source.generation_config(seed=3)
    assert folder.source.kind == "model-folder" and folder.source.family == "panoworld-tiny"
    assert (settings.num_steps, settings.guidance, settings.sampler) == (1, 2.0, "unipc-karras")
    assert (settings.height, settings.width, settings.num_frames) == (32, 64, 5)
    root = PanoWorldPipeline.from_pretrained(str(layouts["root"]), device="cpu", dtype="fp32")
    defaults = root.source.generation_config()
    assert root.source.kind == "weights-root" and (defaults.num_steps, defaults.guidance) == (35, 7.0)
    a = folder(image, "a desk", "an office", settings).video
    b = root(image, "a desk", "an office", settings).video
    assert a.shape == (5, 3, 32, 64) and torch.equal(a, b)  # same weights through either layout


def test_few_step_model_refuses_the_many_step_sampler_and_vice_versa(layouts):
    source = resolve_model(layouts["few_step"])
    assert source.sampler["kind"] == "few-step"
    student = PanoWorldPipeline.from_pretrained(str(layouts["few_step"]), device="cpu")
    image = torch.rand(3, 24, 32)
    with pytest.raises(InputError, match="distilled for the few-step sampler"):
        student(image, "a desk", config=source.generation_config(sampler="unipc-karras"))
    with pytest.raises(InputError, match="distilled for 2 steps .*--steps must be 2, got 35"):
        student(image, "a desk", config=source.generation_config(num_steps=35))
    with pytest.raises(InputError, match="--guidance must be 0"):
        student(image, "a desk", config=source.generation_config(guidance=7.0))
    out = student(image, "a desk", config=source.generation_config())  # its own sampler: 2 steps, no CFG
    assert out.info["round1_evaluations"] == 2 and out.info["round1_cfg"] == "none"
    teacher = PanoWorldPipeline.from_pretrained(str(layouts["folder"]), device="cpu")
    with pytest.raises(InputError, match="many-step UniPC sampler"):
        teacher(image, "a desk", config=teacher.source.generation_config(sampler="few-step"))


def test_missing_component_of_a_model_folder_is_named(tmp_path, layouts):
    index = json.loads((layouts["folder"] / "model_index.json").read_text())
    index["components"]["text_encoder"] = "component:cosmos-reason1-7b"
    (tmp_path / "model_index.json").write_text(json.dumps(index))
    (tmp_path / "transformer").symlink_to(layouts["folder"] / "transformer")
    with pytest.raises(MissingComponentError, match="cosmos-reason1-7b"):
        resolve_model(tmp_path)
    with pytest.raises(InputError, match="not a PanoWorld model folder"):
        resolve_model(tmp_path / "nowhere")


def test_generate_model_flag(tmp_path, layouts, capsys):
    photo = write_image(tmp_path / "photo.png", torch.rand(3, 30, 40))
    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "a desk", "--model", str(layouts["folder"]), "--out", str(out),
                 "--device", "cpu"]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["num_steps"] == 1 and record["config"]["guidance"] == 2.0
    assert {k: record["config"][k] for k in ("height", "width", "num_frames")} == \
        {k: TINY_DEFAULTS[k] for k in ("height", "width", "num_frames")}
    assert len(record["settings_key"]) == 64 and probe_video(out / "pano.mp4").num_frames == 5
    capsys.readouterr()
    student = tmp_path / "student_out"
    assert main(["generate", str(photo), "-p", "a desk", "--model", str(layouts["few_step"]), "--out",
                 str(student), "--steps", "35"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "distilled for 2 steps" in err and not student.exists()
    assert main(["generate", str(photo), "-p", "a desk", "--model", str(layouts["few_step"]), "--out",
                 str(student), "--device", "cpu"]) == 0
    record = json.loads((student / "run.json").read_text())
    assert record["config"]["sampler"] == "few-step" and record["models"]["few_step_timesteps"] == [0.9, 0.4]
