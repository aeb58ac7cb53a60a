"""Image-autoencoder features for ``fd_vae``: the latent means of a diffusers ``AutoencoderKL`` encoder.

FAED (BIPS) is a Fréchet distance in the latent space of an autoencoder trained on panoramas; no such weights are
public, and the reference's ``vq_faed`` is really a Swin3D video-feature distance. ``fd_vae`` is the honest
variant we can load: the same construction with a generic image VAE (default ``stabilityai/sd-vae-ft-mse``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AutoencoderBackbone", "DEFAULT_VAE"]

DEFAULT_VAE = "stabilityai/sd-vae-ft-mse"


class AutoencoderBackbone(nn.Module):
    """``features((N, 3, H, W) in [0, 1]) -> (N, C * pool * 2 pool)``: frames resized to ``size`` (H, 2H), encoded,
    latent means average-pooled to a ``pool`` x ``2 pool`` grid (ERP aspect) and flattened."""

    def __init__(self, vae, *, size: int = 256, pool: int = 8):
        super().__init__()
        self.vae, self.size, self.pool = vae.eval(), size, pool

    @classmethod
    def from_pretrained(cls, source: str, device="cpu", dtype=torch.float32) -> "AutoencoderBackbone":
        from panoworld.hub import hub_load_kwargs

        from . import missing

        try:
            from diffusers import AutoencoderKL

            vae = AutoencoderKL.from_pretrained(source, torch_dtype=dtype, **hub_load_kwargs(source))
        except (OSError, ValueError, ImportError) as exc:
            raise missing("autoencoder (fd_vae)", source, "--autoencoder", exc) from None
        return cls(vae).to(device)

    @torch.no_grad()
    def features(self, images: torch.Tensor, chunk: int = 16) -> torch.Tensor:
        param = next(self.vae.parameters())
        outs = []
        for start in range(0, images.shape[0], chunk):
            x = images[start : start + chunk].to(param.device, torch.float32)
            x = F.interpolate(x, size=(self.size, 2 * self.size), mode="bilinear", antialias=True)
            latent = self.vae.encode((2 * x - 1).to(param.dtype)).latent_dist.mean.float()
            outs.append(F.adaptive_avg_pool2d(latent, (self.pool, 2 * self.pool)).flatten(1))
        return torch.cat(outs)
