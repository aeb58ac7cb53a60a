"""Fixtures: a tiny split written by ``panoworld.synth.write_split`` (exact GT) and tiny random backbones."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

#: Tiny split settings: 4 clips (static, rotate, walk, walk_rotate; indoor and outdoor), 9 frames of 32x64.
SPLIT = dict(clips=4, frames=9, size=(32, 64), seed=0, trajectories=(1, 1, 1, 1), ann_frames=9, grid_size=6,
             shadows=False)
H, W = SPLIT["size"]
#: ``eval run`` flags that turn every learned backbone off.
NO_NETS = ["--lpips", "none", "--clip", "none", "--inception", "none", "--video-model", "none", "--autoencoder", "none"]


def csv_rows(path) -> list[dict]:
    """The rows of a CSV file as dicts."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


class HashTokenizer:
    """Word-hash tokenizer with the call signature the CLIP wrapper uses (no vocab files needed)."""

    def __call__(self, texts, padding=True, truncation=True, max_length=32, return_tensors="pt"):
        ids = [[1] + [3 + sum(map(ord, w)) % 90 for w in t.split()][: max_length - 2] + [2] for t in texts]
        n = max(map(len, ids))
        return {
            "input_ids": torch.tensor([i + [0] * (n - len(i)) for i in ids]),
            "attention_mask": torch.tensor([[1] * len(i) + [0] * (n - len(i)) for i in ids]),
        }


def make_tiny_backbones():
    """Tiny randomly initialised LPIPS, CLIP, FID-Inception, VideoMAE and AutoencoderKL networks."""
    from diffusers import AutoencoderKL
    from transformers import CLIPConfig, CLIPModel, VideoMAEConfig, VideoMAEModel

    from panoworld.eval.backbones import Backbones
    from panoworld.eval.backbones.autoencoder import AutoencoderBackbone
    from panoworld.eval.backbones.clip import ClipBackbone
    from panoworld.eval.backbones.inception import FIDInception
    from panoworld.eval.backbones.lpips import LPIPSNet
    from panoworld.eval.backbones.video import VideoBackbone

    torch.manual_seed(0)
    text = dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=32, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                  num_attention_heads=4)
    clip = ClipBackbone(CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)),
                        HashTokenizer())
    video = VideoBackbone(VideoMAEModel(VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2,
                                                       hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                                       intermediate_size=37)))
    vae = AutoencoderKL(block_out_channels=(8,), down_block_types=("DownEncoderBlock2D",),
                        up_block_types=("UpDecoderBlock2D",), latent_channels=4, norm_num_groups=4, layers_per_block=1)
    return Backbones(lpips=LPIPSNet(width_mult=0.25).eval(), clip=clip,
                     inception=FIDInception(width=1 / 16, input_size=75).eval(), video=video,
                     autoencoder=AutoencoderBackbone(vae, size=16, pool=2))


@pytest.fixture(scope="session")
def tiny_backbones():
    return make_tiny_backbones()


@pytest.fixture(scope="session")
def small_random_model(tmp_path_factory) -> Path:
    """A model folder of the small model's architecture with random weights at 32x64, 5 frames, 1 step."""
    from panoworld.eval.small_model import write_random_small_model

    return write_random_small_model(tmp_path_factory.mktemp("small_model") / "model", height=H, width=W,
                                    num_frames=5, num_steps=1)


@pytest.fixture(scope="session")
def tiny_split(tmp_path_factory) -> Path:
    """master.csv of a synthetic split written by the real writer (panoworld.synth.write_split)."""
    from panoworld.synth import write_split

    root = tmp_path_factory.mktemp("synth_split")
    write_split(root, **SPLIT)
    return root / "master.csv"
