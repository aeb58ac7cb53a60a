"""Tiny random model components written to disk with ``save_pretrained``, in both layouts a user has:
a weights root (``$PANOWORLD_WEIGHTS``) and a PanoWorld model folder (``model_index.json``)."""

from __future__ import annotations

from pathlib import Path

import torch

#: Generation defaults small enough for a 2-core CPU (32x64 ERP, 5 frames).
TINY_DEFAULTS = {"height": 32, "width": 64, "num_frames": 5, "fps": 16.0, "latent_padding": 1, "persp_height": 16,
                 "persp_width": 32}


def save_tiny_components(folders: dict[str, Path], *, seed: int = 0) -> None:
    """Save tiny random components: keys "transformer", "text_encoder", "image_encoder", "vae" -> folder."""
    from diffusers import AutoencoderKLWan
    from transformers import SiglipVisionModel

    from panoworld.models import PanoWorldTransformer, tiny_config
    from panoworld.models.components._tiny import tiny_qwen25vl, tiny_siglip_config, tiny_wan_vae_config

    torch.manual_seed(seed)
    PanoWorldTransformer(**tiny_config()).save_pretrained(folders["transformer"])
    qwen, tokenizer = tiny_qwen25vl(seed=seed + 1)
    qwen.save_pretrained(folders["text_encoder"])
    tokenizer.save_pretrained(folders["text_encoder"])
    SiglipVisionModel(tiny_siglip_config()).save_pretrained(folders["image_encoder"])
    AutoencoderKLWan(**tiny_wan_vae_config()).save_pretrained(folders["vae"])


def write_tiny_weights_root(root: Path) -> Path:
    """A weights root laid out as ``panoworld weights`` lists it."""
    save_tiny_components({"transformer": root / "panoworld", "text_encoder": root / "cosmos-reason1-7b",
                          "image_encoder": root / "siglip2-so400m-patch14-384", "vae": root / "wan2.1-vae"})
    return root


def write_tiny_model_folder(folder: Path, *, sampler: dict | None = None, steps: int = 1) -> Path:
    """A PanoWorld model folder with every component stored inside it and small generation defaults."""
    from panoworld.formats.model_folder import ModelIndex, SamplerSpec, write_model_index

    slots = ("transformer", "text_encoder", "image_encoder", "vae")
    save_tiny_components({slot: folder / slot for slot in slots})
    spec = SamplerSpec(**(sampler or {"kind": "unipc-karras", "num_steps": steps, "guidance": 2.0}))
    write_model_index(folder, ModelIndex(family="panoworld-tiny", components={s: s for s in slots}, sampler=spec,
                                         defaults=dict(TINY_DEFAULTS), provenance={"made_by": "tests"}))
    return folder
