"""Fixtures: tiny real checkpoints written with save_pretrained (no network), built once per session."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory):
    """(folder, full model): a tiny Qwen2.5-VL checkpoint + tokenizer saved like a real hub snapshot."""
    from panoworld.models.components._tiny import tiny_qwen25vl

    model, tokenizer = tiny_qwen25vl(seed=1)
    folder = tmp_path_factory.mktemp("tiny_qwen")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, model, tokenizer


@pytest.fixture(scope="session")
def tiny_siglip_dir(tmp_path_factory):
    """(folder, SiglipModel): a full tiny SigLIP (text + vision) checkpoint like google/siglip2-so400m-patch14-384."""
    from transformers import SiglipConfig, SiglipModel, SiglipTextConfig

    from panoworld.models.components._tiny import tiny_siglip_config

    vision = tiny_siglip_config()
    text = SiglipTextConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                            num_attention_heads=2, max_position_embeddings=16)
    torch.manual_seed(2)
    model = SiglipModel(SiglipConfig(text_config=text.to_dict(), vision_config=vision.to_dict())).eval()
    folder = tmp_path_factory.mktemp("tiny_siglip")
    model.save_pretrained(folder)
    return folder, model


@pytest.fixture(scope="session")
def tiny_vae():
    from panoworld.models.components import VideoVAE

    return VideoVAE.tiny(seed=3)
