"""A checkpoint is a PanoWorld model folder: its components load and generate through PanoWorldPipeline, with
the depth head's prediction (metres) in the result."""

from __future__ import annotations

import torch

from panoworld.formats.model_folder import local_reference, read_model_index
from panoworld.train.trainer import Trainer


def test_checkpoint_folder_generates_with_head_depth(tiny_cache, tmp_path):
    from panoworld.models import load_transformer
    from panoworld.models.components import ImageEncoder, TextEncoder, VideoVAE
    from panoworld.pipelines import GenerationConfig, PanoWorldPipeline

    make_config, _ = tiny_cache
    result = Trainer(make_config(tmp_path / "run", run={"max_steps": 1})).run()
    folder = result.checkpoint
    index = read_model_index(folder)
    assert index.family == "panoworld-test" and index.sampler.kind == "unipc-karras"
    assert index.defaults == {"height": 32, "width": 64, "num_frames": 9, "fps": 16.0, "latent_padding": 1}
    assert index.provenance["step"] == 1 and index.provenance["heads_trained"]["depth_head"]
    paths = {slot: local_reference(folder, ref) for slot, ref in index.components.items()}
    assert all(p.startswith(str(folder)) for p in paths.values())  # small components are copied in
    transformer = load_transformer(paths["transformer"])
    assert transformer.has_depth_head
    pipe = PanoWorldPipeline(transformer, VideoVAE.from_pretrained(paths["vae"], dtype=torch.float32),
                             TextEncoder.from_pretrained(paths["text_encoder"], dtype=torch.float32),
                             ImageEncoder.from_pretrained(paths["image_encoder"], dtype=torch.float32))
    cfg = GenerationConfig(height=32, width=64, num_frames=9, num_steps=2, persp_height=16, persp_width=32,
                           latent_padding=1, chained=True, rotated_denoise=True)
    image = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))
    out = pipe(image, "a room", None, cfg)
    assert out.video.shape == (9, 3, 32, 64) and 0 <= out.video.min() and out.video.max() <= 1
    assert out.depth is not None and out.depth.shape == (9, 32, 64) and bool((out.depth > 0).all())
    again = pipe(image, "a room", None, cfg)
    assert torch.equal(out.depth, again.depth)
