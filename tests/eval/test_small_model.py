"""The random small-architecture model folder used by the end-to-end evaluation (``panoworld.eval.small_model``)."""

from __future__ import annotations

import json


def test_small_transformer_config_is_the_training_preset_s():
    from panoworld.eval.small_model import small_transformer_config
    from panoworld.train.config import load_config
    from panoworld.train.modeling import HEAD_CONFIG_KEYS

    model = load_config("tiny-synth").model
    assert small_transformer_config() == {**model.transformer, **{k: getattr(model, k) for k in HEAD_CONFIG_KEYS}}


def test_folder_loads_as_a_model_folder_with_its_sizes(small_random_model):
    from panoworld.pipelines.loading import resolve_model

    source = resolve_model(small_random_model)
    settings = source.generation_config()
    assert (settings.height, settings.width, settings.num_frames, settings.num_steps) == (32, 64, 5, 1)
    transformer = json.loads((small_random_model / "transformer" / "config.json").read_text())
    assert transformer["depth_head_block"] == 4 and transformer["num_layers"] == 8
    vae = json.loads((small_random_model / "vae" / "config.json").read_text())
    assert vae["_panoworld_circular_longitude"] is True
