"""A checkpoint is a PanoWorld model folder: ``PanoWorldPipeline.from_pretrained(folder)`` and ``panoworld generate
--model folder`` load it as a whole model and generate with it, with the depth head's prediction (metres)."""

from __future__ import annotations

import json

import pytest
import torch

from panoworld.formats.model_folder import local_reference, read_model_index
from panoworld.train.trainer import Trainer


@pytest.fixture(scope="module")
def checkpoint(tiny_cache, tmp_path_factory):
    """The model folder of a one-step tiny training run (depth and descriptor heads trained)."""
    make_config, _ = tiny_cache
    torch.set_num_threads(1)
    return Trainer(make_config(tmp_path_factory.mktemp("run"), run={"max_steps": 1})).run().checkpoint


def test_checkpoint_folder_is_a_complete_model_folder(checkpoint):
    index = read_model_index(checkpoint)
    assert index.family == "panoworld-test" and index.sampler.kind == "unipc-karras"
    assert index.defaults == {"height": 32, "width": 64, "num_frames": 9, "fps": 16.0, "latent_padding": 1}
    assert index.provenance["step"] == 1 and index.provenance["heads_trained"]["depth_head"]
    paths = {slot: local_reference(checkpoint, ref) for slot, ref in index.components.items()}
    assert all(p.startswith(str(checkpoint)) for p in paths.values())  # small components are copied in


def test_from_pretrained_generates_with_head_depth(checkpoint):
    from panoworld.pipelines import PanoWorldPipeline

    pipe = PanoWorldPipeline.from_pretrained(str(checkpoint), device="cpu")
    assert pipe.source.kind == "model-folder" and pipe.transformer.has_depth_head
    cfg = pipe.source.generation_config(num_steps=2, persp_height=16, persp_width=32, chained=True,
                                        rotated_denoise=True)
    assert (cfg.height, cfg.width, cfg.num_frames, cfg.latent_padding) == (32, 64, 9, 1)  # the folder's defaults
    image = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))
    out = pipe(image, "a room", None, cfg)
    assert out.video.shape == (9, 3, 32, 64) and 0 <= out.video.min() and out.video.max() <= 1
    assert out.depth is not None and out.depth.shape == (9, 32, 64) and bool((out.depth > 0).all())
    again = pipe(image, "a room", None, cfg)
    assert torch.equal(out.depth, again.depth) and torch.equal(out.video, again.video)


def test_generate_command_with_the_checkpoint_folder(checkpoint, tmp_path):
    from panoworld.cli import main
    from panoworld.io import probe_video, write_image

    photo = write_image(tmp_path / "photo.png", torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(1)))
    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "a room", "--model", str(checkpoint), "--out", str(out),
                 "--device", "cpu", "--steps", "1", "--persp-resolution", "16x32"]) == 0
    info = probe_video(out / "pano.mp4")
    assert (info.height, info.width, info.num_frames) == (32, 64, 9)  # the model folder's defaults
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["latent_padding"] == 1 and record["config"]["num_steps"] == 1
