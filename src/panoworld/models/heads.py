"""Light geometry heads of the PanoWorld DiT: log range (depth) and point-track descriptors per latent cell.

Each head reads the token features of one transformer block (B, T*h'*w', D) (h' = h / 2, w' = w / 2 tokens for
the 1x2x2 patch), applies ``LayerNorm (no affine) -> Linear(D -> hidden) -> GELU -> Linear(hidden -> p_t p_h p_w C)``
and unpatchifies exactly like ``proj_out`` (channel order (p_h, p_w, p_t, C)), so the output has one value per
latent cell (B, C, T, h, w). One latent cell covers 8 x 8 ERP pixels and 1 (frame 0) or 4 (later) video frames.

- :class:`DepthHead`: C = 1, the natural log of the range along the ray in metres (``exp`` gives metres).
- :class:`DescriptorHead`: C = ``descriptor_dim`` raw features (the track loss L2-normalises them).

:func:`latent_depth_to_video` turns a latent log-range map into per-pixel metres for the decoded video (bilinear in
log range with the longitude wrap; pixel frame f takes latent frame ``(f + 3) // 4``, the causal VAE's grouping).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from panoworld.sphere.sampling import apply_plan, build_plan

__all__ = ["LatentHead", "DepthHead", "DescriptorHead", "unpatchify", "latent_frame_of", "latent_depth_to_video"]


def unpatchify(x: torch.Tensor, grid: tuple[int, int, int], patch_size: tuple[int, int, int]) -> torch.Tensor:
    """(B, T*H*W tokens, p_h p_w p_t C) -> (B, C, T p_t, H p_h, W p_w); channel order (p_h, p_w, p_t, C) as proj_out."""
    p_t, p_h, p_w = patch_size
    x = x.unflatten(2, (p_h, p_w, p_t, -1)).unflatten(1, grid)
    # (B, T, H, W, p_h, p_w, p_t, C) -> (B, C, T, p_t, H, p_h, W, p_w)
    return x.permute(0, 7, 1, 6, 2, 4, 3, 5).flatten(6, 7).flatten(4, 5).flatten(2, 3)


class LatentHead(nn.Module):
    """``LN -> Linear -> GELU -> Linear`` on block features, unpatchified to (B, out_channels, T, h, w).

    Args:
        hidden_size: model width D.
        head_dim: hidden width of the head.
        out_channels: values per latent cell.
        patch_size: (p_t, p_h, p_w) of the transformer.
    """

    def __init__(self, hidden_size: int, head_dim: int, out_channels: int, patch_size: tuple[int, int, int]):
        super().__init__()
        self.patch_size = tuple(int(p) for p in patch_size)
        self.out_channels = int(out_channels)
        self.norm = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.fc1 = nn.Linear(hidden_size, head_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(head_dim, math.prod(self.patch_size) * self.out_channels)

    def forward(self, features: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """features (B, T*H*W, D) of the token grid ``grid`` = (T, H, W) -> (B, C, T p_t, H p_h, W p_w) float32."""
        dtype = self.fc1.weight.dtype
        x = self.fc2(self.act(self.fc1(self.norm(features.to(dtype)))))
        return unpatchify(x, grid, self.patch_size).float()


class DepthHead(LatentHead):
    """Natural log of the range along the ray (metres) per latent cell: (B, 1, T, h, w)."""

    def __init__(self, hidden_size: int, head_dim: int, patch_size: tuple[int, int, int]):
        super().__init__(hidden_size, head_dim, 1, patch_size)


class DescriptorHead(LatentHead):
    """Point-track descriptors per latent cell: (B, descriptor_dim, T, h, w), not normalised."""

    def __init__(self, hidden_size: int, head_dim: int, descriptor_dim: int, patch_size: tuple[int, int, int]):
        super().__init__(hidden_size, head_dim, descriptor_dim, patch_size)


def latent_frame_of(frame: int | torch.Tensor, temporal_compression: int = 4):
    """Latent frame holding video frame ``frame`` of a causal VAE: 0 -> 0, k >= 1 covers frames 4k-3 ... 4k."""
    return (frame + temporal_compression - 1) // temporal_compression


def latent_depth_to_video(log_depth: torch.Tensor, num_frames: int, size: tuple[int, int]) -> torch.Tensor:
    """(1, 1, T_lat, h, w) or (T_lat, h, w) natural-log range -> (num_frames, H, W) metres, float32.

    Spatially bilinear in log range at the pixel centres (columns wrap around the seam, rows past a pole continue
    half a turn away); pixel frame f uses latent frame ``latent_frame_of(f)``.
    """
    grid = log_depth.reshape(-1, *log_depth.shape[-2:]).float()
    h, w = grid.shape[-2:]
    height, width = int(size[0]), int(size[1])
    ys = (torch.arange(height, dtype=torch.float64, device=grid.device) + 0.5) * h / height - 0.5
    xs = (torch.arange(width, dtype=torch.float64, device=grid.device) + 0.5) * w / width - 0.5
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    plan = build_plan(x, y, (h, w), mode="bilinear", wrap_x=True)
    frames = latent_frame_of(torch.arange(num_frames)).clamp_max(grid.shape[0] - 1).to(grid.device)
    return apply_plan(grid, plan)[frames].exp()
