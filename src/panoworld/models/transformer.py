"""``PanoWorldTransformer``: the Cosmos-Predict2.5 DiT with PanoWorld's reference channels, image branch and RoPE.

Built from diffusers' Cosmos building blocks (``CosmosPatchEmbed``, ``CosmosEmbedding``, ``CosmosAdaLayerNormZero``,
``CosmosAdaLayerNorm``, ``Attention``, ``FeedForward``) with the parameter names of diffusers'
``CosmosTransformer3DModel``, so a diffusers Predict2.5 transformer folder loads as the base variant.

Forward, operation by operation (reference §2.1; shapes for one 512x1024 93-frame PanoWorld call):

1. input ``[x_t (16) | ref (16) | cond_mask (1) | pad_mask (1)]`` -> (B, 34, T, h, w), cast to the weight dtype;
2. RoPE tables for the (T, h/2, w/2) token grid, float32 (``rope_type`` linear / equirect / periodic);
3. patchify ``b c t (h m) (w n) -> b (t h w) (c m n)`` and ``Linear(136 -> 2048, no bias)``;
4. timestep (B,) or (B, T) -> sinusoid ``[cos, sin](t 10000^(-i/1024))`` -> ``t_embedder`` (the shared AdaLN-LoRA
   term, B x T x 6144) and ``RMSNorm`` (the block conditioning vector, B x T x 2048), all in float32;
5. text ``Linear(100352 -> 1024) + GELU``; image tokens ``Linear(1152 -> 2048) + GELU``;
6. 28 blocks, each: ``x += g * SA(LN(x)(1 + s) + b)`` with RoPE; ``x += g * CA(LN(x)(1 + s) + b, text, image)``;
   ``x += g * MLP(LN(x)(1 + s) + b)``; (shift, scale, gate) per latent frame, computed in float32;
7. final ``LN(x)(1 + s) + b -> Linear(2048 -> 64)``, unpatchify ``B T H W (p1 p2 t C) -> B C (T t) (H p1) (W p2)``;
8. optional geometry heads (``models.heads``, off by default) on the output of a chosen block: log range and
   track descriptors per latent cell, returned only with ``return_heads=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import FeedForward
from diffusers.models.modeling_outputs import Transformer2DModelOutput
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from diffusers.models.transformers.transformer_cosmos import (
    CosmosAdaLayerNorm,
    CosmosAdaLayerNormZero,
    CosmosEmbedding,
    CosmosPatchEmbed,
)
from torch import nn

from .attention import PanoWorldAttention
from .heads import DepthHead, DescriptorHead, unpatchify
from .rope import ROPE_TYPES, PanoWorldRotaryPosEmbed

__all__ = [
    "PanoWorldTransformer",
    "PanoWorldTransformerOutput",
    "PanoWorldTransformerBlock",
    "tiny_config",
    "panoworld_2b_config",
    "cosmos_predict25_2b_config",
]

#: Graphs dynamo may keep for the shared block ``forward``: 2 batch sizes x FP8 off / on x gradients off / on need
#: 12 (switching a layer to FP8 changes its class once), inference mode adds more; see ``compile_blocks``.
BLOCK_RECOMPILE_LIMIT = 32


def raise_recompile_limit(limit: int) -> None:
    """Let dynamo keep at least ``limit`` graphs per code object (``recompile_limit``; ``cache_size_limit`` on
    older torch). Never lowers a larger setting."""
    import torch._dynamo.config as dynamo_config

    name = "recompile_limit" if hasattr(dynamo_config, "recompile_limit") else "cache_size_limit"
    if getattr(dynamo_config, name) < limit:
        setattr(dynamo_config, name, limit)


def _modulate(norm: nn.LayerNorm, x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``LN(x) (1 + scale) + shift`` per latent frame; x (B, T*S, D), shift/scale (B, T, D) float32 -> float32."""
    num_frames = shift.shape[1]
    xn = norm(x).unflatten(1, (num_frames, -1))
    out = torch.addcmul(shift[:, :, None, :], xn, 1 + scale[:, :, None, :])  # promotes to float32
    return out.flatten(1, 2)


