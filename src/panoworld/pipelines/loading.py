"""Resolve and load every model a generation run needs (or tiny random stand-ins for smoke tests).

Component names and default folders come from ``panoworld.models.components.resolve_component``
(``$PANOWORLD_WEIGHTS``, default ``./weights/``); a missing one raises ``MissingComponentError`` naming the
file and where to get it, before anything is loaded or written.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .offload import OFFLOAD_MODES

__all__ = ["ModelPaths", "resolve_model_paths", "load_pipeline", "tiny_random_pipeline", "parse_dtype"]

#: Component names (``resolve_component``) of the PanoWorld net, base net, text encoder, SigLIP2 and VAE.
PANOWORLD, BASE, TEXT, SIGLIP, VAE = (
    "panoworld", "cosmos-predict2.5-2b", "cosmos-reason1-7b", "siglip2-so400m-patch14-384", "wan2.1-vae",
)


@dataclass
class ModelPaths:
    """User overrides (local path or hub id) per component; None = the default location."""

    checkpoint: str | None = None
    base_model: str | None = None
    text_encoder: str | None = None
    siglip: str | None = None
    vae: str | None = None


def resolve_model_paths(paths: ModelPaths, *, need_base: bool) -> dict[str, str]:
    """Component name -> resolved path / hub id; raises ``MissingComponentError`` for the first missing one."""
    from panoworld.models.components import resolve_component

    wanted = [(PANOWORLD, paths.checkpoint), (TEXT, paths.text_encoder), (SIGLIP, paths.siglip), (VAE, paths.vae)]
    if need_base:
        wanted.append((BASE, paths.base_model))
    return {name: resolve_component(name, override) for name, override in wanted}


def parse_dtype(name: str, device: torch.device) -> torch.dtype:
    """"auto" (bf16 on CUDA, fp32 on CPU), "bf16", "fp16" or "fp32" -> torch dtype."""
    table = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if name not in table:
        raise ValueError(f"dtype must be auto, bf16, fp16 or fp32, got {name!r}")
    return table[name]


def load_pipeline(resolved: dict[str, str], *, device: torch.device, dtype: torch.dtype, offload: str = "none",
                  rope_type: str = "equirect", text_cache: str | None = None, compile: bool = False,
                  attention: str = "auto"):
    """Load the real models from ``resolved`` (see :func:`resolve_model_paths`) into a ``PanoWorldPipeline``."""
    from panoworld.models.components import ImageEncoder, TextEncoder, VideoVAE
    from panoworld.models.loading import load_transformer

    from .panoworld import PanoWorldPipeline

    if offload not in OFFLOAD_MODES:
        raise ValueError(f"offload must be one of {', '.join(OFFLOAD_MODES)}, got {offload!r}")
    transformer = load_transformer(resolved[PANOWORLD], dtype=dtype, rope_type=rope_type)
    base = load_transformer(resolved[BASE], dtype=dtype, rope_type="linear") if BASE in resolved else None
    text = TextEncoder.from_pretrained(resolved[TEXT], dtype=dtype, cache_dir=text_cache)
    image = ImageEncoder.from_pretrained(resolved[SIGLIP], dtype=dtype)
    vae = VideoVAE.from_pretrained(resolved[VAE], dtype=dtype)
    if compile:
        for net in (transformer, base):
            if net is not None:
                net.compile_blocks()
    return PanoWorldPipeline(transformer, vae, text, image, base_transformer=base, device=device, offload=offload,
                             attention=attention)


def tiny_random_pipeline(*, device: torch.device, offload: str = "none", rope_type: str = "equirect", seed: int = 0):
    """A pipeline of tiny randomly initialised models (no weights needed; the output is noise)."""
    from panoworld.models import PanoWorldTransformer, tiny_config
    from panoworld.models.components import ImageEncoder, TextEncoder, VideoVAE

    from .panoworld import PanoWorldPipeline

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transformer = PanoWorldTransformer(**tiny_config(rope_type=rope_type)).eval()
        base = PanoWorldTransformer(**tiny_config(reference_channels=0, img_context_dim_in=None,
                                                  rope_type="linear")).eval()
    return PanoWorldPipeline(
        transformer, VideoVAE.tiny(seed=seed), TextEncoder.tiny(seed=seed), ImageEncoder.tiny(seed=seed),
        base_transformer=base, device=device, offload=offload,
    )
