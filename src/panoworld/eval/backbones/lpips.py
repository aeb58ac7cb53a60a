"""LPIPS (Zhang et al. 2018) with the AlexNet trunk, in plain torch (no ``lpips`` / torchvision needed).

Weights: a folder holding the torchvision AlexNet state dict (``alexnet.pth`` or ``alexnet-owt-*.pth``; keys
``features.N.*``) and the LPIPS v0.1 linear heads ``alex.pth`` (keys ``linK.model.1.weight``) from the
``lpips`` package; both are loaded strictly with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from panoworld.errors import MissingComponentError

__all__ = ["LPIPSNet"]

CHANNELS = (64, 192, 384, 256, 256)
MIN_SIDE = 64


class LPIPSNet(nn.Module):
    """LPIPS distance. ``distance_map(a, b)``: (N, 3, H, W) in [0, 1] -> (N, 1, h, w) map whose spatial
    mean is the LPIPS distance (sum over the 5 layers of the channel-weighted squared differences of
    unit-normalised features, each layer upsampled to the first layer's grid)."""

    def __init__(self, width_mult: float = 1.0):
        super().__init__()
        c = [max(1, int(round(ch * width_mult))) for ch in CHANNELS]
        self.features = nn.Sequential(
            nn.Conv2d(3, c[0], 11, 4, 2), nn.ReLU(True), nn.MaxPool2d(3, 2),
            nn.Conv2d(c[0], c[1], 5, 1, 2), nn.ReLU(True), nn.MaxPool2d(3, 2),
            nn.Conv2d(c[1], c[2], 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(c[2], c[3], 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(c[3], c[4], 3, 1, 1), nn.ReLU(True),
        )  # fmt: skip
        self.taps = (1, 4, 7, 9, 11)
        self.lins = nn.ModuleList(nn.Conv2d(ch, 1, 1, bias=False) for ch in c)
        for lin in self.lins:
            nn.init.uniform_(lin.weight, 0.0, 1.0 / lin.in_channels)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, device: str | torch.device = "cpu") -> "LPIPSNet":
        root = Path(folder)
        trunk = next(iter(sorted(root.glob("alexnet*.pth"))), None)
        heads = root / "alex.pth"
        if trunk is None or not heads.is_file():
            raise MissingComponentError(
                f"LPIPS weights not found in {root}: put torchvision's AlexNet state dict (alexnet-owt-*.pth) and the "
                "lpips package's weights/v0.1/alex.pth there, or pass --lpips none"
            )
        net = cls()
        feats = {k[len("features.") :]: v for k, v in torch.load(trunk, map_location="cpu", weights_only=True).items()
                 if k.startswith("features.")}  # fmt: skip
        net.features.load_state_dict(feats, strict=True)
        lin = torch.load(heads, map_location="cpu", weights_only=True)
        heads = {k.replace("lin", "", 1).replace(".model.1.", "."): v for k, v in lin.items()}
        net.lins.load_state_dict(heads, strict=True)
        return net.to(device).eval()

    def _layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((x * 2 - 1) - self.shift) / self.scale
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                outs.append(x)
        return outs

    @torch.no_grad()
    def distance_map(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if min(a.shape[-2:]) < MIN_SIDE:  # AlexNet's strides need >= 64 px; upsample tiny inputs
            scale = MIN_SIDE / min(a.shape[-2:])
            a = F.interpolate(a, scale_factor=scale, mode="bilinear", align_corners=False)
            b = F.interpolate(b, scale_factor=scale, mode="bilinear", align_corners=False)
        dtype = self.shift.dtype
        fa = self._layers(a.to(self.shift.device, dtype))
        fb = self._layers(b.to(self.shift.device, dtype))
        size = fa[0].shape[-2:]
        total = 0.0
        for lin, xa, xb in zip(self.lins, fa, fb):
            na = xa / (xa.norm(dim=1, keepdim=True) + 1e-10)
            nb = xb / (xb.norm(dim=1, keepdim=True) + 1e-10)
            total = total + F.interpolate(lin((na - nb) ** 2), size=size, mode="bilinear", align_corners=False)
        return total
