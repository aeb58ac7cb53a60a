"""Latent -> ERP video decoding with optional wrap padding of the latent (the reference's seam treatment)."""

from __future__ import annotations

import torch

from panoworld.sphere import wrap_pad

__all__ = ["decode_video", "to_host", "to_unit"]


def to_unit(video: torch.Tensor) -> torch.Tensor:
    """(1, 3, T, H, W) in [-1, 1] -> (T, 3, H, W) float32 in [0, 1] (the project's video convention)."""
    return ((video[0].float().clamp(-1, 1) + 1.0) * 0.5).permute(1, 0, 2, 3).contiguous()


def to_host(video: torch.Tensor) -> torch.Tensor:
    """``video`` on the CPU; from CUDA through page-locked memory (a 93-frame 512x1024 float32 video is 585 MB:
    a pageable copy takes about 0.4 s on an H200 host, a pinned one a tenth of that once PyTorch's host
    allocator has cached the buffer)."""
    if video.device.type != "cuda":
        return video.cpu()
    try:
        host = torch.empty(video.shape, dtype=video.dtype, pin_memory=True)
    except RuntimeError:  # page-locked memory can be scarce (containers, big batches): use a plain copy
        return video.cpu()
    host.copy_(video)
    return host


@torch.no_grad()
def decode_video(vae, latent: torch.Tensor, *, pad_columns: int = 2) -> torch.Tensor:
    """Decode (1, 16, T_lat, h, w) latents to (T, 3, 8h, 8w) frames in [0, 1].

    With ``pad_columns`` > 0 the latent gets that many wrapped columns per side before decoding and
    ``pad_columns * spatial_compression`` pixels are cropped from each side afterwards, so the VAE decoder sees
    the seam as continuous (reference ``--latent_padding_size``, 2 in its chained driver). Use 0 for
    perspective (non-ERP) videos.
    """
    scale = int(getattr(vae, "spatial_compression", 8))
    device = getattr(vae, "device", latent.device)
    dtype = getattr(vae, "dtype", latent.dtype)
    video = vae.decode(wrap_pad(latent, max(0, pad_columns)).to(device, dtype))
    if pad_columns > 0:
        crop = pad_columns * scale
        video = video[..., crop:-crop]
    return to_unit(video)
