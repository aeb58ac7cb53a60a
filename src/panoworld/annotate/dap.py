"""DAP ("Depth Any Panoramas") network: transformers' DINOv3 ViT backbone + two DPT heads (depth, sky/invalid mask).

Input: ERP frames (B, 3, H, W) RGB in [0, 1] at native size (H, W multiples of 16; 512x1024 in the
reference), no ImageNet normalisation, no resize (reference §7). Output: metric range in metres
(the network's code 1.0 = 100 m) and the sky/invalid mask. Parameter names of the released ``model.pth``
are mapped strictly by :mod:`panoworld.annotate.dap_keys` (documented in docs/annotate.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from transformers import DINOv3ViTConfig, DINOv3ViTModel

from panoworld.formats.annotations import DAP_METRES

from .dpt import DPTHead

__all__ = ["DAPConfig", "DAPModel", "DEPTH_SCALE_M", "dap_erp_size"]

#: Metres per unit of the network's depth code (reference: 1.0 = 100 m); the annotation format reads older
#: folders that stored this code with the same constant.
DEPTH_SCALE_M = DAP_METRES


def dap_erp_size(height: int, patch: int = 16) -> tuple[int, int]:
    """(H, W) = (H, 2H) pixels at which a video of ``height`` rows is annotated: the height rounded to the nearest
    multiple of DAP's ``patch`` (16) rows, at least one patch."""
    rows = max(patch, int(round(height / patch)) * patch)
    return rows, 2 * rows


@dataclass
class DAPConfig:
    """Sizes of the DAP network. Defaults are the released ViT-L/16 model."""

    hidden_size: int = 1024
    num_layers: int = 24
    num_heads: int = 16
    intermediate_size: int = 4096
    patch_size: int = 16
    num_register_tokens: int = 4
    rope_theta: float = 100.0
    layer_indices: list[int] = field(default_factory=lambda: [4, 11, 17, 23])
    features: int = 256
    out_channels: list[int] = field(default_factory=lambda: [256, 512, 1024, 1024])
    max_depth: float = 1.0

    @classmethod
    def tiny(cls) -> "DAPConfig":
        """A few-thousand-parameter configuration for tests (same code paths, random weights)."""
        return cls(
            hidden_size=32, num_layers=4, num_heads=2, intermediate_size=64, layer_indices=[0, 1, 2, 3],
            features=16, out_channels=[8, 16, 32, 32],
        )

    def to_dict(self) -> dict:
        return asdict(self)

    def backbone_config(self) -> DINOv3ViTConfig:
        cfg = DINOv3ViTConfig(
            hidden_size=self.hidden_size, num_hidden_layers=self.num_layers, num_attention_heads=self.num_heads,
            intermediate_size=self.intermediate_size, patch_size=self.patch_size,
            num_register_tokens=self.num_register_tokens, rope_theta=self.rope_theta, layerscale_value=1.0,
            query_bias=True, key_bias=False, value_bias=True, proj_bias=True, mlp_bias=True, use_gated_mlp=False,
            layer_norm_eps=1e-5, hidden_act="gelu",
        )
        cfg._attn_implementation = "sdpa"
        return cfg


class DAPModel(nn.Module):
    """DINOv3 backbone (``backbone``), DAP's extra LayerNorm (``dap_norm``), ``depth_head`` and ``mask_head``."""

    def __init__(self, config: DAPConfig | None = None):
        super().__init__()
        self.config = config or DAPConfig()
        c = self.config
        self.backbone = DINOv3ViTModel(c.backbone_config())
        self.dap_norm = nn.LayerNorm(c.hidden_size, eps=1e-5)
        self.depth_head = DPTHead(c.hidden_size, c.features, tuple(c.out_channels))
        self.mask_head = DPTHead(c.hidden_size, c.features, tuple(c.out_channels))

    def _features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Intermediate-layer patch maps (B, C, h, w), built exactly as DAP's adapter does."""
        c = self.config
        b, _, height, width = images.shape
        ph, pw = height // c.patch_size, width // c.patch_size
        bb = self.backbone
        x = bb.embeddings(images)
        rope = bb.rope_embeddings(images)
        wanted = set(c.layer_indices)
        maps = []
        for i, layer in enumerate(bb.model.layer[: max(wanted) + 1]):
            x = layer(x, position_embeddings=rope)
            if i in wanted:
                tokens = self.dap_norm(bb.norm(x)[:, 1 + c.num_register_tokens :])
                maps.append(self._tokens_to_map(tokens, ph, pw))
        return maps

    @staticmethod
    def _tokens_to_map(tokens: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
        """DAP's released adapter drops the first patch token and stretches the rest back to h*w (kept exactly)."""
        patches = tokens[:, 1:]
        b, n, ch = patches.shape
        side = int(n**0.5)
        if side * side == n:
            grid = patches.transpose(1, 2).reshape(b, ch, side, side)
        else:
            grid = patches.transpose(1, 2).reshape(b, ch, n, 1)
            grid = F.interpolate(grid, size=(ph * pw, 1), mode="bilinear").squeeze(-1).reshape(b, ch, ph, pw)
        if grid.shape[-2:] != (ph, pw):
            grid = F.interpolate(grid, size=(ph, pw), mode="bilinear", align_corners=False)
        return grid.contiguous()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) RGB in [0, 1] -> (depth code (B, H, W) in [0, max_depth], sky probability (B, H, W))."""
        c = self.config
        if images.shape[-2] % c.patch_size or images.shape[-1] % c.patch_size:
            raise ValueError(
                f"DAP input height and width must be multiples of {c.patch_size}, got {tuple(images.shape)}"
            )
        ph, pw = images.shape[-2] // c.patch_size, images.shape[-1] // c.patch_size
        feats = self._features(images)
        depth = self.depth_head(feats, ph, pw, c.patch_size)[:, 0] * c.max_depth
        mask = self.mask_head(feats, ph, pw, c.patch_size)[:, 0]
        return depth.clamp_min(0), mask

    @torch.inference_mode()
    def predict(
        self, frames: torch.Tensor, *, batch_size: int = 4, bf16: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(T, 3, H, W) frames in [0, 1] -> (range in metres (T, H, W) float32, sky mask (T, H, W) bool).

        Sky/invalid pixels (mask probability > 0.5) get the maximum code 1.0 (100 m) as in the reference.
        Runs in bfloat16 autocast on CUDA (unless ``bf16=False``); batches of ``batch_size`` frames.
        """
        param = next(self.parameters())
        depths, skies = [], []
        for start in range(0, frames.shape[0], batch_size):
            chunk = frames[start : start + batch_size].to(param.device, param.dtype)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16 and param.device.type == "cuda"):
                code, mask = self(chunk)
            sky = mask.float() > 0.5
            code = torch.where(sky, torch.ones_like(code, dtype=torch.float32), code.float())
            depths.append((code * DEPTH_SCALE_M).cpu())
            skies.append(sky.cpu())
        return torch.cat(depths), torch.cat(skies)
