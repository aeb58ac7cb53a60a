"""CoTracker3 building blocks with the original parameter names (``fnet``, attention blocks, MLPs).

Names follow the public CoTracker3 code so that ``scaled_offline.pth`` maps one-to-one
(see :mod:`panoworld.annotate.cotracker_keys`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BasicEncoder", "Mlp", "Attention", "AttnBlock", "CrossAttnBlock"]


class ResidualBlock(nn.Module):
    """Two 3x3 convs with instance norm; a strided 1x1 projection on the skip when downsampling."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1)
        self.norm1, self.norm2 = nn.InstanceNorm2d(planes), nn.InstanceNorm2d(planes)
        self.downsample = (
            None
            if stride == 1
            else nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride), nn.InstanceNorm2d(planes))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = F.relu(self.norm2(self.conv2(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return F.relu(x + y)


class BasicEncoder(nn.Module):
    """Feature CNN: (B, 3, H, W) in [-1, 1] -> (B, output_dim, H / stride, W / stride)."""

    def __init__(self, input_dim: int = 3, output_dim: int = 128, stride: int = 4):
        super().__init__()
        self.stride = stride
        self.in_planes = output_dim // 2
        self.norm1 = nn.InstanceNorm2d(self.in_planes)
        self.norm2 = nn.InstanceNorm2d(output_dim * 2)
        self.conv1 = nn.Conv2d(input_dim, self.in_planes, 7, stride=2, padding=3)
        self.layer1 = self._make_layer(output_dim // 2, 1)
        self.layer2 = self._make_layer(output_dim // 4 * 3, 2)
        self.layer3 = self._make_layer(output_dim, 2)
        self.layer4 = self._make_layer(output_dim, 2)
        self.conv2 = nn.Conv2d(output_dim * 3 + output_dim // 4, output_dim * 2, 3, padding=1)
        self.conv3 = nn.Conv2d(output_dim * 2, output_dim, 1)

    def _make_layer(self, dim: int, stride: int) -> nn.Sequential:
        layers = nn.Sequential(ResidualBlock(self.in_planes, dim, stride), ResidualBlock(dim, dim, 1))
        self.in_planes = dim
        return layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        x = F.relu(self.norm1(self.conv1(x)))
        a = self.layer1(x)
        b = self.layer2(a)
        c = self.layer3(b)
        d = self.layer4(c)
        size = (height // self.stride, width // self.stride)
        feats = [F.interpolate(t, size, mode="bilinear", align_corners=True) for t in (a, b, c, d)]
        x = F.relu(self.norm2(self.conv2(torch.cat(feats, dim=1))))
        return self.conv3(x)


class Mlp(nn.Module):
    """fc1 -> activation -> fc2 (timm layout)."""

    def __init__(
        self, in_features: int, hidden_features: int, out_features: int | None = None, approx_gelu: bool = False
    ):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate="tanh" if approx_gelu else "none")
        self.fc2 = nn.Linear(hidden_features, out_features or in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    """Multi-head (cross-)attention with ``to_q`` / ``to_kv`` / ``to_out`` projections."""

    def __init__(self, query_dim: int, context_dim: int | None = None, num_heads: int = 8, dim_head: int = 48):
        super().__init__()
        inner = dim_head * num_heads
        self.heads = num_heads
        self.to_q = nn.Linear(query_dim, inner, bias=True)
        self.to_kv = nn.Linear(context_dim or query_dim, inner * 2, bias=True)
        self.to_out = nn.Linear(inner, query_dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        b, n1, _ = x.shape
        context = x if context is None else context
        q = self.to_q(x)
        k, v = self.to_kv(context).chunk(2, dim=-1)
        h = self.heads
        q, k, v = (t.reshape(b, t.shape[1], h, -1).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(out.transpose(1, 2).reshape(b, n1, -1))


class AttnBlock(nn.Module):
    """Pre-norm self-attention block (norms without affine parameters, tanh-GELU MLP)."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads=num_heads, dim_head=hidden_size // num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio), approx_gelu=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CrossAttnBlock(nn.Module):
    """Pre-norm cross-attention block; the context has its own affine LayerNorm (``norm_context``)."""

    def __init__(self, hidden_size: int, context_dim: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.norm_context = nn.LayerNorm(hidden_size)
        self.cross_attn = Attention(hidden_size, context_dim=context_dim, num_heads=num_heads,
                                    dim_head=hidden_size // num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio), approx_gelu=True)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = x + self.cross_attn(self.norm1(x), context=self.norm_context(context))
        return x + self.mlp(self.norm2(x))
