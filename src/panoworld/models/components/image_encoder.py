"""Image encoder: SigLIP2 so400m/14-384 vision tower → 729 patch tokens of 1152 features (reference §2.4).

Preprocessing (``ImageEncoder.preprocess``): RGB in [0, 1], shape (B, 3, H, W), any size →
``torch.nn.functional.interpolate(mode="bicubic", antialias=True, align_corners=False)`` to 384×384 → clamp to
[0, 1] → ``(x − 0.5) / 0.5``. This is what the Hugging Face ``SiglipImageProcessor`` does (its torch backend calls
``resize(..., BICUBIC, antialias=True)``; its PIL backend uses PIL's antialiased bicubic), except that the HF path
quantises the resized image to uint8 first; we keep floats (difference ≤ 1/255 per pixel before normalisation).
Antialiasing matters when shrinking: a 512×1024 frame or a 480×640 crop downscaled without it aliases.

Output: ``last_hidden_state`` (after the post-layernorm), (B, 729, 1152); the pooling head is unused.

Orientation: the released PanoWorld checkpoint was trained with SigLIP inputs that were vertically flipped
perspective crops (reference §0 fact 10 and §4.5: the reference ``equi2pers`` returns upside-down crops and the
chained driver feeds them to SigLIP unchanged). :func:`siglip_input_view` is the one switch for that; the
pipeline calls it before :meth:`ImageEncoder.encode`.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from panoworld.errors import InputError, MissingComponentError
from panoworld.hub import hub_load_kwargs, is_hub_id

from ._base import ComponentBase, load_device_kwargs, quiet_transformers

__all__ = ["SIGLIP_ORIENTATIONS", "ImageEncoder", "siglip_input_view"]

SIGLIP_ORIENTATIONS = ("reference", "upright")


def siglip_input_view(images: torch.Tensor, orientation: str = "reference") -> torch.Tensor:
    """The view of upright images (…, C, H, W) that the SigLIP branch should see.

    ``orientation="reference"`` (default): flipped vertically (top row ↔ bottom row), as the released PanoWorld
    checkpoint saw its SigLIP inputs during training (reference §4.5; the chained evaluation driver feeds these
    flipped crops). ``"upright"``: unchanged, as the reference's single-shot ``generate_pano.py --v3`` path does.
    Left/right is never flipped.
    """
    if orientation == "reference":
        return images.flip(-2)
    if orientation == "upright":
        return images
    raise InputError(f"siglip orientation must be one of {', '.join(SIGLIP_ORIENTATIONS)}, got '{orientation}'")


class ImageEncoder(ComponentBase):
    """Images (B, 3, H, W) in [0, 1] → SigLIP tokens (B, N, embed_dim); N = 729, embed_dim = 1152 for so400m-384.

    Args:
        model: a ``transformers.SiglipVisionModel``.
    """

    def __init__(self, model) -> None:
        self.model = model.eval()
        cfg = model.config
        self.image_size = int(cfg.image_size)
        self.patch_size = int(cfg.patch_size)

    @property
    def embed_dim(self) -> int:
        """Features per token (1152 for so400m)."""
        return int(self.model.config.hidden_size)

    @property
    def num_tokens(self) -> int:
        """Tokens per image: (image_size / patch_size)² = 729 at 384 px with 14-px patches."""
        return (self.image_size // self.patch_size) ** 2

    @classmethod
    def from_pretrained(cls, path_or_hub_id: str | os.PathLike, *, device=None, dtype=None,
                        local_files_only: bool | None = None) -> "ImageEncoder":
        """Load the vision tower of a SigLIP checkpoint (full ``SiglipModel`` or vision-only folder, or hub id)."""
        from transformers import AutoConfig, SiglipVisionModel

        source = str(path_or_hub_id)
        if not os.path.isdir(source) and not is_hub_id(source):
            raise MissingComponentError(f"image encoder: no folder at '{source}' (expected a SigLIP2 checkpoint)")
        kwargs = hub_load_kwargs(source) if local_files_only is None else {"local_files_only": local_files_only}
        try:
            model_type = AutoConfig.from_pretrained(source, **kwargs).model_type
            if model_type not in ("siglip", "siglip_vision_model"):
                raise MissingComponentError(
                    f"image encoder: '{source}' is a '{model_type}' model; PanoWorld needs the fixed-resolution "
                    "SigLIP2 checkpoint google/siglip2-so400m-patch14-384"
                )
            with quiet_transformers():
                model, info = SiglipVisionModel.from_pretrained(
                    source, dtype=dtype if dtype is not None else torch.float32, output_loading_info=True,
                    **load_device_kwargs(device), **kwargs,
                )
        except OSError as exc:
            raise MissingComponentError(
                f"image encoder: cannot load '{source}' ({str(exc).splitlines()[0]}); "
                "download google/siglip2-so400m-patch14-384"
            ) from exc
        missing = sorted(k for k in info.get("missing_keys", []) if not k.startswith("vision_model.head."))
        if missing:
            raise MissingComponentError(
                f"image encoder: '{source}' lacks {len(missing)} vision weights (e.g. {', '.join(missing[:3])})"
            )
        if device is not None:
            model = model.to(device)
        return cls(model)

    @classmethod
    def tiny(cls, *, hidden_size: int = 16, image_size: int = 56, patch_size: int = 14,
             seed: int = 0) -> "ImageEncoder":
        """Random 2-layer SigLIP vision tower: (B, (image_size/patch_size)², hidden_size) = (B, 16, 16)."""
        from transformers import SiglipVisionModel

        from ._tiny import tiny_siglip_config

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = SiglipVisionModel(tiny_siglip_config(hidden_size=hidden_size, image_size=image_size,
                                                         patch_size=patch_size))
        return cls(model)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] → (B, 3, S, S) normalised to [-1, 1] (S = 384), float32."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise InputError(f"image encoder: expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
        x = images.float()
        if tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False,
                              antialias=True)
        x = x.clamp(0.0, 1.0)
        return (x - 0.5) / 0.5

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] → ``last_hidden_state`` (B, N, embed_dim) in the encoder dtype."""
        pixels = self.preprocess(images.to(self.device)).to(self.dtype)
        return self.model(pixel_values=pixels).last_hidden_state
