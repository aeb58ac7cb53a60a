"""CoTracker3 (offline) point tracker in plain torch, with the public model's parameter names.

``CoTracker3Offline.forward(video, queries)`` takes (B, T, 3, H, W) frames in [0, 1] at the model
resolution and (B, N, 3) queries ``(t, x, y)`` in pixels (centres at integers) and returns tracks
(B, T, N, 2) in pixels, visibility and confidence (B, T, N) in [0, 1]. Architecture: a CNN (``fnet``)
at stride 4, a 4-level correlation pyramid sampled in a 7x7 window around each track and around each
query (49x49 correlations -> ``corr_mlp``), and an ``updateformer`` alternating attention over time
per track with attention over tracks through virtual tracks; it refines all tracks jointly for
``iters`` iterations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .cotracker_blocks import AttnBlock, BasicEncoder, CrossAttnBlock, Mlp

__all__ = ["CoTrackerConfig", "CoTracker3Offline", "sincos_time_embedding", "posenc"]


@dataclass
class CoTrackerConfig:
    """Sizes of CoTracker3. Defaults are the released ``scaled_offline.pth`` model."""

    window_len: int = 60
    stride: int = 4
    corr_radius: int = 3
    corr_levels: int = 4
    num_virtual_tracks: int = 64
    model_resolution: tuple[int, int] = (384, 512)
    latent_dim: int = 128
    hidden_size: int = 384
    num_heads: int = 8
    time_depth: int = 3
    space_depth: int = 3
    corr_hidden: int = 384
    corr_out: int = 256

    @classmethod
    def tiny(cls) -> "CoTrackerConfig":
        """A small configuration for tests (same code paths, random weights)."""
        return cls(window_len=8, num_virtual_tracks=4, model_resolution=(32, 64), latent_dim=16, hidden_size=32,
                   num_heads=2, time_depth=1, space_depth=1, corr_hidden=16, corr_out=8, corr_levels=2)

    @property
    def input_dim(self) -> int:
        """Token width: visibility + confidence + correlation embeddings + 84-d relative-motion encoding."""
        return 2 + self.corr_levels * self.corr_out + 84

    def to_dict(self) -> dict:
        return asdict(self)


def sincos_time_embedding(dim: int, length: int) -> torch.Tensor:
    """(1, length, dim) 1-D sin/cos embedding of positions 0..length-1 (sin half first)."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
    out = torch.arange(length, dtype=torch.float64)[:, None] * omega[None]
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)[None].float()


def posenc(x: torch.Tensor, min_deg: int = 0, max_deg: int = 10) -> torch.Tensor:
    """NeRF-style encoding: x and sin of x scaled by 2^min_deg..2^(max_deg-1) (plus quarter-period shift)."""
    scales = torch.tensor([2.0**i for i in range(min_deg, max_deg)], dtype=x.dtype, device=x.device)
    xb = (x[..., None, :] * scales[:, None]).reshape(*x.shape[:-1], -1)
    return torch.cat([x, torch.sin(torch.cat([xb, xb + 0.5 * torch.pi], dim=-1))], dim=-1)