def _gated(gate: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``gate * out`` with gate (B, T, D) broadcast over the tokens of each latent frame, in ``out.dtype``."""
    num_frames = gate.shape[1]
    return (gate.to(out.dtype)[:, :, None, :] * out.unflatten(1, (num_frames, -1))).flatten(1, 2)


@dataclass
class PanoWorldTransformerOutput(BaseOutput):
    """``forward(..., return_heads=True)`` output.

    Attributes:
        sample: (B, 16, T, h, w) predicted velocity.
        depth: (B, 1, T, h, w) float32 natural-log range (metres) per latent cell, or None without a depth head.
        descriptors: (B, C, T, h, w) float32 track descriptors, or None without a descriptor head.
    """

    sample: torch.Tensor
    depth: torch.Tensor | None = None
    descriptors: torch.Tensor | None = None


class PanoWorldEmbedding(CosmosEmbedding):
    """Timestep embedding computed in float32 (the reference's "wan fp32 strategy").

    ``forward(timestep (N,)) -> (temb (N, 3D), embedded_timestep (N, D))``, both float32, whatever the weight dtype.
    """

    def forward(self, timestep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        proj = self.time_proj(timestep.float()).float()
        lin = self.t_embedder
        temb = F.linear(F.silu(F.linear(proj, lin.linear_1.weight.float())), lin.linear_2.weight.float())
        variance = proj.pow(2).mean(-1, keepdim=True)
        embedded = proj * torch.rsqrt(variance + self.norm.eps) * self.norm.weight.float()
        return temb, embedded


class PanoWorldAdaLayerNormZero(CosmosAdaLayerNormZero):
    """AdaLN-LoRA modulation (shift, scale, gate) computed in float32; see ``CosmosAdaLayerNormZero``."""

    def modulation(self, embedded_timestep: torch.Tensor, temb: torch.Tensor | None):
        """(B, T, D) float32 conditioning -> three (B, T, D) float32 tensors (shift, scale, gate)."""
        e = F.silu(embedded_timestep.float())
        if isinstance(self.linear_1, nn.Linear):
            e = F.linear(e, self.linear_1.weight.float())
        e = F.linear(e, self.linear_2.weight.float())
        if temb is not None:
            e = e + temb.float()
        return e.chunk(3, dim=-1)

    def forward(self, hidden_states, embedded_timestep, temb=None):
        shift, scale, gate = self.modulation(embedded_timestep, temb)
        return _modulate(self.norm, hidden_states, shift, scale), gate


class PanoWorldAdaLayerNorm(CosmosAdaLayerNorm):
    """Final-layer AdaLN (shift, scale) computed in float32; see ``CosmosAdaLayerNorm``."""

    def forward(self, hidden_states, embedded_timestep, temb=None):
        e = F.linear(F.silu(embedded_timestep.float()), self.linear_1.weight.float())
        e = F.linear(e, self.linear_2.weight.float())
        if temb is not None:
            e = e + temb[..., : 2 * self.embedding_dim].float()
        shift, scale = e.chunk(2, dim=-1)
        return _modulate(self.norm, hidden_states, shift, scale)


class PanoWorldTransformerBlock(nn.Module):
    """One DiT block: AdaLN-modulated self-attention (RoPE), cross-attention (text [+ image]) and GELU MLP."""

    def __init__(
        self,
        num_attention_heads: int,
        attention_head_dim: int,
        cross_attention_dim: int,
        mlp_ratio: float = 4.0,
        adaln_lora_dim: int = 256,
        image_context_dim: int | None = None,
    ) -> None:
        super().__init__()
        hidden_size = num_attention_heads * attention_head_dim
        self.norm1 = PanoWorldAdaLayerNormZero(in_features=hidden_size, hidden_features=adaln_lora_dim)
        self.attn1 = PanoWorldAttention(hidden_size, None, num_attention_heads, attention_head_dim)
        self.norm2 = PanoWorldAdaLayerNormZero(in_features=hidden_size, hidden_features=adaln_lora_dim)
        self.attn2 = PanoWorldAttention(
            hidden_size, cross_attention_dim, num_attention_heads, attention_head_dim, image_context_dim
        )
        self.norm3 = PanoWorldAdaLayerNormZero(in_features=hidden_size, hidden_features=adaln_lora_dim)
        self.ff = FeedForward(hidden_size, mult=mlp_ratio, activation_fn="gelu", bias=False)

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        image_hidden_states: torch.Tensor | None,
        embedded_timestep: torch.Tensor,
        temb: torch.Tensor | None,
        rope_cos: torch.Tensor | None,
        rope_sin: torch.Tensor | None,
    ) -> torch.Tensor:
        """hidden_states (B, T*S, D); embedded_timestep / temb (B, T, D) / (B, T, 3D) float32; RoPE (T*S, head_dim).

        hidden_states (and the timestep embeddings) may have batch 1 while encoder_hidden_states has batch B
        (one latent, B text contexts: CFG): the self-attention then runs once and its result is shared by the B
        cross-attentions. The output has batch B.
        """
        dtype = self.attn1.to_q.weight.dtype
        rope = (rope_cos, rope_sin) if rope_cos is not None else None
        norm_x, gate = self.norm1(hidden_states, embedded_timestep, temb)
        out = self.attn1(norm_x.to(dtype), rotary_emb=rope)
        hidden_states = hidden_states + _gated(gate, out.to(hidden_states.dtype))
        if hidden_states.shape[0] != encoder_hidden_states.shape[0]:
            hidden_states = hidden_states.expand(encoder_hidden_states.shape[0], -1, -1)
        norm_x, gate = self.norm2(hidden_states, embedded_timestep, temb)
        out = self.attn2(
            norm_x.to(dtype), encoder_hidden_states=encoder_hidden_states, image_hidden_states=image_hidden_states
        )
        hidden_states = hidden_states + _gated(gate, out.to(hidden_states.dtype))
        norm_x, gate = self.norm3(hidden_states, embedded_timestep, temb)
        out = self.ff(norm_x.to(dtype))
        return hidden_states + _gated(gate, out.to(hidden_states.dtype))


class PanoWorldTransformer(ModelMixin, ConfigMixin):
    r"""The PanoWorld / Cosmos-Predict2.5 video DiT (diffusers conventions).

    Config (diffusers ``CosmosTransformer3DModel`` Predict2.5 fields plus three):
        in_channels: latent channels + 1 condition-mask channel (17); the padding-mask channel is added inside.
        out_channels: latent channels (16).
        num_attention_heads, attention_head_dim, num_layers, mlp_ratio, adaln_lora_dim: 16, 128, 28, 4.0, 256.
        text_embed_dim: cross-attention context width after ``crossattn_proj`` (1024).
        max_size: nominal maximum latent size (T, H, W) of the original model, kept for reference only: the RoPE
            variants here accept any grid.
        patch_size: (1, 2, 2). rope_scale: NTK extrapolation ratios (t, h, w) = (1, 3, 3).
        concat_padding_mask: append the padding-mask channel (True).
        use_crossattn_projection / crossattn_proj_in_channels / encoder_hidden_states_channels: text projection
            ``Linear(100352 -> 1024) + GELU``.
        img_context_dim_in: SigLIP token width (1152) or None (no image branch).
        img_context_num_tokens: nominal image-token count (729), informational.
        img_context_dim_out: projected image-token width (2048 = model width).
        reference_channels: 0 (base Cosmos-Predict2.5) or 16 (PanoWorld reference latent).
        rope_type: "linear", "equirect" or "periodic" (``panoworld.models.rope``).
        rope_fps_modulation: scale temporal RoPE positions by 24/fps when fps is given (off for Predict2.5).
        depth_head_block: index of the block whose output feeds the depth head (negative counts from the end),
            or None (no head: the released checkpoint's layout).
        descriptor_head_block: the same for the track-descriptor head.
        head_hidden_dim: hidden width of both heads.
        descriptor_dim: descriptor channels per latent cell.
    """

    _supports_gradient_checkpointing = True
    #: ``forward`` accepts one latent (batch 1) with a batch of B text contexts (see ``forward``).
    supports_shared_latent_batch = True
    #: ``forward`` accepts image tokens of a batch n < B: only the first n rows get the image term (see ``forward``).
    supports_partial_image_batch = True
    _skip_layerwise_casting_patterns = ["patch_embed", "proj_out", "norm", "depth_head", "descriptor_head"]
    _no_split_modules = ["PanoWorldTransformerBlock"]
    #: Token sharding across processes (``panoworld.parallel.ContextParallel``): ``split`` the tokens after the patch
    #: embedding, ``gather`` them before the output projection; None runs the whole sequence here.
    context_parallel = None

    @register_to_config
    def __init__(
        self,
        in_channels: int = 17,
        out_channels: int = 16,
        num_attention_heads: int = 16,
        attention_head_dim: int = 128,
        num_layers: int = 28,
        mlp_ratio: float = 4.0,
        text_embed_dim: int = 1024,
        adaln_lora_dim: int = 256,
        max_size: tuple[int, int, int] = (128, 240, 240),
        patch_size: tuple[int, int, int] = (1, 2, 2),
        rope_scale: tuple[float, float, float] = (1.0, 3.0, 3.0),
        concat_padding_mask: bool = True,
        use_crossattn_projection: bool = True,
        crossattn_proj_in_channels: int = 100352,
        encoder_hidden_states_channels: int = 1024,
        img_context_dim_in: int | None = 1152,
        img_context_num_tokens: int = 729,
        img_context_dim_out: int = 2048,
        reference_channels: int = 16,
        rope_type: str = "equirect",
        rope_fps_modulation: bool = False,
        depth_head_block: int | None = None,
        descriptor_head_block: int | None = None,
        head_hidden_dim: int = 256,
        descriptor_dim: int = 32,
    ) -> None:
        super().__init__()
        if rope_type not in ROPE_TYPES:
            raise ValueError(f"rope_type must be one of {ROPE_TYPES}, got {rope_type!r}")
        if in_channels - out_channels not in (0, 1):
            raise ValueError("in_channels must be out_channels (+1 for the condition-mask channel)")
        hidden_size = num_attention_heads * attention_head_dim
        image_dim = img_context_dim_out if img_context_dim_in else None
        embed_channels = in_channels + reference_channels + (1 if concat_padding_mask else 0)
        self.patch_embed = CosmosPatchEmbed(embed_channels, hidden_size, tuple(patch_size), bias=False)
        self.rope = PanoWorldRotaryPosEmbed(
            attention_head_dim, tuple(patch_size), tuple(rope_scale), rope_type, fps_modulation=rope_fps_modulation
        )
        self.time_embed = PanoWorldEmbedding(hidden_size, hidden_size)
        self.transformer_blocks = nn.ModuleList(
            [
                PanoWorldTransformerBlock(
                    num_attention_heads, attention_head_dim, text_embed_dim, mlp_ratio, adaln_lora_dim, image_dim
                )
                for _ in range(num_layers)
            ]
        )
        self.norm_out = PanoWorldAdaLayerNorm(hidden_size, adaln_lora_dim)
        self.proj_out = nn.Linear(hidden_size, patch_size[0] * patch_size[1] * patch_size[2] * out_channels, bias=False)
        if use_crossattn_projection:
            self.crossattn_proj = nn.Sequential(
                nn.Linear(crossattn_proj_in_channels, encoder_hidden_states_channels, bias=True), nn.GELU()
            )
        if img_context_dim_in:
            self.img_context_proj = nn.Sequential(
                nn.Linear(img_context_dim_in, img_context_dim_out, bias=True), nn.GELU()
            )
        self._head_blocks = {}
        for name, block in (("depth_head", depth_head_block), ("descriptor_head", descriptor_head_block)):
            if block is not None:
                if not -num_layers <= int(block) < num_layers:
                    raise ValueError(f"{name}_block must index one of the {num_layers} blocks, got {block}")
                self._head_blocks[name] = int(block) % num_layers
        if depth_head_block is not None:
            self.depth_head = DepthHead(hidden_size, head_hidden_dim, tuple(patch_size))
        if descriptor_head_block is not None:
            self.descriptor_head = DescriptorHead(hidden_size, head_hidden_dim, descriptor_dim, tuple(patch_size))
        self.gradient_checkpointing = False

    @property
    def has_depth_head(self) -> bool:
        """True when the model predicts log range (``forward(..., return_heads=True).depth``)."""
        return "depth_head" in self._head_blocks

    def compile_blocks(self, **kwargs) -> "PanoWorldTransformer":
        """Regional ``torch.compile`` of every transformer block's ``forward``, static shapes (``kwargs`` go to
        ``torch.compile``). All blocks share one attention-processor object, so one graph serves the 28
        blocks; block 0 gets a second one when it runs at batch 1 (shared-latent CFG). Only ``forward`` is
        compiled, not the module call: hooks around a block (group offloading, the step cache) run eagerly
        outside the graph, so they cannot make it recompile per block.

        Legitimate variants of that one code object: batch 1 / 2, FP8 matmuls off / on, gradients off / on
        (training); a process that uses them all (a benchmark, a notebook) needs more than dynamo's default of 8
        graphs, past which every block silently falls back to eager. The limit is raised to
        :data:`BLOCK_RECOMPILE_LIMIT` (never lowered)."""
        kwargs.setdefault("dynamic", False)
        raise_recompile_limit(BLOCK_RECOMPILE_LIMIT)
        for block in self.transformer_blocks:
            block.forward = torch.compile(block.forward, **kwargs)
        return self

    # ------------------------------------------------------------------ inputs
    def _assemble_input(self, hidden_states, condition_mask, padding_mask) -> torch.Tensor:
        """[x_t | ref | cond_mask | pad_mask] -> (B, C_embed, T, h, w) in the weight dtype."""
        cfg = self.config
        batch, channels, frames, height, width = hidden_states.shape
        latent = cfg.out_channels
        expected = latent + cfg.reference_channels
        parts = [hidden_states]
        if channels == latent and cfg.reference_channels:
            parts.append(hidden_states.new_zeros(batch, cfg.reference_channels, frames, height, width))
        elif channels != expected:
            raise ValueError(f"hidden_states must have {expected} channels ([x_t | ref]), got {channels}")
        if cfg.in_channels > cfg.out_channels:
            if condition_mask is None:
                condition_mask = hidden_states.new_zeros(batch, 1, frames, height, width)
            parts.append(condition_mask.to(hidden_states.dtype).expand(batch, 1, frames, height, width))
        if cfg.concat_padding_mask:
            if padding_mask is None:
                padding_mask = hidden_states.new_zeros(batch, 1, height, width)
            if padding_mask.shape[-2:] != (height, width):
                padding_mask = F.interpolate(padding_mask.float(), size=(height, width), mode="nearest")
            pad = padding_mask.to(hidden_states.dtype)[:, :, None].expand(batch, 1, frames, height, width)
            parts.append(pad)
        return torch.cat(parts, dim=1).to(self.patch_embed.proj.weight.dtype)

    def _embed_timestep(self, timestep: torch.Tensor, batch: int, frames: int):
        """(B,), (B, 1), (B, T) or (B, 1, T, 1, 1) -> temb (B, T, 3D), embedded (B, T, D), float32."""
        t = timestep.reshape(batch, -1) if timestep.ndim != 1 else timestep[:, None]
        if t.shape[1] not in (1, frames):
            raise ValueError(f"timestep must be (B,) or (B, {frames}); got shape {tuple(timestep.shape)}")
        temb, embedded = self.time_embed(t.flatten())
        temb = temb.view(batch, t.shape[1], -1).expand(batch, frames, -1)
        embedded = embedded.view(batch, t.shape[1], -1).expand(batch, frames, -1)
        return temb, embedded

    def forward(
        self,
        hidden_states: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        image_hidden_states: torch.Tensor | None = None,
        condition_mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        fps: float | None = None,
        return_dict: bool = True,
        return_heads: bool = False,
    ) -> Transformer2DModelOutput | PanoWorldTransformerOutput | tuple:
        """Predict the flow velocity ``eps - x0``.

        Args:
            hidden_states: (B, 16 + reference_channels, T, h, w) = ``[x_t | ref]`` latents (a 16-channel input gets
                zero reference channels, as in the reference).
            timestep: (B,) or (B, T) float: what the network sees, t in [0, 1] (the reference's 0.001 scale already
                applied by the caller: ``floor(1000 t) * 0.001`` for generated and 1e-4 for conditional frames).
            encoder_hidden_states: (B, L, crossattn_proj_in_channels) raw text-encoder features. The latent
                inputs (hidden_states, timestep, condition_mask, padding_mask) may instead have batch 1: one latent
                seen with B contexts, as in batched CFG. Everything up to the first cross-attention (input
                assembly, patch embedding, timestep embedding, block 0's self-attention) then runs once instead of
                B times; the result equals repeating the latent B times up to float rounding.
            image_hidden_states: (n, N, img_context_dim_in) SigLIP tokens with n <= B (rows >= n get no image term,
                as batched CFG's unconditional half) or None (no image term).
            condition_mask: (B, 1, T, h, w) in {0, 1} or None (zeros).
            padding_mask: (B, 1, H, W) or None (zeros); resized to (h, w) with nearest interpolation.
            fps: frames per second; only used with ``rope_fps_modulation``.
            return_dict: return a ``Transformer2DModelOutput`` (else a 1-tuple).
            return_heads: also run the geometry heads: a ``PanoWorldTransformerOutput`` (else the 3-tuple
                (sample, depth, descriptors)); a head the model lacks gives None.

        Returns:
            sample (B, 16, T, h, w) in the weight dtype.
        """
        batch, _, frames, height, width = hidden_states.shape
        if batch not in (1, encoder_hidden_states.shape[0]):
            raise ValueError(f"hidden_states has batch {batch}; expected 1 or the context batch "
                             f"{encoder_hidden_states.shape[0]}")
        p_t, p_h, p_w = self.config.patch_size
        if frames % p_t or height % p_h or width % p_w:
            raise ValueError(f"latent size {(frames, height, width)} is not divisible by the patch {(p_t, p_h, p_w)}")
        grid = (frames // p_t, height // p_h, width // p_w)
        x = self._assemble_input(hidden_states, condition_mask, padding_mask)
        rope_cos, rope_sin = self.rope(x, fps=fps)
        x = self.patch_embed(x).flatten(1, 3)
        temb, embedded = self._embed_timestep(timestep, batch, grid[0])
        shards = self.context_parallel
        if shards is not None:
            x, temb, embedded, rope_cos, rope_sin = shards.split(x, temb, embedded, rope_cos, rope_sin)

        dtype = x.dtype
        context = encoder_hidden_states.to(dtype)
        if self.config.use_crossattn_projection:
            context = self.crossattn_proj(context)
        image = None
        if image_hidden_states is not None:
            if not self.config.img_context_dim_in:
                raise ValueError("image_hidden_states given, but this model has no image branch (img_context_dim_in)")
            image = self.img_context_proj(image_hidden_states.to(dtype))

        heads = {name: None for name in ("depth_head", "descriptor_head")}
        for index, block in enumerate(self.transformer_blocks):
            args = (x, context, image, embedded, temb, rope_cos, rope_sin)
            if torch.is_grad_enabled() and self.gradient_checkpointing:
                x = self._gradient_checkpointing_func(block, *args)
            else:
                x = block(*args)
            for name, at in self._head_blocks.items():
                if return_heads and at == index:
                    heads[name] = getattr(self, name)(x if shards is None else shards.gather(x), grid)

        x = self.norm_out(x, embedded, temb).to(dtype)
        if shards is not None:
            x = shards.gather(x)
        x = unpatchify(self.proj_out(x), grid, (p_t, p_h, p_w))
        if return_heads:
            out = PanoWorldTransformerOutput(sample=x, depth=heads["depth_head"], descriptors=heads["descriptor_head"])
            return out if return_dict else (out.sample, out.depth, out.descriptors)
        if not return_dict:
            return (x,)
        return Transformer2DModelOutput(sample=x)


def panoworld_2b_config(**overrides) -> dict:
    """Config of the released PanoWorld network (2.3 B parameters)."""
    cfg = dict(
        in_channels=17, out_channels=16, num_attention_heads=16, attention_head_dim=128, num_layers=28,
        mlp_ratio=4.0, text_embed_dim=1024, adaln_lora_dim=256, max_size=(128, 240, 240), patch_size=(1, 2, 2),
        rope_scale=(1.0, 3.0, 3.0), concat_padding_mask=True, use_crossattn_projection=True,
        crossattn_proj_in_channels=100352, encoder_hidden_states_channels=1024, img_context_dim_in=1152,
        img_context_num_tokens=729, img_context_dim_out=2048, reference_channels=16, rope_type="equirect",
        rope_fps_modulation=False,
    )  # fmt: skip
    cfg.update(overrides)
    return cfg


def cosmos_predict25_2b_config(**overrides) -> dict:
    """Config of the base Cosmos-Predict2.5-2B network (2.06 B parameters): no reference channels, no image branch."""
    cfg = panoworld_2b_config(img_context_dim_in=None, reference_channels=0, rope_type="linear")
    cfg.update(overrides)
    return cfg


def tiny_config(
    *, reference_channels: int = 16, img_context_dim_in: int | None = 16, text_dim: int = 64, rope_type="equirect"
) -> dict:
    """A 2-layer config for tests (hidden 48 = 2 heads x 24): ``PanoWorldTransformer(**tiny_config())``."""
    return panoworld_2b_config(
        num_attention_heads=2, attention_head_dim=24, num_layers=2, text_embed_dim=32, adaln_lora_dim=8,
        crossattn_proj_in_channels=text_dim, encoder_hidden_states_channels=32, img_context_dim_in=img_context_dim_in,
        img_context_num_tokens=8, img_context_dim_out=48, reference_channels=reference_channels, rope_type=rope_type,
    )  # fmt: skip
