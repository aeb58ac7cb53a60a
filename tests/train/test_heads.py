"""Geometry heads of the transformer: off by default (released layout), opt-in outputs, depth at inference."""

from __future__ import annotations

import math

import pytest
import torch

from panoworld.models import PanoWorldTransformer, tiny_config
from panoworld.models.heads import latent_depth_to_video, latent_frame_of
from tests.models.conftest import make_inputs

HEADS = dict(depth_head_block=1, descriptor_head_block=-2, head_hidden_dim=16, descriptor_dim=8)


def _pair():
    torch.manual_seed(0)
    plain = PanoWorldTransformer(**tiny_config()).eval()
    torch.manual_seed(0)
    headed = PanoWorldTransformer(**tiny_config(), **HEADS).eval()
    headed.load_state_dict(plain.state_dict(), strict=False)
    return plain, headed


def test_heads_are_off_by_default_and_add_only_their_own_keys():
    plain, headed = _pair()
    assert not any("head" in k for k in plain.state_dict()) and not plain.has_depth_head
    extra = set(headed.state_dict()) - set(plain.state_dict())
    assert extra and all(k.startswith(("depth_head.", "descriptor_head.")) for k in extra)
    assert set(plain.state_dict()) <= set(headed.state_dict()) and headed.has_depth_head
    with pytest.raises(ValueError, match="depth_head_block"):
        PanoWorldTransformer(**tiny_config(), depth_head_block=2)


def test_default_forward_is_unchanged_and_heads_come_only_when_asked():
    plain, headed = _pair()
    kwargs = make_inputs(plain)
    with torch.no_grad():
        reference = plain(**kwargs).sample
        default = headed(**kwargs)
        tup = headed(**kwargs, return_dict=False)
        full = headed(**kwargs, return_heads=True)
        as_tuple = headed(**kwargs, return_heads=True, return_dict=False)
        no_heads = plain(**kwargs, return_heads=True)
    assert type(default).__name__ == "Transformer2DModelOutput" and len(tup) == 1
    assert torch.equal(default.sample, reference) and torch.equal(full.sample, reference)
    assert full.depth.shape == (1, 1, 3, 8, 16) and full.descriptors.shape == (1, 8, 3, 8, 16)
    assert full.depth.dtype == torch.float32 and len(as_tuple) == 3 and torch.equal(as_tuple[1], full.depth)
    assert no_heads.depth is None and no_heads.descriptors is None


def test_heads_survive_save_and_load(tmp_path):
    _, headed = _pair()
    headed.save_pretrained(tmp_path / "t")
    back = PanoWorldTransformer.from_pretrained(tmp_path / "t")
    kwargs = make_inputs(headed)
    with torch.no_grad():
        a, b = headed(**kwargs, return_heads=True), back(**kwargs, return_heads=True)
    assert torch.equal(a.depth, b.depth) and torch.equal(a.descriptors, b.descriptors)


def test_latent_frames_of_the_causal_vae():
    assert [int(latent_frame_of(f)) for f in range(10)] == [0, 1, 1, 1, 1, 2, 2, 2, 2, 3]


def test_latent_depth_to_video_units_frames_and_seam():
    log = torch.zeros(1, 1, 3, 4, 8)
    log[0, 0, 1] = math.log(2.0)
    log[0, 0, 2, :, -1] = math.log(5.0)  # last latent column: the seam neighbours of the first
    video = latent_depth_to_video(log, 9, (32, 64))
    assert video.shape == (9, 32, 64) and video.dtype == torch.float32
    torch.testing.assert_close(video[0], torch.ones(32, 64))
    for f in (1, 2, 3, 4):
        torch.testing.assert_close(video[f], torch.full((32, 64), 2.0))
    # column 0 blends with the last latent column (wrap), not with the border
    assert video[8, 8:24, 0].mean() > 1.5 and video[8, 8:24, 32].mean() == pytest.approx(1.0)
