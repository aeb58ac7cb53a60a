"""DPT decoder head with Depth-Anything-V2 parameter names (``projects``, ``resize_layers``, ``scratch.*``).

Four ViT feature maps (B, C_vit, h, w) are projected, resized to strides 4/8/16/32 of the patch grid,
fused coarse-to-fine by four RefineNet blocks and decoded to one sigmoid channel at the input resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DPTHead"]


class ResidualConvUnit(nn.Module):
    """Pre-activation residual unit: x + conv2(relu(conv1(relu(x))))."""

    def __init__(self, features: int):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FeatureFusionBlock(nn.Module):
    """RefineNet fusion: add a skip (through ``resConfUnit1``), refine, upsample (bilinear, aligned corners), 1x1."""

    def __init__(self, features: int):
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, 1)
        self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None, size=None) -> torch.Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        if size is None:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        else:
            x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=True)
        return self.out_conv(x)


class _Scratch(nn.Module):
    def __init__(self, out_channels: list[int], features: int):
        super().__init__()
        for i, ch in enumerate(out_channels, start=1):
            setattr(self, f"layer{i}_rn", nn.Conv2d(ch, features, 3, padding=1, bias=False))
        for i in range(1, 5):
            setattr(self, f"refinenet{i}", FeatureFusionBlock(features))
        self.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.output_conv2 = nn.Sequential(
            nn.Conv2d(features // 2, 32, 3, padding=1), nn.ReLU(True), nn.Conv2d(32, 1, 1), nn.Sigmoid()
        )


class DPTHead(nn.Module):
    """DPT head (no batch norm, no class-token readout) ending in a sigmoid.

    ``forward(features, patch_h, patch_w, patch_size)`` takes four (B, in_channels, patch_h, patch_w)
    maps and returns (B, 1, patch_h * patch_size, patch_w * patch_size) in [0, 1].
    """

    def __init__(self, in_channels: int, features: int = 256, out_channels: tuple[int, ...] = (256, 512, 1024, 1024)):
        super().__init__()
        oc = list(out_channels)
        self.projects = nn.ModuleList([nn.Conv2d(in_channels, ch, 1) for ch in oc])
        self.resize_layers = nn.ModuleList(
            [
                nn.ConvTranspose2d(oc[0], oc[0], 4, stride=4),
                nn.ConvTranspose2d(oc[1], oc[1], 2, stride=2),
                nn.Identity(),
                nn.Conv2d(oc[3], oc[3], 3, stride=2, padding=1),
            ]
        )
        self.scratch = _Scratch(oc, features)

    def forward(self, features: list[torch.Tensor], patch_h: int, patch_w: int, patch_size: int) -> torch.Tensor:
        layers = [self.resize_layers[i](self.projects[i](x)) for i, x in enumerate(features)]
        s = self.scratch
        l1, l2, l3, l4 = s.layer1_rn(layers[0]), s.layer2_rn(layers[1]), s.layer3_rn(layers[2]), s.layer4_rn(layers[3])
        path = s.refinenet4(l4, size=l3.shape[2:])
        path = s.refinenet3(path, l3, size=l2.shape[2:])
        path = s.refinenet2(path, l2, size=l1.shape[2:])
        path = s.refinenet1(path, l1)
        out = s.output_conv1(path)
        out = F.interpolate(out, (patch_h * patch_size, patch_w * patch_size), mode="bilinear", align_corners=True)
        return s.output_conv2(out)
