"""A small PanoWorld model folder with random weights: the small model's architecture (training preset
``tiny-synth``: the transformer with its depth head, the small Wan-architecture VAE with circular longitude, the
small fixed encoders of ``panoworld.models.components.small``) at a chosen output size.

It stands in for the trained small model where the weights do not matter: evaluation smoke tests, timing and the
end-to-end check of ``eval infer`` -> ``eval run`` -> ``eval report`` (its videos are noise). Written through
``panoworld.formats.model_folder``, so ``--model FOLDER`` loads it like any model folder::

    python -m panoworld.eval.small_model models/small-random --size 32x64 --frames 5 --steps 1
"""

from __future__ import annotations

import argparse
import os
from importlib import resources
from pathlib import Path

import torch

__all__ = ["small_transformer_config", "write_random_small_model"]

#: Seed of the random transformer and VAE weights.
SEED = 1903
#: The preset's ``[model]`` keys that configure the transformer's geometry heads.
HEAD_KEYS = ("depth_head_block", "descriptor_head_block", "head_hidden_dim", "descriptor_dim")


def small_transformer_config() -> dict:
    """``PanoWorldTransformer`` kwargs of the small model: the training preset ``tiny-synth``'s
    ``[model.transformer]`` table plus its heads (read from the packaged preset; eval does not import train)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    preset = resources.files("panoworld") / "configs" / "train" / "tiny-synth.toml"
    model = tomllib.loads(preset.read_text())["model"]
    return {**model["transformer"], **{key: model[key] for key in HEAD_KEYS}}


def write_random_small_model(folder: str | os.PathLike, *, height: int = 128, width: int = 256, num_frames: int = 33,
                             fps: float = 16.0, num_steps: int = 1, guidance: float = 2.0,
                             seed: int = SEED) -> Path:
    """Write ``folder`` (model_index.json, transformer/, vae/, text_encoder/, image_encoder/) and return it.

    ``height`` x ``width`` is the ERP output in pixels (multiples of 16), ``num_frames`` = 4k + 1 frames at ``fps``;
    ``num_steps`` and ``guidance`` are the default sampler's. The perspective input is half the ERP height and
    width. The encoders are the package's small ones (drawn from their documented seeds)."""
    from diffusers import AutoencoderKLWan

    from panoworld.formats.model_folder import ModelIndex, SamplerSpec, write_model_index
    from panoworld.models import PanoWorldTransformer
    from panoworld.models.components.small import small_vae_config, write_small_encoders
    from panoworld.models.components.vae import CIRCULAR_LONGITUDE_KEY

    folder = Path(folder)
    config = small_transformer_config()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        PanoWorldTransformer(**config).save_pretrained(folder / "transformer")
        vae = AutoencoderKLWan(**small_vae_config())
    vae.register_to_config(**{CIRCULAR_LONGITUDE_KEY: True})
    vae.save_pretrained(folder / "vae")
    write_small_encoders(folder)
    slots = ("transformer", "vae", "text_encoder", "image_encoder")
    defaults = {"height": height, "width": width, "num_frames": num_frames, "fps": fps, "latent_padding": 1,
                "persp_height": height // 2, "persp_width": width // 2}
    write_model_index(folder, ModelIndex(
        family="panoworld-small-random", components={slot: slot for slot in slots},
        sampler=SamplerSpec(kind="unipc-karras", num_steps=num_steps, guidance=guidance), defaults=defaults,
        provenance={"made_by": "panoworld.eval.small_model", "weights": f"random (seed {seed})"}))
    return folder


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="model folder to write")
    ap.add_argument("--size", default="128x256", help="ERP output HEIGHTxWIDTH in pixels (multiples of 16)")
    ap.add_argument("--frames", type=int, default=33, help="output frames (4k + 1)")
    ap.add_argument("--steps", type=int, default=1, help="sampler steps")
    args = ap.parse_args(argv)
    height, width = (int(v) for v in args.size.lower().split("x"))
    print(write_random_small_model(args.folder, height=height, width=width, num_frames=args.frames,
                                   num_steps=args.steps))


if __name__ == "__main__":
    main()
