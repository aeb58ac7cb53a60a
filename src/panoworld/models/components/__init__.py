"""Model components around the PanoWorld transformer, each with ``from_pretrained`` and a tiny test build.

- :class:`TextEncoder`: Cosmos-Reason1-7B (Qwen2.5-VL) prompt features, (B, 512, 100352), optional disk cache.
- :class:`ImageEncoder`: SigLIP2 so400m/14-384 tokens, (B, 729, 1152); :func:`siglip_input_view` orientation.
- :class:`VideoVAE`: Wan2.1 VAE with normalised latents, (B, 16, 1 + (T−1)/4, H/8, W/8).
- :func:`resolve_component` / :class:`ComponentPaths`: default locations under ``$PANOWORLD_WEIGHTS``.
"""

# Submodules are imported on first use (PEP 562), so importing one light submodule (e.g.
# `paths` for `panoworld weights`) does not pull in diffusers and transformers.
from panoworld._lazy import lazy_exports

_EXPORTS = {
    "SIGLIP_ORIENTATIONS": ".image_encoder",
    "ImageEncoder": ".image_encoder",
    "siglip_input_view": ".image_encoder",
    "COMPONENTS": ".paths",
    "ComponentPaths": ".paths",
    "ComponentSpec": ".paths",
    "resolve_component": ".paths",
    "weights_root": ".paths",
    "PromptCache": ".prompt_cache",
    "SYSTEM_PROMPT": ".text_encoder",
    "TextEncoder": ".text_encoder",
    "standardize_and_concat": ".text_encoder",
    "WAN21_LATENTS_MEAN": ".vae",
    "WAN21_LATENTS_STD": ".vae",
    "VideoVAE": ".vae",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
