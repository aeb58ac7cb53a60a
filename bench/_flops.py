"""Arithmetic of one PanoWorld network evaluation, for the floors printed next to every generation figure.

``forward_flops`` counts the multiply-adds (× 2) of the matmuls and of the attentions of one transformer forward
(patch embedding, text / image projections, 28 blocks, output projection); elementwise work is left out. With
``shared_latent`` (batched CFG: one latent, two text contexts) the input embedding and block 0's self-attention run
for one row only, as ``PanoWorldTransformer`` does. A floor is ``matmul / matmul ceiling + attention / attention
ceiling`` with the ceilings measured on the same card in the same run (``_common.card_ceilings``).
"""

from __future__ import annotations

__all__ = ["forward_flops", "step_floor_s"]


def forward_flops(cfg: dict, latent: tuple[int, int, int], *, rows: int = 2, shared_latent: bool = True,
                  text_len: int = 512, image_len: int = 729, image_rows: int = 1) -> tuple[float, float]:
    """(matmul FLOP, attention FLOP) of one forward over ``rows`` contexts at latent (T, h, w).

    Args:
        cfg: ``PanoWorldTransformer`` config (``panoworld_2b_config()``).
        latent: latent frames, height, width (tokens = T * h/2 * w/2).
        rows: contexts per call (2 for batched CFG, 1 for one branch).
        shared_latent: the latent is batch 1 while the contexts are ``rows`` (batched CFG).
        text_len, image_len: text and SigLIP tokens; image_rows: rows that get the image term.
    """
    heads, head_dim, layers = cfg["num_attention_heads"], cfg["attention_head_dim"], cfg["num_layers"]
    d = heads * head_dim
    t, h, w = latent
    p_t, p_h, p_w = cfg["patch_size"]
    n = (t // p_t) * (h // p_h) * (w // p_w)
    ff = int(d * cfg["mlp_ratio"])
    ctx = cfg["text_embed_dim"]
    self_mm = 2 * n * d * d * 4  # q, k, v, out
    block_mm = self_mm + 2 * n * d * d * 2 + 2 * n * d * ff * 2 + 2 * text_len * ctx * d * 2
    image_mm = 2 * image_len * cfg["img_context_dim_out"] * d * 2 if cfg.get("img_context_dim_in") else 0
    self_attn = 4 * n * n * d
    cross_attn = 4 * n * text_len * d
    image_attn = 4 * n * image_len * d if image_mm else 0
    latent_rows = 1 if shared_latent else rows
    embed_channels = cfg["in_channels"] + cfg["reference_channels"] + (1 if cfg["concat_padding_mask"] else 0)
    outside = (2 * n * embed_channels * p_t * p_h * p_w * d * latent_rows
               + 2 * n * d * p_t * p_h * p_w * cfg["out_channels"] * rows
               + (2 * text_len * cfg["crossattn_proj_in_channels"] * cfg["encoder_hidden_states_channels"] * rows
                  if cfg["use_crossattn_projection"] else 0)
               + (2 * image_len * cfg["img_context_dim_in"] * cfg["img_context_dim_out"] * image_rows
                  if image_mm else 0))
    matmul = layers * (rows * block_mm + image_rows * image_mm) - (rows - latent_rows) * self_mm + outside
    attention = layers * (rows * (self_attn + cross_attn) + image_rows * image_attn) - (rows - latent_rows) * self_attn
    return float(matmul), float(attention)


def step_floor_s(flops: tuple[float, float], ceilings: dict, *, fp8: bool = False) -> float | None:
    """Seconds of ``flops`` at the measured ceilings (FP8 matmul ceiling for ~98 % of the matmuls with ``fp8``)."""
    matmul, attention = flops
    mm_rate = ceilings.get("matmul_fp8" if fp8 else "matmul_bf16")
    if not mm_rate or not ceilings.get("sdpa_bf16"):
        return None
    return matmul / (mm_rate * 1e12) + attention / (ceilings["sdpa_bf16"] * 1e12)
