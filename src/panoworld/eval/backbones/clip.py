"""CLIP image/text embeddings for CLIP-T, through ``transformers.CLIPModel`` (local folder or hub id)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ClipBackbone", "CLIP_MEAN", "CLIP_STD"]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _pooled(out) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else out.pooler_output


class ClipBackbone(nn.Module):
    """``image_embed`` ((N, 3, H, W) in [0, 1], squashed to the model's square input) and ``text_embed``
    (list of strings, truncated to the model's context) -> L2-normalised (N, D) embeddings."""

    def __init__(self, model, tokenizer):
        super().__init__()
        self.model, self.tokenizer = model.eval(), tokenizer
        self.size = int(model.config.vision_config.image_size)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1))

    @classmethod
    def from_pretrained(cls, source: str, device="cpu", dtype=torch.float32) -> "ClipBackbone":
        from transformers import AutoTokenizer, CLIPModel

        from panoworld.hub import hub_load_kwargs

        from . import missing

        try:
            model = CLIPModel.from_pretrained(source, dtype=dtype, **hub_load_kwargs(source))
            tokenizer = AutoTokenizer.from_pretrained(source, **hub_load_kwargs(source))
        except (OSError, ValueError) as exc:
            raise missing("CLIP", source, "--clip", exc) from None
        return cls(model, tokenizer).to(device)

    @torch.no_grad()
    def image_embed(self, images: torch.Tensor, chunk: int = 64) -> torch.Tensor:
        dev, dtype = self.mean.device, next(self.model.parameters()).dtype
        outs = []
        for start in range(0, images.shape[0], chunk):
            x = images[start : start + chunk].to(dev, torch.float32)
            x = F.interpolate(x, size=(self.size, self.size), mode="bicubic", align_corners=False, antialias=True)
            x = ((x.clamp(0, 1) - self.mean) / self.std).to(dtype)
            outs.append(_pooled(self.model.get_image_features(pixel_values=x)).float())
        return F.normalize(torch.cat(outs), dim=-1)

    @torch.no_grad()
    def text_embed(self, texts: list[str]) -> torch.Tensor:
        limit = int(self.model.config.text_config.max_position_embeddings)
        tok = self.tokenizer(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
        tok = {k: v.to(self.mean.device) for k, v in tok.items()}
        return F.normalize(_pooled(self.model.get_text_features(**tok)).float(), dim=-1)
