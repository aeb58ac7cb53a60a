"""Model components around the PanoWorld transformer, each with ``from_pretrained`` and a tiny test build.

- :class:`TextEncoder`: Cosmos-Reason1-7B (Qwen2.5-VL) prompt features, (B, 512, 100352), optional disk cache.
- :class:`ImageEncoder`: SigLIP2 so400m/14-384 tokens, (B, 729, 1152); :func:`siglip_input_view` orientation.
- :class:`VideoVAE`: Wan2.1 VAE with normalised latents, (B, 16, 1 + (T−1)/4, H/8, W/8).
- :func:`resolve_component` / :class:`ComponentPaths`: default locations under ``$PANOWORLD_WEIGHTS``.
"""

from .image_encoder import SIGLIP_ORIENTATIONS, ImageEncoder, siglip_input_view
from .paths import COMPONENTS, ComponentPaths, ComponentSpec, resolve_component, weights_root
from .prompt_cache import PromptCache
from .text_encoder import SYSTEM_PROMPT, TextEncoder, standardize_and_concat
from .vae import WAN21_LATENTS_MEAN, WAN21_LATENTS_STD, VideoVAE

__all__ = [
    "COMPONENTS",
    "SIGLIP_ORIENTATIONS",
    "SYSTEM_PROMPT",
    "WAN21_LATENTS_MEAN",
    "WAN21_LATENTS_STD",
    "ComponentPaths",
    "ComponentSpec",
    "ImageEncoder",
    "PromptCache",
    "TextEncoder",
    "VideoVAE",
    "resolve_component",
    "siglip_input_view",
    "standardize_and_concat",
    "weights_root",
]
