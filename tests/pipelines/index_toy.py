"""A deterministic toy model whose video frames encode their own index, for testing frame bookkeeping.

Pixel value of output frame ``g`` (outside the input's field of view) is ``-1 + g * STEP`` in the VAE's [-1, 1]
range, i.e. ``g * STEP / 2`` in [0, 1]: :func:`frame_index` reads it back. Everything between is the real
pipeline (conditioning, guided denoiser, UniPC sampler, frame replace, decode, cross-fade, streaming):

* :class:`IndexVAE` keeps values: latent frame 0 = pixel frame 0, latent frame k = pixel frame 4k (8x8 means);
  decoding latent frame k >= 1 gives its four frames ``z - 3 STEP ... z`` (unit speed), latent frame 0 one frame.
* :class:`IndexTransformer` predicts the velocity whose x0 is exactly its target (it recovers the flow time
  from the network timestep through the known schedule): without conditional frames latent frame f is at time
  4f; with conditional frames (mask channel all ones) it continues from the last one at unit speed. Its depth
  head returns the target too, so depth is ``exp(value of the frame ending the latent group)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from panoworld.pipelines import karras_flow_schedule

#: Pixel-value step between consecutive frames in [-1, 1] units (64 frames fit).
STEP = 2.0 / 64


def frame_index(frames: torch.Tensor, row: int = 16, col: int = 2) -> torch.Tensor:
    """(T,) float frame indices read from (T, 3, H, W) [0, 1] frames at one pixel (outside the FOV)."""
    return frames[:, :, row, col].mean(dim=1) * 2.0 / STEP


class IndexVAE(torch.nn.Module):
    latent_channels = 16
    temporal_compression = 4
    spatial_compression = 8

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)

    @property
    def device(self) -> torch.device:
        return self.anchor.device

    @property
    def dtype(self) -> torch.dtype:
        return self.anchor.dtype

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        picked = video[:, :, ::4].float().mean(dim=1)  # (B, T_lat, H, W): frames 0, 4, 8, ...
        small = F.avg_pool2d(picked, 8)
        return small[:, None].expand(-1, self.latent_channels, -1, -1, -1).contiguous()

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        z = latent.float().mean(dim=1)  # (B, T_lat, h, w)
        frames = [z[:, :1]]
        for k in range(1, z.shape[1]):
            frames.append(torch.stack([z[:, k] - (3 - i) * STEP for i in range(4)], dim=1))
        video = torch.cat(frames, dim=1)
        video = F.interpolate(video, scale_factor=8, mode="nearest")
        return video[:, None].expand(-1, 3, -1, -1, -1)


class IndexTransformer(torch.nn.Module):
    has_depth_head = True
    supports_partial_image_batch = False

    def __init__(self, num_steps: int):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)
        self.schedule = karras_flow_schedule(num_steps)
        self.calls = 0

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def _sigma(self, timestep: torch.Tensor) -> float:
        network = torch.as_tensor(self.schedule.timesteps * 0.001, dtype=torch.float64)
        index = int((network - float(timestep.max())).abs().argmin())
        return float(self.schedule.sigmas[index])

    def target(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        frames = x.shape[2]
        cond = [] if mask is None else [f for f in range(frames) if bool((mask[:, :, f] == 1).all())]
        if not cond:
            times = torch.arange(frames, dtype=x.dtype) * 4
            return (-1.0 + times * STEP).view(1, 1, -1, 1, 1).expand_as(x).clone()
        last = cond[-1]
        out = x.clone()
        for f in range(last + 1, frames):
            out[:, :, f] = x[:, :, last] + 4 * (f - last) * STEP
        return out

    def forward(self, hidden_states, timestep, encoder_hidden_states=None, image_hidden_states=None,
                condition_mask=None, return_dict=False, return_heads=False):
        self.calls += 1
        x = hidden_states[:, :16].float()
        target = self.target(x, condition_mask)
        velocity = (x - target) / self._sigma(timestep)
        if return_heads:
            return velocity, target.mean(dim=1, keepdim=True)
        return (velocity,)
