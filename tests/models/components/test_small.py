"""The packaged small-model components: offline loading through the public loaders, shapes, any prompt, determinism."""

from __future__ import annotations

import json

import pytest
import torch

from panoworld.errors import InputError
from panoworld.models.components import WAN21_LATENTS_MEAN, ImageEncoder, TextEncoder, VideoVAE
from panoworld.models.components.small import (
    SMALL_ERP_SIZE,
    SMALL_FRAMES,
    SMALL_SLOTS,
    build_small_image_encoder,
    small_component_path,
    small_vae_config,
)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def text_encoder():
    return TextEncoder.from_pretrained(small_component_path("text_encoder"), dtype=torch.float32)


@pytest.fixture(scope="module")
def small_vae():
    return VideoVAE.from_pretrained(small_component_path("vae"), dtype=torch.float32)


def test_every_slot_is_packaged_with_safetensors_only():
    total = 0
    for slot in SMALL_SLOTS:
        folder = small_component_path(slot)
        weights = list(folder.glob("*.safetensors"))
        assert weights and not list(folder.glob("*.bin")) and not list(folder.glob("*.pt*"))
        total += sum(p.stat().st_size for p in folder.iterdir())
    assert total < 12 * 2**20


def test_unknown_slot_is_input_error():
    with pytest.raises(InputError, match="unknown component"):
        small_component_path("transformer_xl")


def test_text_encoder_dims_and_template(text_encoder):
    assert (text_encoder.num_layers, text_encoder.hidden_size, text_encoder.embed_dim) == (2, 64, 128)
    assert text_encoder.max_length == 512
    out = text_encoder.encode(["a bright kitchen with a wooden table"])
    assert out.shape == (1, 512, 128) and out.dtype == torch.float32 and torch.isfinite(out).all()
    ids = text_encoder.tokenize(["hi"])[0].tolist()
    im_start = text_encoder.tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert ids[0] == im_start and ids.count(im_start) == 2  # system + user turns of the chat template


@pytest.mark.parametrize("prompt", [
    "", "Ünïcödé façade — 東京の夜景 🌃🚗", "zero\x00width\u200bjoiner\u200d", "\U0001F9EA" * 400,
    "tab\tnewline\nreturn\r", "a" * 5000,
])
def test_any_prompt_encodes(text_encoder, prompt):
    out = text_encoder.encode([prompt])
    assert out.shape == (1, 512, 128) and torch.isfinite(out).all()


def test_text_features_are_deterministic_and_prompt_dependent(text_encoder):
    prompts = ["a quiet street at dusk", "a quiet street at dawn"]
    a = text_encoder.encode(prompts)
    reloaded = TextEncoder.from_pretrained(small_component_path("text_encoder"), dtype=torch.float32)
    torch.testing.assert_close(reloaded.encode(prompts), a, rtol=0, atol=0)
    assert not torch.allclose(a[0], a[1])


def test_image_encoder_tokens_and_determinism():
    enc = ImageEncoder.from_pretrained(small_component_path("image_encoder"), dtype=torch.float32)
    assert (enc.image_size, enc.patch_size, enc.num_tokens, enc.embed_dim) == (112, 14, 64, 96)
    images = torch.rand(2, 3, 240, 320, generator=torch.Generator().manual_seed(0))
    tokens = enc.encode(images)
    assert tokens.shape == (2, 64, 96) and torch.isfinite(tokens).all()
    torch.testing.assert_close(enc.encode(images), tokens, rtol=0, atol=0)
    assert not torch.allclose(tokens[0], tokens[1])


def test_image_encoder_is_the_documented_seeded_build():
    """The packaged weights are the seeded build (frozen random feature extractor), not something else."""
    from safetensors.torch import load_file

    packaged = load_file(str(small_component_path("image_encoder") / "model.safetensors"))
    fresh = build_small_image_encoder().state_dict()
    assert packaged.keys() == fresh.keys()
    assert all(torch.equal(packaged[k], fresh[k]) for k in packaged)


def test_vae_config_spec_and_seam_switch(small_vae):
    config = json.loads((small_component_path("vae") / "config.json").read_text())
    assert config["_panoworld_circular_longitude"] is True
    assert {k: config[k] for k in small_vae_config()} == small_vae_config()
    assert small_vae.circular_longitude
    assert small_vae.latent_shape(SMALL_FRAMES, *SMALL_ERP_SIZE) == (16, 9, 16, 32)
    assert tuple(config["latents_mean"]) != WAN21_LATENTS_MEAN and len(config["latents_std"]) == 16
    assert all(s > 0 for s in config["latents_std"])


def test_vae_reconstructs_a_synth_frame(small_vae):
    """The trained weights reconstruct an unseen synth frame (scene seed in the held-out range) well, and the
    latents of the roll by 8 columns are the rolled latents (circular padding loaded from the config)."""
    from panoworld.eval.metrics.visual import psnr
    from panoworld.train.vae import HELDOUT_SEED_START, render_synth_clip

    clip = torch.from_numpy(render_synth_clip(HELDOUT_SEED_START + 1, frames=1, size=SMALL_ERP_SIZE)).float() / 255
    video = (clip * 2 - 1).permute(1, 0, 2, 3)[None]
    z = small_vae.encode(video)
    assert z.shape == (1, 16, 1, 16, 32)
    recon = (small_vae.decode(z)[0].permute(1, 0, 2, 3) + 1) / 2
    assert float(psnr(recon, clip).mean()) > 20.0  # randomly initialised: about 10 dB
    torch.testing.assert_close(small_vae.encode(torch.roll(video, 8, -1)), torch.roll(z, 1, -1), rtol=0, atol=1e-4)
