"""Image reading and writing: (C, H, W) float tensors in [0, 1] at the API, uint8 on disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from panoworld.errors import InputError

from .atomic import atomic_path

__all__ = ["read_image", "write_image", "to_uint8", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """Read an image file as a (3, H, W) float32 tensor in [0, 1].

    EXIF orientation is applied; grayscale, palette and RGBA images become RGB (alpha is
    composited on black). Raises :class:`InputError` (one line) for a missing or unreadable file.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"image not found: {p}")
    try:
        with Image.open(p) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                canvas = Image.new("RGB", rgba.size, (0, 0, 0))
                canvas.paste(rgba, mask=rgba.getchannel("A"))
                img = canvas
            elif img.mode == "I;16" or img.mode == "I":
                arr16 = np.asarray(img, dtype=np.float32) / 65535.0
                arr = np.repeat(arr16[..., None], 3, axis=-1)
                return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).clamp(0, 1)
            else:
                img = img.convert("RGB")
            arr = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"cannot read image {p}: not a readable image file ({type(exc).__name__})") from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(..., C, H, W) float in [0, 1] -> (..., H, W, C) uint8 numpy array (rounded, clamped)."""
    arr = image.detach().to("cpu", torch.float32).clamp(0, 1).mul(255.0).round().to(torch.uint8)
    return arr.movedim(-3, -1).numpy()


def write_image(path: str | os.PathLike, image: torch.Tensor) -> Path:
    """Write a (C, H, W) float [0, 1] image (C = 1 or 3) atomically; the format follows the suffix."""
    from PIL import Image

    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected a (1 or 3, H, W) image, got {tuple(image.shape)}")
    arr = to_uint8(image)
    pil = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    with atomic_path(path) as tmp:
        pil.save(tmp, format=Image.registered_extensions().get(Path(path).suffix.lower(), "PNG"))
    return Path(path)