def _grid_sample_aligned(inp: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """``grid_sample`` with pixel coordinates (last dim (x, y) or (x, y, t)), align_corners, border padding."""
    sizes = inp.shape[2:]
    scale = torch.tensor([2.0 / max(s - 1, 1) for s in reversed(sizes)], device=coords.device, dtype=coords.dtype)
    return F.grid_sample(inp, coords * scale - 1, align_corners=True, padding_mode="border")


class EfficientUpdateFormer(nn.Module):
    """Transformer over (tracks x time) tokens with virtual tracks for attention across tracks."""

    def __init__(self, c: CoTrackerConfig):
        super().__init__()
        h = c.hidden_size
        self.num_virtual_tracks = c.num_virtual_tracks
        self.input_transform = nn.Linear(c.input_dim, h)
        self.flow_head = nn.Linear(h, 2)
        self.vis_conf_head = nn.Linear(h, 2)
        self.virual_tracks = nn.Parameter(torch.randn(1, c.num_virtual_tracks, 1, h))
        self.time_blocks = nn.ModuleList([AttnBlock(h, c.num_heads) for _ in range(c.time_depth)])
        self.space_virtual_blocks = nn.ModuleList([AttnBlock(h, c.num_heads) for _ in range(c.space_depth)])
        cross = range(c.space_depth)
        self.space_point2virtual_blocks = nn.ModuleList([CrossAttnBlock(h, h, c.num_heads) for _ in cross])
        self.space_virtual2point_blocks = nn.ModuleList([CrossAttnBlock(h, h, c.num_heads) for _ in cross])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, T, input_dim) -> (B, N, T, 4): (dx, dy, dvis, dconf)."""
        tokens = self.input_transform(x)
        b, _, t, ch = tokens.shape
        tokens = torch.cat([tokens, self.virual_tracks.expand(b, -1, t, -1)], dim=1)
        n = tokens.shape[1]
        nv = self.num_virtual_tracks
        every = len(self.time_blocks) // len(self.space_virtual_blocks)
        j = 0
        for i, block in enumerate(self.time_blocks):
            tokens = block(tokens.reshape(b * n, t, ch)).reshape(b, n, t, ch)
            if i % every == 0 and j < len(self.space_virtual_blocks):
                space = tokens.permute(0, 2, 1, 3).reshape(b * t, n, ch)
                points, virtual = space[:, : n - nv], space[:, n - nv :]
                virtual = self.space_virtual2point_blocks[j](virtual, points)
                virtual = self.space_virtual_blocks[j](virtual)
                points = self.space_point2virtual_blocks[j](points, virtual)
                tokens = torch.cat([points, virtual], dim=1).reshape(b, t, n, ch).permute(0, 2, 1, 3)
                j += 1
        tokens = tokens[:, : n - nv]
        return torch.cat([self.flow_head(tokens), self.vis_conf_head(tokens)], dim=-1)


class CoTracker3Offline(nn.Module):
    """CoTracker3, offline variant (all frames at once; the time embedding is resampled to T)."""

    def __init__(self, config: CoTrackerConfig | None = None):
        super().__init__()
        self.config = c = config or CoTrackerConfig()
        self.fnet = BasicEncoder(3, c.latent_dim, c.stride)
        self.updateformer = EfficientUpdateFormer(c)
        r = 2 * c.corr_radius + 1
        self.corr_mlp = Mlp(r**4, c.corr_hidden, c.corr_out)
        self.register_buffer("time_emb", sincos_time_embedding(c.input_dim, c.window_len))

    def _window(self, device, dtype) -> torch.Tensor:
        r = self.config.corr_radius
        d = torch.linspace(-r, r, 2 * r + 1, device=device, dtype=dtype)
        gx, gy = torch.meshgrid(d, d, indexing="ij")
        return torch.stack([gx, gy], dim=-1)  # (r, r, 2): x varies along the first axis, as in the original

    def _features(self, video: torch.Tensor, chunk: int) -> torch.Tensor:
        b, t = video.shape[:2]
        frames = video.reshape(b * t, *video.shape[2:]) * 2 - 1
        fmaps = torch.cat([self.fnet(frames[i : i + chunk]) for i in range(0, b * t, chunk)])
        fmaps = fmaps / fmaps.square().sum(1, keepdim=True).clamp_min(1e-12).sqrt()
        return fmaps.reshape(b, t, *fmaps.shape[1:])

    def _track_support(self, fmaps: torch.Tensor, qt: torch.Tensor, qxy: torch.Tensor) -> torch.Tensor:
        """Features (B, N, r, r, C) in the window around each query at its query frame."""
        b, t, ch, h, w = fmaps.shape
        win = self._window(qxy.device, qxy.dtype)
        pts = qxy[:, :, None, None, :] + win  # B N r r 2
        tt = qt[:, :, None, None, None].to(qxy.dtype).expand(*pts.shape[:-1], 1)
        grid = torch.cat([pts, tt], dim=-1)  # (x, y, t)
        feats = _grid_sample_aligned(fmaps.permute(0, 2, 1, 3, 4), grid)  # B C N r r
        return feats.permute(0, 2, 3, 4, 1)

    def _corr_features(self, fmaps: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
        """Features (B, T, N, r, r, C) in the window around each current track position."""
        b, t, ch, h, w = fmaps.shape
        n = coords.shape[2]
        win = self._window(coords.device, coords.dtype)
        pts = coords.reshape(b * t, n, 1, 1, 2) + win
        feats = _grid_sample_aligned(fmaps.reshape(b * t, ch, h, w), pts.reshape(b * t, n, -1, 2))
        r = win.shape[0]
        return feats.reshape(b, t, ch, n, r, r).permute(0, 1, 3, 4, 5, 2)

    def forward(
        self, video: torch.Tensor, queries: torch.Tensor, *, iters: int = 6, fmaps_chunk: int = 32
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.config
        b, t, _, height, width = video.shape
        if height % c.stride or width % c.stride:
            raise ValueError(f"video height/width must be multiples of {c.stride}, got {height}x{width}")
        n = queries.shape[1]
        qt = queries[..., 0].long()
        qxy = queries[..., 1:3].float() / c.stride
        fmaps = self._features(video, fmaps_chunk).to(video.dtype)
        pyramid = [fmaps]
        for _ in range(c.corr_levels - 1):
            f = pyramid[-1]
            f = F.avg_pool2d(f.reshape(b * t, *f.shape[2:]), 2, stride=2)
            pyramid.append(f.reshape(b, t, *f.shape[1:]))
        supports = [self._track_support(p, qt, qxy / 2**i).to(video.dtype) for i, p in enumerate(pyramid)]
        vis = torch.zeros(b, t, n, device=video.device)
        conf = torch.zeros(b, t, n, device=video.device)
        coords = qxy[:, None].expand(b, t, n, 2).float()
        time_emb = self.time_emb.float()
        if t != time_emb.shape[1]:
            time_emb = F.interpolate(time_emb.permute(0, 2, 1), size=t, mode="linear").permute(0, 2, 1)
        scale = torch.tensor([c.model_resolution[1], c.model_resolution[0]], device=video.device) / c.stride
        for _ in range(iters):
            embs = []
            for i, (p, s) in enumerate(zip(pyramid, supports)):
                corr = self._corr_features(p, (coords / 2**i).to(p.dtype))
                volume = torch.einsum("btnhwc,bnijc->btnhwij", corr, s)
                embs.append(self.corr_mlp(volume.reshape(b, t, n, -1)))
            fwd = F.pad(coords[:, :-1] - coords[:, 1:], (0, 0, 0, 0, 0, 1)) / scale
            bwd = F.pad(coords[:, 1:] - coords[:, :-1], (0, 0, 0, 0, 1, 0)) / scale
            rel = posenc(torch.cat([fwd, bwd], dim=-1))
            x = torch.cat([vis[..., None], conf[..., None], torch.cat(embs, -1).float(), rel], dim=-1)
            x = x.permute(0, 2, 1, 3) + time_emb[:, None]
            delta = self.updateformer(x.to(video.dtype)).float().permute(0, 2, 1, 3)
            coords = coords + delta[..., :2]
            vis = vis + delta[..., 2]
            conf = conf + delta[..., 3]
        return coords * c.stride, torch.sigmoid(vis), torch.sigmoid(conf)
