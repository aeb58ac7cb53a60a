"""Tiny random components (real classes, random weights, no network) shared by the pipeline tests."""

from __future__ import annotations

import pytest
import torch

from panoworld.pipelines import GenerationConfig


def tiny_transformer(*, base: bool = False, seed: int = 0):
    from panoworld.models import PanoWorldTransformer, tiny_config

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cfg = tiny_config(reference_channels=0, img_context_dim_in=None) if base else tiny_config()
        return PanoWorldTransformer(**cfg).eval()


def tiny_config_for_tests(**overrides) -> GenerationConfig:
    """A run small enough for a 2-core CPU: 32x64 ERP, 5 frames, 3 evaluations."""
    values = dict(height=32, width=64, num_frames=5, num_steps=2, persp_height=16, persp_width=32, latent_padding=1)
    values.update(overrides)
    return GenerationConfig(**values)


@pytest.fixture(scope="module")
def tiny_pipeline():
    components = pytest.importorskip("panoworld.models.components")
    ImageEncoder, TextEncoder, VideoVAE = components.ImageEncoder, components.TextEncoder, components.VideoVAE
    from panoworld.pipelines import PanoWorldPipeline

    return PanoWorldPipeline(
        tiny_transformer(), VideoVAE.tiny(), TextEncoder.tiny(), ImageEncoder.tiny(),
        base_transformer=tiny_transformer(base=True, seed=1),
    )
