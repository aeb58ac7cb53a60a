"""PanoWorldTransformer: shapes, gradients, reference semantics, diffusers parity, save/load round trips."""

from __future__ import annotations

import pytest
import torch
from diffusers.models.transformers.transformer_cosmos import CosmosTransformer3DModel

from panoworld.models import PanoWorldTransformer, tiny_config

from .conftest import make_inputs


def test_forward_shape_and_backward(tiny_model):
    inputs = make_inputs(tiny_model, batch=2)
    out = tiny_model(**inputs).sample
    assert out.shape == (2, 16, 3, 8, 16)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in tiny_model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_gradient_checkpointing_matches(tiny_model):
    inputs = make_inputs(tiny_model)
    tiny_model.train()
    ref = tiny_model(**inputs).sample
    ref.sum().backward()
    grads = {n: p.grad.clone() for n, p in tiny_model.named_parameters()}
    tiny_model.zero_grad()
    tiny_model.enable_gradient_checkpointing()
    assert tiny_model.gradient_checkpointing
    out = tiny_model(**inputs).sample
    out.sum().backward()
    torch.testing.assert_close(out, ref)
    for n, p in tiny_model.named_parameters():
        torch.testing.assert_close(p.grad, grads[n], msg=n)


def test_no_split_modules_and_tuple_output(tiny_model):
    assert tiny_model._no_split_modules == ["PanoWorldTransformerBlock"]
    inputs = make_inputs(tiny_model)
    out = tiny_model(**inputs, return_dict=False)
    assert isinstance(out, tuple) and out[0].shape == (1, 16, 3, 8, 16)


@torch.no_grad()
def test_repeated_still_image_tokens_equal_one_copy(tiny_model):
    inputs = make_inputs(tiny_model, image_tokens=6)
    one = tiny_model(**inputs).sample
    inputs["image_hidden_states"] = inputs["image_hidden_states"].repeat(1, 9, 1)
    many = tiny_model(**inputs).sample
    assert (one - many).abs().max().item() < 1e-5


@torch.no_grad()
def test_image_branch_changes_output_and_is_optional(tiny_model):
    inputs = make_inputs(tiny_model)
    with_img = tiny_model(**inputs).sample
    inputs.pop("image_hidden_states")
    without = tiny_model(**inputs).sample
    assert (with_img - without).abs().max() > 1e-4


@torch.no_grad()
def test_image_term_is_exactly_absent_when_v_img_is_zero(tiny_model):
    """The image attention output is added to the text output; with v_img = 0 it adds exactly nothing."""
    for block in tiny_model.transformer_blocks:
        block.attn2.v_img.weight.zero_()
    inputs = make_inputs(tiny_model)
    with_img = tiny_model(**inputs).sample
    inputs.pop("image_hidden_states")
    torch.testing.assert_close(with_img, tiny_model(**inputs).sample, rtol=0, atol=1e-6)


@torch.no_grad()
def test_per_frame_timestep_modulation(tiny_model):
    inputs = make_inputs(tiny_model)
    t = torch.full((1, 3), 0.7)
    inputs["timestep"] = t
    base = tiny_model(**inputs).sample
    inputs["timestep"] = torch.tensor([0.7])
    torch.testing.assert_close(tiny_model(**inputs).sample, base)  # (B,) broadcasts over frames
    inputs["timestep"] = torch.tensor([[0.7, 0.7, 1e-4]])
    changed = tiny_model(**inputs).sample
    assert not torch.allclose(changed, base)


@torch.no_grad()
def test_missing_reference_channels_are_zeros(tiny_model):
    inputs = make_inputs(tiny_model)
    inputs["hidden_states"][:, 16:] = 0
    full = tiny_model(**inputs).sample
    inputs["hidden_states"] = inputs["hidden_states"][:, :16]
    torch.testing.assert_close(tiny_model(**inputs).sample, full)


@torch.no_grad()
def test_padding_mask_is_resized_without_torchvision(tiny_model):
    inputs = make_inputs(tiny_model)
    pad = torch.zeros(1, 1, 64, 128)
    pad[..., :, 64:] = 1
    out_full = tiny_model(**inputs, padding_mask=pad).sample
    small = torch.zeros(1, 1, 8, 16)
    small[..., :, 8:] = 1
    torch.testing.assert_close(out_full, tiny_model(**inputs, padding_mask=small).sample)
    assert not torch.allclose(out_full, tiny_model(**inputs).sample)


