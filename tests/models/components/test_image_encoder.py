"""ImageEncoder: shapes, preprocessing (bicubic + antialias, mean = std = 0.5), orientation switch, loading."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from panoworld.errors import InputError, MissingComponentError
from panoworld.models.components import ImageEncoder, siglip_input_view


@pytest.fixture(scope="module")
def encoder():
    return ImageEncoder.tiny()


def test_tiny_shapes(encoder):
    out = encoder.encode(torch.rand(2, 3, 48, 96))
    assert out.shape == (2, 16, 16)
    assert encoder.embed_dim == 16 and encoder.num_tokens == 16


def test_preprocess_resize_and_normalise(encoder):
    x = torch.full((1, 3, 100, 60), 0.75)
    pixels = encoder.preprocess(x)
    assert pixels.shape == (1, 3, 56, 56)
    torch.testing.assert_close(pixels, torch.full_like(pixels, 0.5))
    img = torch.rand(1, 3, 200, 300)
    ref = F.interpolate(img, size=(56, 56), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1) * 2 - 1
    torch.testing.assert_close(encoder.preprocess(img), ref, rtol=0, atol=0)
    aliased = F.interpolate(img, size=(56, 56), mode="bicubic", antialias=False, align_corners=False) * 2 - 1
    assert (encoder.preprocess(img) - aliased).abs().max() > 0.05


def test_bad_shape_is_input_error(encoder):
    with pytest.raises(InputError):
        encoder.encode(torch.rand(3, 32, 32))


def test_orientation_switch():
    img = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    flipped = siglip_input_view(img, "reference")
    assert torch.equal(flipped[..., 0, :], img[..., -1, :])
    assert torch.equal(flipped[..., :, 0], img.flip(-2)[..., :, 0])
    assert torch.equal(siglip_input_view(img), flipped)
    assert torch.equal(siglip_input_view(img, "upright"), img)
    with pytest.raises(InputError, match="orientation"):
        siglip_input_view(img, "sideways")


def test_orientation_changes_tokens(encoder):
    img = torch.rand(1, 3, 56, 56)
    up = encoder.encode(siglip_input_view(img, "upright"))
    ref = encoder.encode(siglip_input_view(img, "reference"))
    torch.testing.assert_close(ref, encoder.encode(img.flip(-2)))
    assert (up - ref).abs().max() > 1e-3


def test_from_pretrained_full_siglip_checkpoint(tiny_siglip_dir):
    folder, full = tiny_siglip_dir
    enc = ImageEncoder.from_pretrained(folder)
    img = torch.rand(2, 3, 56, 56)
    with torch.no_grad():
        ref = full.vision_model(pixel_values=(img - 0.5) / 0.5).last_hidden_state
    torch.testing.assert_close(enc.encode(img), ref, rtol=0, atol=1e-6)


def test_from_pretrained_vision_only_folder(encoder, tmp_path):
    encoder.model.save_pretrained(tmp_path)
    enc = ImageEncoder.from_pretrained(tmp_path, dtype=torch.float32)
    img = torch.rand(1, 3, 70, 70)
    torch.testing.assert_close(enc.encode(img), encoder.encode(img), rtol=0, atol=0)


def test_missing_folder(tmp_path):
    with pytest.raises(MissingComponentError, match="image encoder"):
        ImageEncoder.from_pretrained(tmp_path / "absent")


def test_preprocess_matches_hf_pil_processor_to_uint8_rounding(encoder):
    """Bicubic + antialias reproduces the HF SigLIP processor (PIL bicubic), up to its uint8 rounding."""
    import numpy as np
    from PIL import Image

    try:
        from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil as Processor
    except ImportError:  # older transformers: the slow processor is the PIL one
        from transformers import SiglipImageProcessor as Processor

    g = torch.Generator().manual_seed(0)
    smooth = F.interpolate(torch.rand(1, 3, 12, 16, generator=g), size=(120, 160), mode="bilinear")
    u8 = (smooth * 255).round().to(torch.uint8)
    proc = Processor(size={"height": 56, "width": 56}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    ref = proc(images=Image.fromarray(np.ascontiguousarray(u8[0].permute(1, 2, 0).numpy())),
               return_tensors="pt")["pixel_values"]
    ours = encoder.preprocess(u8.float() / 255)
    assert (ours - ref).abs().max() < 2.5 / 255 * 2
    no_aa = F.interpolate(u8.float() / 255, size=(56, 56), mode="bicubic", antialias=False) * 2 - 1
    assert (no_aa - ref).abs().max() > (ours - ref).abs().max()
