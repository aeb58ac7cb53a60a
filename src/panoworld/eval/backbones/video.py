"""Video features for FVD: VideoMAE (``transformers.VideoMAEModel``), mean-pooled last hidden state.

Why VideoMAE rather than I3D: the I3D used by the original FVD exists only as TF-Hub / TorchScript
artefacts (no ``weights_only`` loading, no safetensors), while VideoMAE-Base fine-tuned on Kinetics-400
(``MCG-NJU/videomae-base-finetuned-kinetics``) loads from a hub id or a local folder as plain weights.
Numbers are therefore "FVD-VideoMAE": they rank methods but are not comparable with I3D FVD in papers.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["VideoBackbone", "IMAGENET_MEAN", "IMAGENET_STD", "DEFAULT_VIDEO_MODEL"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_VIDEO_MODEL = "MCG-NJU/videomae-base-finetuned-kinetics"


class VideoBackbone(nn.Module):
    """``features((B, T, 3, H, W) in [0, 1]) -> (B, D)``: ``num_frames`` frames picked uniformly from T,
    squashed to the model's square size, ImageNet-normalised, mean of the last hidden states."""

    def __init__(self, model):
        super().__init__()
        self.model = model.eval()
        self.num_frames = int(model.config.num_frames)
        self.size = int(model.config.image_size)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 1, 3, 1, 1))

    @classmethod
    def from_pretrained(cls, source: str, device="cpu", dtype=torch.float32) -> "VideoBackbone":
        from transformers import VideoMAEModel

        from panoworld.hub import hub_load_kwargs

        from . import missing

        try:
            model = VideoMAEModel.from_pretrained(source, dtype=dtype, **hub_load_kwargs(source))
        except (OSError, ValueError) as exc:
            raise missing("VideoMAE (FVD)", source, "--video-model", exc) from None
        return cls(model).to(device)

    @torch.no_grad()
    def features(self, videos: torch.Tensor) -> torch.Tensor:
        dev, dtype = self.mean.device, next(self.model.parameters()).dtype
        idx = np.linspace(0, videos.shape[1] - 1, self.num_frames).round().astype(int).tolist()
        x = videos[:, idx].to(dev, torch.float32)
        b, t = x.shape[:2]
        x = F.interpolate(x.flatten(0, 1), size=(self.size, self.size), mode="bilinear", antialias=True)
        x = ((x.view(b, t, 3, self.size, self.size) - self.mean) / self.std).to(dtype)
        return self.model(pixel_values=x).last_hidden_state.float().mean(dim=1)
