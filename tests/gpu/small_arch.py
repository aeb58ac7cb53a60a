"""The small PanoWorld's architecture with random weights, for the GPU tests of the fast switches.

Transformer: the ``tiny-synth`` training preset's ``model.transformer`` table plus its depth / descriptor heads
(~7 M parameters); VAE: ``AutoencoderKLWan(**small_vae_config())``; text and image encoders: the packaged small
ones (fixed random feature extractors). Generation: 128×256 ERP, 33 frames, the preset's 15 validation steps, CFG 7.
Random weights make the *outputs* meaningless, not the arithmetic: these runs test that each switch runs, stays
finite and moves the result by much less than a different noise seed does.
"""

from __future__ import annotations

import torch

from panoworld.pipelines import GenerationConfig

#: 128×256 ERP, 33 frames (latent 16×9×16×32), the preset's validation steps, 112-px perspective input.
SMALL_RUN = dict(height=128, width=256, num_frames=33, num_steps=15, guidance=7.0, persp_height=112,
                 persp_width=160, latent_padding=1)


def small_transformer(seed: int = 0):
    """``PanoWorldTransformer`` of the ``tiny-synth`` preset (heads included), random weights from ``seed``."""
    from panoworld.models import PanoWorldTransformer
    from panoworld.train.config import load_config
    from panoworld.train.modeling import HEAD_CONFIG_KEYS

    model_cfg = load_config("tiny-synth").model
    config = dict(model_cfg.transformer)
    config.update({key: getattr(model_cfg, key) for key in HEAD_CONFIG_KEYS})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return PanoWorldTransformer(**config).eval()


def small_architecture_pipeline(device: str = "cuda", dtype: torch.dtype = torch.bfloat16, seed: int = 0):
    """A ``PanoWorldPipeline`` of the small architecture on ``device``; transformer and VAE in ``dtype``."""
    from diffusers import AutoencoderKLWan

    from panoworld.models.components import ImageEncoder, TextEncoder, VideoVAE
    from panoworld.models.components.small import small_component_path, small_vae_config
    from panoworld.pipelines import PanoWorldPipeline

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        vae = VideoVAE(AutoencoderKLWan(**small_vae_config()).eval())
    pipe = PanoWorldPipeline(
        small_transformer(seed), vae,
        TextEncoder.from_pretrained(small_component_path("text_encoder"), dtype=torch.float32),
        ImageEncoder.from_pretrained(small_component_path("image_encoder"), dtype=torch.float32),
        device=device,
    )
    pipe.transformer.to(dtype)
    pipe.vae.to(dtype=dtype)
    return pipe


def small_run(**overrides) -> GenerationConfig:
    """:data:`SMALL_RUN` with ``overrides``."""
    return GenerationConfig(**{**SMALL_RUN, **overrides})


def random_photo(seed: int = 0) -> torch.Tensor:
    """A (3, 120, 160) random photo in [0, 1]."""
    return torch.rand(3, 120, 160, generator=torch.Generator().manual_seed(seed))
