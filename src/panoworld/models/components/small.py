"""The small PanoWorld's components: their configs, how the frozen encoders are built, and the packaged folders.

The small model works at 128×256 ERP, 33 frames (4k + 1), 16 fps. Its components load through the same interfaces
as the full-size ones, from package data (no network):

- ``vae``: Wan2.1-architecture VAE (diffusers ``AutoencoderKLWan``) at a small width (:func:`small_vae_config`),
  8× spatial / 4× temporal, 16 latent channels → latents (16, 9, 16, 32); circular longitude padding is on (stored
  in its ``config.json``), and its ``latents_mean`` / ``latents_std`` were measured on its training data. Trained
  (:mod:`panoworld.train.vae`).
- ``text_encoder``: a Qwen2.5-VL language model, hidden 64, 2 layers, with a byte-level tokenizer (every UTF-8
  byte is a token, so any prompt encodes) and the Qwen chat template → (B, 512, 128) features.
- ``image_encoder``: a SigLIP vision tower, hidden 96, 2 layers, 112 px, patch 14 → (B, 64, 96) tokens.

The two encoders are *fixed random feature extractors*: weights drawn once from the seeds below and frozen. Their
features are deterministic functions of the input; the transformer learns to read them.

    from panoworld.models.components import TextEncoder, VideoVAE
    from panoworld.models.components.small import small_component_path
    vae = VideoVAE.from_pretrained(small_component_path("vae"), dtype=torch.float32)
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from panoworld.errors import InputError, MissingComponentError

from .paths import small_model_folder

__all__ = [
    "SMALL_ERP_SIZE",
    "SMALL_FPS",
    "SMALL_FRAMES",
    "SMALL_IMAGE_ENCODER_SEED",
    "SMALL_SLOTS",
    "SMALL_TEXT_ENCODER_SEED",
    "build_small_image_encoder",
    "build_small_text_encoder",
    "small_component_path",
    "small_siglip_config",
    "small_vae_config",
    "write_small_encoders",
]

SMALL_ERP_SIZE = (128, 256)
SMALL_FRAMES = 33
SMALL_FPS = 16
SMALL_SLOTS = ("vae", "text_encoder", "image_encoder")
SMALL_TEXT_ENCODER_SEED = 1801
SMALL_IMAGE_ENCODER_SEED = 1802
SMALL_TEXT_HIDDEN, SMALL_TEXT_LAYERS, SMALL_TEXT_MAX_TOKENS = 64, 2, 512
SMALL_IMAGE_HIDDEN, SMALL_IMAGE_SIZE, SMALL_IMAGE_PATCH = 96, 112, 14


def small_vae_config() -> dict:
    """``AutoencoderKLWan`` kwargs of the small VAE: Wan2.1's structure (3 downsamplings, the last two also in
    time; 16 latent channels; a mid block with attention) at widths 32/32/64/64 with one residual block per level.

    Widths below 24 channels are slower, not faster, with oneDNN's CPU convolutions; 32/32/64/64 decoded 9 frames
    faster than 16/32/64/64 and 24/48/48/48 on the 2-core CPU (``bench/vae_seam.py`` times the shipped one)."""
    from ._tiny import tiny_wan_vae_config

    return tiny_wan_vae_config(base_dim=32, dim_mult=(1, 1, 2, 2))


def small_siglip_config():
    """``SiglipVisionConfig`` of the small image encoder: hidden 96, 2 layers, 112 px, 14-px patches (64 tokens),
    no pooling head (PanoWorld reads the patch tokens)."""
    from ._tiny import tiny_siglip_config

    config = tiny_siglip_config(hidden_size=SMALL_IMAGE_HIDDEN, image_size=SMALL_IMAGE_SIZE,
                                patch_size=SMALL_IMAGE_PATCH)
    config.vision_use_head = False
    return config


def small_component_path(slot: str) -> Path:
    """Folder of the packaged small component ``slot`` (``vae``, ``text_encoder`` or ``image_encoder``)."""
    if slot not in SMALL_SLOTS:
        raise InputError(f"small model: unknown component '{slot}'; expected one of {', '.join(SMALL_SLOTS)}")
    path = small_model_folder() / slot
    if not (path / "config.json").is_file():
        raise MissingComponentError(
            f"small model: the packaged {slot} is missing at '{path}'; reinstall panoworld (pip install -e .)"
        )
    return path


def build_small_text_encoder(seed: int = SMALL_TEXT_ENCODER_SEED):
    """(language model, tokenizer) of the small text encoder, freshly drawn from ``seed`` (float32)."""
    from ._tiny import tiny_qwen25vl

    full, tokenizer = tiny_qwen25vl(hidden_size=SMALL_TEXT_HIDDEN, num_layers=SMALL_TEXT_LAYERS, seed=seed)
    return full.model.language_model, tokenizer


def build_small_image_encoder(seed: int = SMALL_IMAGE_ENCODER_SEED):
    """The small ``SiglipVisionModel``, freshly drawn from ``seed`` (float32)."""
    from transformers import SiglipVisionModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SiglipVisionModel(small_siglip_config()).eval()


def write_small_encoders(root: str | os.PathLike) -> dict[str, Path]:
    """Write ``root/text_encoder`` (weights + tokenizer + chat template) and ``root/image_encoder`` (float32
    safetensors) from the documented seeds; returns the two folders. Regenerates the package data."""
    root = Path(root)
    text, tokenizer = build_small_text_encoder()
    text_dir, image_dir = root / "text_encoder", root / "image_encoder"
    text.save_pretrained(text_dir)
    tokenizer.save_pretrained(text_dir)
    build_small_image_encoder().save_pretrained(image_dir)
    return {"text_encoder": text_dir, "image_encoder": image_dir}
