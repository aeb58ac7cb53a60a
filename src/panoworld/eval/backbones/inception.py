"""The FID Inception-v3 (pytorch-fid's TF-ported "pt_inception-2015-12-05"), in plain torch.

Same module names and shapes as ``pytorch_fid.inception.FIDInceptionA/C/E_1/E_2`` on top of torchvision's
Inception-v3 (1008-way fc, no aux head), so ``pt_inception-2015-12-05-6726825d.pth`` loads with
``strict=True``. Features are the 2048-d pool3 activations of 299x299 inputs scaled to [-1, 1].
``width`` < 1 builds a thin copy for tests (random weights only).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from panoworld.errors import MissingComponentError

__all__ = ["FIDInception"]


class Conv(nn.Module):
    def __init__(self, cin, cout, k, s=1, p=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, p, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class BlockA(nn.Module):
    def __init__(self, cin, pool, c):
        super().__init__()
        self.branch1x1 = Conv(cin, c(64), 1)
        self.branch5x5_1, self.branch5x5_2 = Conv(cin, c(48), 1), Conv(c(48), c(64), 5, p=2)
        self.branch3x3dbl_1 = Conv(cin, c(64), 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = Conv(c(64), c(96), 3, p=1), Conv(c(96), c(96), 3, p=1)
        self.branch_pool = Conv(cin, pool, 1)

    def forward(self, x):
        pool = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(pool),
        ], 1)  # fmt: skip


class BlockB(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.branch3x3 = Conv(cin, c(384), 3, s=2)
        self.branch3x3dbl_1 = Conv(cin, c(64), 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = Conv(c(64), c(96), 3, p=1), Conv(c(96), c(96), 3, s=2)

    def forward(self, x):
        dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), dbl, F.max_pool2d(x, 3, 2)], 1)


class BlockC(nn.Module):
    def __init__(self, cin, c7, c):
        super().__init__()
        self.branch1x1 = Conv(cin, c(192), 1)
        self.branch7x7_1 = Conv(cin, c7, 1)
        self.branch7x7_2 = Conv(c7, c7, (1, 7), p=(0, 3))
        self.branch7x7_3 = Conv(c7, c(192), (7, 1), p=(3, 0))
        self.branch7x7dbl_1 = Conv(cin, c7, 1)
        self.branch7x7dbl_2 = Conv(c7, c7, (7, 1), p=(3, 0))
        self.branch7x7dbl_3 = Conv(c7, c7, (1, 7), p=(0, 3))
        self.branch7x7dbl_4 = Conv(c7, c7, (7, 1), p=(3, 0))
        self.branch7x7dbl_5 = Conv(c7, c(192), (1, 7), p=(0, 3))
        self.branch_pool = Conv(cin, c(192), 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = layer(d)
        pool = self.branch_pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
        return torch.cat([self.branch1x1(x), b7, d, pool], 1)


class BlockD(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = Conv(cin, c(192), 1), Conv(c(192), c(320), 3, s=2)
        self.branch7x7x3_1 = Conv(cin, c(192), 1)
        self.branch7x7x3_2 = Conv(c(192), c(192), (1, 7), p=(0, 3))
        self.branch7x7x3_3 = Conv(c(192), c(192), (7, 1), p=(3, 0))
        self.branch7x7x3_4 = Conv(c(192), c(192), 3, s=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, 3, 2)], 1)


class BlockE(nn.Module):
    def __init__(self, cin, c, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = Conv(cin, c(320), 1)
        self.branch3x3_1 = Conv(cin, c(384), 1)
        self.branch3x3_2a = Conv(c(384), c(384), (1, 3), p=(0, 1))
        self.branch3x3_2b = Conv(c(384), c(384), (3, 1), p=(1, 0))
        self.branch3x3dbl_1 = Conv(cin, c(448), 1)
        self.branch3x3dbl_2 = Conv(c(448), c(384), 3, p=1)
        self.branch3x3dbl_3a = Conv(c(384), c(384), (1, 3), p=(0, 1))
        self.branch3x3dbl_3b = Conv(c(384), c(384), (3, 1), p=(1, 0))
        self.branch_pool = Conv(cin, c(192), 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pool = F.max_pool2d(x, 3, 1, 1) if self.max_pool else F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pool)], 1)


class FIDInception(nn.Module):
    """``features((N, 3, H, W) in [0, 1]) -> (N, 2048 * width)`` pool3 activations (inputs resized to 299)."""

    def __init__(self, width: float = 1.0, input_size: int = 299):
        super().__init__()

        def c(n: int) -> int:
            return max(2, int(round(n * width)))

        self.input_size = input_size
        self.Conv2d_1a_3x3 = Conv(3, c(32), 3, s=2)
        self.Conv2d_2a_3x3 = Conv(c(32), c(32), 3)
        self.Conv2d_2b_3x3 = Conv(c(32), c(64), 3, p=1)
        self.Conv2d_3b_1x1 = Conv(c(64), c(80), 1)
        self.Conv2d_4a_3x3 = Conv(c(80), c(192), 3)
        a_out = lambda pool: c(64) + c(64) + c(96) + pool  # noqa: E731
        self.Mixed_5b = BlockA(c(192), c(32), c)
        self.Mixed_5c = BlockA(a_out(c(32)), c(64), c)
        self.Mixed_5d = BlockA(a_out(c(64)), c(64), c)
        cin = a_out(c(64))
        self.Mixed_6a = BlockB(cin, c)
        cin = c(384) + c(96) + cin
        self.Mixed_6b = BlockC(cin, c(128), c)
        self.Mixed_6c = BlockC(4 * c(192), c(160), c)
        self.Mixed_6d = BlockC(4 * c(192), c(160), c)
        self.Mixed_6e = BlockC(4 * c(192), c(192), c)
        self.Mixed_7a = BlockD(4 * c(192), c)
        cin = c(320) + c(192) + 4 * c(192)
        self.Mixed_7b = BlockE(cin, c, max_pool=False)
        self.out_dim = c(320) + 4 * c(384) + c(192)
        self.Mixed_7c = BlockE(self.out_dim, c, max_pool=True)
        self.fc = nn.Linear(self.out_dim, 1008)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, device="cpu", *, width: float = 1.0) -> "FIDInception":
        """Load pytorch-fid's pt_inception weights (a .pth file or a folder holding one) strictly."""
        p = Path(path)
        if p.is_dir():
            p = next(iter(sorted(p.glob("pt_inception*.pth"))), p / "pt_inception-2015-12-05-6726825d.pth")
        if not p.is_file():
            raise MissingComponentError(
                f"FID Inception weights not found at {p}: download pt_inception-2015-12-05-6726825d.pth "
                "(pytorch-fid release) and pass its path with --inception, or pass --inception none"
            )
        net = cls(width=width)
        net.load_state_dict(torch.load(p, map_location="cpu", weights_only=True), strict=True)
        return net.to(device).eval()

    @torch.no_grad()
    def features(self, images: torch.Tensor, chunk: int = 64) -> torch.Tensor:
        dev, dtype = self.fc.weight.device, self.fc.weight.dtype
        outs = []
        for start in range(0, images.shape[0], chunk):
            x = images[start : start + chunk].to(dev, torch.float32)
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
            x = (2 * x - 1).to(dtype)
            for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"):
                x = getattr(self, name)(x)
            x = F.max_pool2d(x, 3, 2)
            x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
            x = F.max_pool2d(x, 3, 2)
            for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
                x = getattr(self, f"Mixed_{name}")(x)
            outs.append(x.mean(dim=(-2, -1)).float())
        return torch.cat(outs)
