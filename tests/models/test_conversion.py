"""Strict conversion of original ``net.*`` checkpoints: key list, bit-identity, wrappers, errors, widening."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from panoworld.errors import MissingComponentError
from panoworld.models import tiny_config
from panoworld.models.conversion import (
    ConversionError,
    convert_state_dict,
    model_from_state_dict,
    original_key_shapes,
    target_key,
)
from panoworld.models.loading import convert_checkpoint, load_transformer
from panoworld.models.transformer import cosmos_predict25_2b_config, panoworld_2b_config

from .conftest import make_inputs, reference_key_shapes, synthetic_checkpoint


def _meta(shapes: dict) -> dict:
    return {k: torch.empty(s, device="meta", dtype=torch.bfloat16) for k, s in shapes.items()}


def test_full_size_key_list_is_reference_list():
    ours = original_key_shapes(panoworld_2b_config())
    ref = reference_key_shapes(buffers=False)
    assert ours == ref
    assert original_key_shapes(cosmos_predict25_2b_config()) == reference_key_shapes(image=False, in_cols=72,
                                                                                       buffers=False)


def test_full_size_conversion_on_meta_tensors():
    """The full 2.3 B key->shape list converts strictly (meta tensors: nothing is allocated)."""
    config, state, report = convert_state_dict(_meta(reference_key_shapes()))
    assert report.source_variant == "panoworld" and report.mapped == len(state)
    assert len(report.dropped) == 7
    assert config == panoworld_2b_config()
    model = model_from_state_dict(config, state)
    params = sum(p.numel() for p in model.parameters())
    assert 2.25e9 < params < 2.35e9
    base_config, _, base_report = convert_state_dict(_meta(reference_key_shapes(image=False, in_cols=72)))
    assert base_report.source_variant == "base" and base_config == cosmos_predict25_2b_config()


def _check_bit_identical(source: dict, folder):
    converted = {}
    for f in folder.glob("*.safetensors"):
        converted.update(load_file(str(f)))
    mapped = 0
    for key, tensor in source.items():
        name = target_key(key.removeprefix("net."))
        if name is None:
            assert "pos_embedder" in key or "accum_" in key
            continue
        assert converted[name].dtype == tensor.dtype and torch.equal(converted[name], tensor), key
        mapped += 1
    assert mapped == len(converted)


@pytest.mark.parametrize("wrap", ["net", "model", "state_dict", "bare", "ema"])
def test_tiny_conversion_is_strict_and_bit_identical(tmp_path, wrap):
    sd = synthetic_checkpoint()
    obj = {
        "net": sd,
        "model": {"model": sd},
        "state_dict": {"state_dict": sd, "iteration": 3},
        "bare": {k.removeprefix("net."): v for k, v in sd.items()},
        "ema": {**{"net_ema." + k[4:]: v for k, v in sd.items()}, **{k: torch.zeros_like(v) for k, v in sd.items()}},
    }[wrap]
    src = tmp_path / "model_ema_bf16.pt"
    torch.save(obj, src)
    report = convert_checkpoint(src, tmp_path / "out")
    assert report.source_variant == report.target_variant == "panoworld"
    _check_bit_identical(sd, tmp_path / "out")
    assert (tmp_path / "out" / "config.json").is_file() and (tmp_path / "out" / "conversion.json").is_file()

    from_folder = load_transformer(tmp_path / "out", dtype=torch.float32)
    from_pt = load_transformer(tmp_path, dtype=torch.float32)  # folder holding model_ema_bf16.pt
    assert from_folder.config.rope_type == "equirect" and from_folder.config.reference_channels == 16
    inputs = make_inputs(from_folder)
    with torch.no_grad():
        assert torch.equal(from_folder(**inputs).sample, from_pt(**inputs).sample)


def test_converted_tiny_matches_tiny_config():
    config, _, _ = convert_state_dict(synthetic_checkpoint())
    assert config == tiny_config() | {"img_context_num_tokens": 729}


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda sd: sd.update({"net.blocks.0.mystery.weight": torch.zeros(3)}), "net.blocks.0.mystery.weight"),
        (lambda sd: sd.pop("net.blocks.1.cross_attn.v_proj.weight"), "net.blocks.1.cross_attn.v_proj.weight"),
        (lambda sd: sd.update({"net.blocks.0.mlp.layer2.weight": torch.zeros(48, 191)}), "net.blocks.0.mlp.layer2"),
        (lambda sd: sd.pop("net.blocks.1.cross_attn.k_img_norm.weight"), "net.blocks.1.cross_attn.k_img_norm.weight"),
    ],
    ids=["unknown", "missing", "shape", "missing-image-norm"],
)
def test_strictness_names_the_key(edit, needle):
    sd = synthetic_checkpoint()
    edit(sd)
    with pytest.raises(ConversionError, match=needle.replace(".", r"\.")):
        convert_state_dict(sd)


def test_not_a_cosmos_checkpoint():
    with pytest.raises(ConversionError, match="missing keys"):
        convert_state_dict({"net.foo": torch.zeros(1)})


@torch.no_grad()
def test_base_checkpoint_widened_to_panoworld_computes_the_base_model():
    sd = synthetic_checkpoint(base=True, dtype=torch.float32)
    base_cfg, base_state, report = convert_state_dict(sd)
    assert report.source_variant == "base" and base_cfg["reference_channels"] == 0
    assert base_cfg["img_context_dim_in"] is None and base_cfg["rope_type"] == "linear"
    base = model_from_state_dict(base_cfg, base_state)

    cfg, state, report = convert_state_dict(sd, variant="panoworld", rope_type="linear")
    assert report.target_variant == "panoworld" and cfg["reference_channels"] == 16
    pano = model_from_state_dict(cfg, state)
    cols = state["patch_embed.proj.weight"]
    assert cols.shape[1] == 136 and torch.equal(cols[:, 64:128], torch.zeros(48, 64))
    torch.testing.assert_close(torch.cat([cols[:, :64], cols[:, 128:]], 1), base_state["patch_embed.proj.weight"])

    inputs = make_inputs(pano)  # random reference latent and image tokens
    expected = base(**{k: v for k, v in inputs.items() if k != "image_hidden_states"} |
                    {"hidden_states": inputs["hidden_states"][:, :16]}).sample
    torch.testing.assert_close(pano(**inputs).sample, expected, rtol=0, atol=1e-6)
    with pytest.raises(ConversionError, match="drop"):
        convert_state_dict(synthetic_checkpoint(), variant="base")


def test_load_transformer_missing_names_file_and_place(tmp_path):
    with pytest.raises(MissingComponentError, match=r"model_ema_bf16\.pt.*\$PANOWORLD_WEIGHTS/panoworld"):
        load_transformer(tmp_path / "nope")
    with pytest.raises(MissingComponentError, match="model_ema_bf16.pt"):
        load_transformer(tmp_path)  # an empty folder


def test_load_transformer_rope_override(tmp_path):
    torch.save(synthetic_checkpoint(), tmp_path / "model_ema_bf16.pt")
    convert_checkpoint(tmp_path / "model_ema_bf16.pt", tmp_path / "conv", rope_type="periodic")
    assert load_transformer(tmp_path / "conv").config.rope_type == "periodic"
    assert load_transformer(tmp_path / "conv", rope_type="linear").config.rope_type == "linear"


def test_load_diffusers_cosmos_predict25_folder(tmp_path):
    """A diffusers CosmosTransformer3DModel (Predict2.5 layout) folder loads as the base variant."""
    from diffusers.models.transformers.transformer_cosmos import CosmosTransformer3DModel

    cfg = tiny_config(reference_channels=0, img_context_dim_in=None, rope_type="linear")
    stock = CosmosTransformer3DModel(
        in_channels=17, out_channels=16, num_attention_heads=2, attention_head_dim=24, num_layers=2,
        text_embed_dim=32, adaln_lora_dim=8, rope_scale=(1.0, 3.0, 3.0), concat_padding_mask=True,
        extra_pos_embed_type=None, use_crossattn_projection=True, crossattn_proj_in_channels=64,
        encoder_hidden_states_channels=32,
    )  # fmt: skip
    stock.save_pretrained(tmp_path / "transformer")
    model = load_transformer(tmp_path)
    assert model.config.reference_channels == 0 and model.config.rope_type == "linear"
    for key, value in stock.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert model.config.num_layers == cfg["num_layers"]


def test_unloadable_files_are_one_line_errors(tmp_path):
    from panoworld.models.conversion import load_original_checkpoint

    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConversionError, match="junk.pt"):
        load_original_checkpoint(tmp_path / "junk.pt")
    torch.save(synthetic_checkpoint(), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert "net.x_embedder.proj.1.weight" in load_original_checkpoint(tmp_path / "legacy.pt")