@torch.no_grad()
def test_one_latent_with_two_contexts_equals_the_repeated_latent(tiny_model):
    inputs = make_inputs(tiny_model, batch=2)
    inputs.pop("image_hidden_states")
    for key in ("hidden_states", "timestep", "condition_mask"):
        inputs[key] = inputs[key][:1]
    shared = tiny_model(**inputs).sample
    repeated = tiny_model(**{**inputs, **{k: inputs[k].repeat(2, *[1] * (inputs[k].ndim - 1))
                                          for k in ("hidden_states", "timestep", "condition_mask")}}).sample
    assert shared.shape == (2, 16, 3, 8, 16)
    torch.testing.assert_close(shared, repeated, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(shared[0], shared[1])  # the two contexts still give two results


def test_latent_batch_must_be_one_or_the_context_batch(tiny_model):
    inputs = make_inputs(tiny_model, batch=3)
    inputs["hidden_states"] = inputs["hidden_states"][:2]
    with pytest.raises(ValueError, match="batch 2"):
        tiny_model(**inputs)


def test_bad_inputs_raise(tiny_model):
    inputs = make_inputs(tiny_model)
    inputs["hidden_states"] = inputs["hidden_states"][:, :20]
    with pytest.raises(ValueError, match="channels"):
        tiny_model(**inputs)
    base = PanoWorldTransformer(**tiny_config(reference_channels=0, img_context_dim_in=None))
    inputs = make_inputs(base)
    with pytest.raises(ValueError, match="image"):
        base(**inputs, image_hidden_states=torch.randn(1, 4, 16))


@pytest.mark.parametrize("rope_type", ["linear", "equirect", "periodic"])
def test_save_load_round_trip_bit_exact(tmp_path, rope_type):
    torch.manual_seed(1)
    model = PanoWorldTransformer(**tiny_config(rope_type=rope_type)).eval()
    model.save_pretrained(tmp_path)
    loaded = PanoWorldTransformer.from_pretrained(tmp_path).eval()
    assert loaded.config.rope_type == rope_type
    def plain(cfg):
        return {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in cfg.items() if not k.startswith("_")}

    assert plain(loaded.config) == plain(model.config)
    for (n, a), (m, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert n == m and torch.equal(a, b), n
    inputs = make_inputs(model)
    with torch.no_grad():
        assert torch.equal(model(**inputs).sample, loaded(**inputs).sample)


def _stock_from_ours(ours: PanoWorldTransformer) -> CosmosTransformer3DModel:
    """A diffusers CosmosTransformer3DModel with our weights (q_img := to_q, q_img_norm := norm_q)."""
    cfg = ours.config
    stock = CosmosTransformer3DModel(
        in_channels=cfg.in_channels + cfg.reference_channels + 1, out_channels=cfg.out_channels,
        num_attention_heads=cfg.num_attention_heads, attention_head_dim=cfg.attention_head_dim,
        num_layers=cfg.num_layers, mlp_ratio=cfg.mlp_ratio, text_embed_dim=cfg.text_embed_dim,
        adaln_lora_dim=cfg.adaln_lora_dim, patch_size=cfg.patch_size, rope_scale=cfg.rope_scale,
        concat_padding_mask=False, extra_pos_embed_type=None, use_crossattn_projection=True,
        crossattn_proj_in_channels=cfg.crossattn_proj_in_channels,
        encoder_hidden_states_channels=cfg.encoder_hidden_states_channels,
        img_context_dim_in=cfg.img_context_dim_in, img_context_dim_out=cfg.img_context_dim_out,
    )  # fmt: skip
    state = dict(ours.state_dict())
    if cfg.img_context_dim_in:
        for i in range(cfg.num_layers):
            state[f"transformer_blocks.{i}.attn2.q_img.weight"] = state[f"transformer_blocks.{i}.attn2.to_q.weight"]
            state[f"transformer_blocks.{i}.attn2.q_img_norm.weight"] = state[f"transformer_blocks.{i}.attn2.norm_q.weight"]
    stock.load_state_dict(state, strict=True)
    for module in stock.modules():  # the reference's q/k RMSNorm epsilon is 1e-6 (diffusers uses 1e-5)
        if type(module).__name__ == "RMSNorm" and module.weight is not None and module.weight.numel() == cfg.attention_head_dim:
            module.eps = 1e-6
    return stock.eval()


@pytest.mark.parametrize("pano", [False, True])
@torch.no_grad()
def test_matches_stock_diffusers_cosmos(pano):
    """With the linear RoPE, our forward equals diffusers' CosmosTransformer3DModel on the same weights."""
    torch.manual_seed(2)
    cfg = tiny_config(rope_type="linear") if pano else tiny_config(reference_channels=0, img_context_dim_in=None,
                                                                    rope_type="linear")
    ours = PanoWorldTransformer(**cfg).eval()
    stock = _stock_from_ours(ours)
    inputs = make_inputs(ours)
    ref = ours(**inputs).sample
    b, _, t, h, w = inputs["hidden_states"].shape
    x = torch.cat([inputs["hidden_states"], inputs["condition_mask"], torch.zeros(b, 1, t, h, w)], dim=1)
    text = inputs["encoder_hidden_states"]
    ctx = (text, inputs["image_hidden_states"]) if pano else text
    out = stock(x, inputs["timestep"].view(b, 1, t, 1, 1), ctx).sample
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


@torch.no_grad()
def test_bf16_weights_keep_fp32_modulation(tiny_model):
    """bf16 weights: output in bf16, AdaLN/timestep embedding in float32, result close to the float32 model."""
    inputs = make_inputs(tiny_model)
    ref = tiny_model(**inputs).sample
    temb, embedded = tiny_model.to(torch.bfloat16)._embed_timestep(inputs["timestep"], 1, 3)
    assert temb.dtype == embedded.dtype == torch.float32
    shift, scale, gate = tiny_model.transformer_blocks[0].norm1.modulation(embedded, temb)
    assert shift.dtype == scale.dtype == gate.dtype == torch.float32
    out = tiny_model(**inputs).sample
    assert out.dtype == torch.bfloat16
    assert ((out.float() - ref).norm() / ref.norm()).item() < 0.05
