"""Tiny training fixtures: random components saved as folders, tiny synth splits, one shared cache (CPU, seconds).

Sizes: ERP 32x64, 9 frames -> latents (16, 3, 4, 8); a 2-block transformer (hidden 48) with both heads on block 1.
Torch runs single-threaded here: the 2-core test machine is shared by two xdist workers.
"""

from __future__ import annotations

import copy

import pytest
import torch

from panoworld.models import tiny_config

TRAIN_SEED, VAL_SEED = 1_000_000, 2_000_000


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_components(tmp_path_factory) -> dict:
    """Folders of a tiny random Wan VAE, Qwen2.5-VL text tower (64-d features) and SigLIP (16 tokens of 16-d)."""
    from panoworld.models.components import ImageEncoder, TextEncoder, VideoVAE

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("components")
    VideoVAE.tiny().model.save_pretrained(root / "vae")
    text = TextEncoder.tiny()
    text.model.save_pretrained(root / "text_encoder")
    text.tokenizer.save_pretrained(root / "text_encoder")
    ImageEncoder.tiny().model.save_pretrained(root / "image_encoder")
    return {slot: str(root / slot) for slot in ("vae", "text_encoder", "image_encoder")}


@pytest.fixture(scope="session")
def synth_splits(tmp_path_factory) -> dict:
    """A 2-clip training split and a 1-clip validation split, every frame annotated."""
    from panoworld.synth import write_split

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("synth")
    write_split(root / "train", clips=2, frames=9, size=(32, 64), seed=TRAIN_SEED, ann_frames=0, grid_size=6,
                split="tr", trajectories=(0, 1, 1, 0))
    write_split(root / "val", clips=1, frames=9, size=(32, 64), seed=VAL_SEED, ann_frames=0, grid_size=6, split="va")
    return {"train": str(root / "train"), "val": str(root / "val")}


def tiny_raw(components: dict, splits: dict, cache_dir, out_dir, **sections) -> dict:
    """A raw (TOML-like) config of the tiny setup; ``sections`` update single keys per section."""
    raw = {
        "run": {"out_dir": str(out_dir), "max_steps": 4, "log_every": 1, "checkpoint_every": 100, "seed": 0},
        "model": {"family": "panoworld-test", "transformer": tiny_config(text_dim=64, img_context_dim_in=16),
                  "depth_head_block": 1, "descriptor_head_block": 1, "head_hidden_dim": 32, "descriptor_dim": 16},
        "components": {**components, "copy": "always"},
        "data": {"train": [{"path": splits["train"]}], "val": [{"path": splits["val"]}], "cache_dir": str(cache_dir),
                 "height": 32, "width": 64, "num_frames": 9, "batch_size": 2, "persp_height": 16, "persp_width": 22},
        "samples": {"views_per_clip": 2},
        "loss": {"depth_weight": 0.5, "track_weight": 0.1, "rigidity_weight": 0.1},
        "optim": {"lr": 1e-3, "warmup_steps": 2},
        "validation": {"every": 0, "clips": 1, "num_steps": 2, "latent_padding": 1},
        "logging": {"progress": False},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return copy.deepcopy(raw)


@pytest.fixture(scope="session")
def tiny_cache(tiny_components, synth_splits, tmp_path_factory):
    """(make_config, cache_dir): the shared cache, built once; ``make_config(out_dir, **sections)`` -> TrainConfig."""
    from panoworld.train.cache import build_cache
    from panoworld.train.config import config_from_dict

    torch.set_num_threads(1)
    cache_dir = tmp_path_factory.mktemp("cache")

    def make_config(out_dir, **sections):
        return config_from_dict(tiny_raw(tiny_components, synth_splits, cache_dir, out_dir, **sections)).validate()

    build_cache(make_config(cache_dir / "unused"), device=torch.device("cpu"))
    return make_config, cache_dir
