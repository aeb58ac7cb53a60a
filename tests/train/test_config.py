"""Training configs: presets, TOML files, --set overrides with type checks, validation, resume comparison."""

from __future__ import annotations

import pytest

from panoworld.errors import InputError
from panoworld.train.config import config_difference, config_to_dict, list_presets, load_config


def test_presets_load_and_describe_the_lead_s_small_model():
    assert {"tiny-synth", "lora-2b", "full-2b"} <= set(list_presets())
    tiny = load_config("tiny-synth")
    t = tiny.model.transformer
    assert (t["num_attention_heads"], t["attention_head_dim"], t["num_layers"], t["adaln_lora_dim"]) == (3, 64, 8, 64)
    assert (t["crossattn_proj_in_channels"], t["img_context_dim_in"], t["rope_type"]) == (128, 96, "equirect")
    assert (tiny.data.height, tiny.data.width, tiny.data.num_frames, tiny.data.fps) == (128, 256, 33, 16.0)
    assert tiny.model.depth_head_block is not None and tiny.model.descriptor_head_block is not None
    lora, full = load_config("lora-2b"), load_config("full-2b")
    assert lora.lora.enabled and lora.lora.rank == 32 and not full.lora.enabled
    assert full.distributed.strategy == "fsdp" and lora.model.gradient_checkpointing
    assert (lora.data.height, lora.data.num_frames) == (512, 93)


def test_overrides_are_typed_and_toml_values(tmp_path):
    cfg = load_config("tiny-synth", ["optim.lr=1e-4", "run.max_steps=7", "run.out_dir=runs/x",
                                     "data.train=[{path='a'}, {path='b', split='val'}]", "flow.per_frame=true"])
    assert cfg.optim.lr == 1e-4 and cfg.run.max_steps == 7 and cfg.run.out_dir == "runs/x" and cfg.flow.per_frame
    assert [s.path for s in cfg.data.train] == ["a", "b"] and cfg.data.train[1].split == "val"
    assert load_config("tiny-synth", ["optim.lr=1"]).optim.lr == 1.0  # int widened to float
    for bad, match in (("optim.lr=abc", "optim.lr: must be a float"), ("run.max_steps=1.5", "must be an integer"),
                       ("optim.lrr=1", "unknown key"), ("data.num_frames=32", "4k\\+1"),
                       ("data.width=300", "ERP size"), ("flow.per_frame=1", "true or false"),
                       ("model.depth_head_block=two", "integer"), ("optim.schedule=linear", "one of"),
                       ("samples.fov_range=[0, 90]", "fov_range"), ("nonsense", "key=value")):
        with pytest.raises(InputError, match=match):
            load_config("tiny-synth", [bad])
    path = tmp_path / "c.toml"
    path.write_text('[run]\nmax_steps = 3\n[model]\ntransformer = {num_layers = 1}\n[[data.train]]\npath = "d"\n')
    assert load_config(str(path)).run.max_steps == 3
    with pytest.raises(InputError, match="no such file and no such preset"):
        load_config("missing-preset")


def test_a_geometry_loss_needs_its_head():
    with pytest.raises(InputError, match="depth head"):
        load_config("tiny-synth", ["model.depth_head_block=none"])
    with pytest.raises(InputError, match="descriptor head"):
        load_config("tiny-synth", ["model.descriptor_head_block=null"])
    cfg = load_config("tiny-synth", ["model.descriptor_head_block=none", "loss.track_weight=0"])
    assert cfg.model.descriptor_head_block is None


def test_resume_comparison_ignores_free_keys():
    a = config_to_dict(load_config("tiny-synth"))
    b = config_to_dict(load_config("tiny-synth", ["run.max_steps=5", "validation.every=3", "logging.progress=false"]))
    assert config_difference(a, b) == []
    c = config_to_dict(load_config("tiny-synth", ["optim.lr=1e-5", "loss.depth_weight=0"]))
    assert config_difference(a, c) == ["loss.depth_weight", "optim.lr"]
