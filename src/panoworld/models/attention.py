"""Attention of the PanoWorld DiT: diffusers ``Attention`` modules with a PanoWorld processor.

Self-attention: q, k, v projections, per-head RMSNorm on q and k, RoPE (rotate-half, float32) on q and k,
scaled-dot-product attention (scale 1/sqrt(head_dim), no mask), output projection.

Cross-attention (PanoWorld): one query ``q = RMSNorm(W_q x)`` serves two attentions, one over the projected text
tokens (``to_k``/``to_v``/``norm_k``) and, when image tokens are given, one over the projected SigLIP tokens
(``k_img``/``v_img``/``k_img_norm``). The two outputs are summed before ``to_out``:
``out = W_o (Attn(q, k_txt, v_txt) + Attn(q, k_img, v_img))``. Without image tokens the image term is absent;
image tokens of a smaller batch n than the queries give the image term to the first n rows only (batched CFG,
whose unconditional half has no image context).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention
from diffusers.models.normalization import RMSNorm
from torch import nn

__all__ = ["PanoWorldAttention", "PanoWorldAttnProcessor", "apply_rotary_emb_fp32"]


def apply_rotary_emb_fp32(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate-half RoPE in float32: ``x cos + rotate_half(x) sin``, cast back to ``x.dtype``.

    Args:
        x: (B, heads, L, D).
        cos, sin: (L, D) float32 tables (the D/2 angles duplicated), see ``PanoWorldRotaryPosEmbed``.
    """
    xf = x.float()
    x1, x2 = xf.chunk(2, dim=-1)
    rotated = torch.cat([-x2, x1], dim=-1)
    return (xf * cos + rotated * sin).to(x.dtype)


class PanoWorldAttention(Attention):
    """diffusers ``Attention`` plus the optional image key/value branch of the PanoWorld cross-attention.

    Args:
        query_dim: model width (2048).
        cross_attention_dim: text context width (1024) or None for self-attention.
        heads, dim_head: 16 x 128.
        image_context_dim: width of the projected image tokens (2048) or None for no image branch. Creates
            ``k_img``, ``v_img`` (Linear, no bias) and ``k_img_norm`` (per-head RMSNorm).
        eps: RMSNorm epsilon of q/k norms (1e-6, as in the reference).
    """

    def __init__(
        self,
        query_dim: int,
        cross_attention_dim: int | None,
        heads: int,
        dim_head: int,
        image_context_dim: int | None = None,
        eps: float = 1e-6,
    ) -> None:
        super().__init__(
            query_dim=query_dim,
            cross_attention_dim=cross_attention_dim,
            heads=heads,
            dim_head=dim_head,
            qk_norm="rms_norm",
            eps=eps,
            elementwise_affine=True,
            bias=False,
            out_bias=False,
            processor=SHARED_PROCESSOR,
        )
        self.has_image_branch = image_context_dim is not None
        if self.has_image_branch:
            self.k_img = nn.Linear(image_context_dim, self.inner_dim, bias=False)
            self.v_img = nn.Linear(image_context_dim, self.inner_dim, bias=False)
            self.k_img_norm = RMSNorm(dim_head, eps=eps, elementwise_affine=True)


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, L, heads*D) -> (B, heads, L, D)."""
    return x.unflatten(-1, (heads, -1)).transpose(1, 2)


class PanoWorldAttnProcessor:
    """Processor for ``PanoWorldAttention`` (self-attention with RoPE; text + optional image cross-attention).

    Call signature (through ``Attention.forward``): ``attn(hidden_states, encoder_hidden_states=None,
    image_hidden_states=None, rotary_emb=None)`` with hidden_states (B, L, D_model), encoder_hidden_states
    (B, L_txt, D_ctx) or None for self-attention, image_hidden_states (n, L_img, D_img) with n <= B (rows >= n get
    no image term) or None, and rotary_emb a (cos, sin) pair of (L, head_dim) float32 tables or None.
    Returns (B, L, D_model).
    """

    def self_attention(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """The self-attention's SDPA, (B, heads, L, D) -> (B, heads, L, D); ``panoworld.parallel`` overrides it to
        attend over a sequence split across processes."""
        return F.scaled_dot_product_attention(query, key, value)

    def __call__(
        self,
        attn: PanoWorldAttention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        image_hidden_states: torch.Tensor | None = None,
        rotary_emb: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        if attention_mask is not None:
            raise ValueError("the PanoWorld DiT attends to every token; attention masks are not supported")
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        query = attn.norm_q(_heads(attn.to_q(hidden_states), attn.heads))
        key = attn.norm_k(_heads(attn.to_k(context), attn.heads))
        value = _heads(attn.to_v(context), attn.heads)
        if rotary_emb is not None:
            cos, sin = rotary_emb
            query = apply_rotary_emb_fp32(query, cos, sin)
            key = apply_rotary_emb_fp32(key, cos, sin)
        value = value.to(query.dtype)
        attend = self.self_attention if encoder_hidden_states is None else F.scaled_dot_product_attention
        out = attend(query, key.to(query.dtype), value)
        if image_hidden_states is not None:
            if not getattr(attn, "has_image_branch", False):
                raise ValueError("image tokens were given but this model has no image cross-attention branch")
            n = image_hidden_states.shape[0]
            if n > query.shape[0]:
                raise ValueError(f"image tokens have batch {n}, more than the {query.shape[0]} query rows")
            k_img = attn.k_img_norm(_heads(attn.k_img(image_hidden_states), attn.heads)).to(query.dtype)
            v_img = _heads(attn.v_img(image_hidden_states), attn.heads).to(query.dtype)
            image = F.scaled_dot_product_attention(query[:n], k_img, v_img)
            out = out + image if n == query.shape[0] else torch.cat([out[:n] + image, out[n:]])
        out = out.transpose(1, 2).flatten(2)
        out = attn.to_out[0](out.to(attn.to_out[0].weight.dtype))
        return attn.to_out[1](out)


#: One stateless processor shared by every attention module: with a processor object per module, a regional
#: ``torch.compile`` of the blocks guards on each object and recompiles per block (28 blocks > dynamo's cache
#: limit of 8, so most blocks fell back to eager).
SHARED_PROCESSOR = PanoWorldAttnProcessor()

