"""Fixtures for the model tests: tiny random PanoWorld transformers and inputs (CPU, float32)."""

from __future__ import annotations

import pytest
import torch

from panoworld.models import PanoWorldTransformer, tiny_config


def make_inputs(model: PanoWorldTransformer, *, batch=1, frames=3, height=8, width=16, text_len=5, image_tokens=4,
                seed=0) -> dict:
    """Random forward() keyword arguments matching ``model``'s config."""
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    channels = cfg.out_channels + cfg.reference_channels
    kwargs = dict(
        hidden_states=torch.randn(batch, channels, frames, height, width, generator=g),
        timestep=torch.rand(batch, frames, generator=g),
        encoder_hidden_states=torch.randn(batch, text_len, cfg.crossattn_proj_in_channels, generator=g),
        condition_mask=(torch.rand(batch, 1, frames, height, width, generator=g) > 0.5).float(),
    )
    if cfg.img_context_dim_in:
        kwargs["image_hidden_states"] = torch.randn(batch, image_tokens, cfg.img_context_dim_in, generator=g)
    return kwargs


@pytest.fixture
def tiny_model() -> PanoWorldTransformer:
    torch.manual_seed(0)
    return PanoWorldTransformer(**tiny_config()).eval()


def reference_key_shapes(*, hidden=2048, heads=16, layers=28, mlp=8192, text_in=100352, text_dim=1024, lora=256,
                         image_in=1152, in_cols=136, out_cols=64, image=True, buffers=True) -> dict:
    """The original ``net.*`` key -> shape list, written out from reference §2.2 (independent of our mapping)."""
    head = hidden // heads
    keys = {
        "net.x_embedder.proj.1.weight": (hidden, in_cols),
        "net.t_embedder.1.linear_1.weight": (hidden, hidden),
        "net.t_embedder.1.linear_2.weight": (3 * hidden, hidden),
        "net.t_embedding_norm.weight": (hidden,),
        "net.crossattn_proj.0.weight": (text_dim, text_in),
        "net.crossattn_proj.0.bias": (text_dim,),
        "net.final_layer.linear.weight": (out_cols, hidden),
        "net.final_layer.adaln_modulation.1.weight": (lora, hidden),
        "net.final_layer.adaln_modulation.2.weight": (2 * hidden, lora),
    }
    if image:
        keys["net.img_context_proj.0.weight"] = (hidden, image_in)
        keys["net.img_context_proj.0.bias"] = (hidden,)
    for i in range(layers):
        b = f"net.blocks.{i}."
        for p in ("q_proj", "k_proj", "v_proj", "output_proj"):
            keys[b + f"self_attn.{p}.weight"] = (hidden, hidden)
        keys[b + "cross_attn.q_proj.weight"] = (hidden, hidden)
        keys[b + "cross_attn.k_proj.weight"] = (hidden, text_dim)
        keys[b + "cross_attn.v_proj.weight"] = (hidden, text_dim)
        keys[b + "cross_attn.output_proj.weight"] = (hidden, hidden)
        for a in ("self_attn", "cross_attn"):
            keys[b + f"{a}.q_norm.weight"] = (head,)
            keys[b + f"{a}.k_norm.weight"] = (head,)
        if image:
            keys[b + "cross_attn.k_img.weight"] = (hidden, hidden)
            keys[b + "cross_attn.v_img.weight"] = (hidden, hidden)
            keys[b + "cross_attn.k_img_norm.weight"] = (head,)
        keys[b + "mlp.layer1.weight"] = (mlp, hidden)
        keys[b + "mlp.layer2.weight"] = (hidden, mlp)
        for a in ("self_attn", "cross_attn", "mlp"):
            keys[b + f"adaln_modulation_{a}.1.weight"] = (lora, hidden)
            keys[b + f"adaln_modulation_{a}.2.weight"] = (3 * hidden, lora)
    if buffers:
        keys.update({
            "net.pos_embedder.seq": (128,), "net.pos_embedder.dim_spatial_range": (21,),
            "net.pos_embedder.dim_temporal_range": (22,), "net.accum_video_sample_counter": (),
            "net.accum_image_sample_counter": (), "net.accum_iteration": (), "net.accum_train_in_hours": (),
        })  # fmt: skip
    return keys


#: Tiny sizes matching ``tiny_config()`` (hidden 48 = 2 x 24, 2 layers, text 64 -> 32, image 16 -> 48).
TINY = dict(hidden=48, heads=2, layers=2, mlp=192, text_in=64, text_dim=32, lora=8, image_in=16)


def synthetic_checkpoint(*, base=False, dtype=torch.bfloat16, seed=0, **sizes) -> dict:
    """Random original-format state dict with the reference §2.2 keys (tiny sizes by default)."""
    dims = {**TINY, **sizes}
    if base:
        dims.update(image=False, in_cols=72)
    shapes = reference_key_shapes(**dims)
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in shapes.items():
        if "pos_embedder" in key or "accum_" in key:
            out[key] = torch.zeros(shape)
        else:
            out[key] = torch.randn(shape, generator=g).to(dtype)
    return out
