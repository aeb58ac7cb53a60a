"""Fixtures for the model tests: tiny random PanoWorld transformers and inputs (CPU, float32)."""

from __future__ import annotations

import pytest
import torch

from panoworld.models import PanoWorldTransformer, tiny_config


def make_inputs(model: PanoWorldTransformer, *, batch=1, frames=3, height=8, width=16, text_len=5, image_tokens=4,
                seed=0) -> dict:
    """Random forward() keyword arguments matching ``model``'s config."""
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    channels = cfg.out_channels + cfg.reference_channels
    kwargs = dict(
        hidden_states=torch.randn(batch, channels, frames, height, width, generator=g),
        timestep=torch.rand(batch, frames, generator=g),
        encoder_hidden_states=torch.randn(batch, text_len, cfg.crossattn_proj_in_channels, generator=g),
        condition_mask=(torch.rand(batch, 1, frames, height, width, generator=g) > 0.5).float(),
    )
    if cfg.img_context_dim_in:
        kwargs["image_hidden_states"] = torch.randn(batch, image_tokens, cfg.img_context_dim_in, generator=g)
    return kwargs


@pytest.fixture
def tiny_model() -> PanoWorldTransformer:
    torch.manual_seed(0)
    return PanoWorldTransformer(**tiny_config()).eval()
