"""Learned backbones: strict weight loading, clear errors when absent, sane outputs (tiny random nets)."""

from __future__ import annotations

import pytest
import torch

from panoworld.errors import MissingComponentError
from panoworld.eval.backbones import load_backbones
from panoworld.eval.backbones.inception import FIDInception
from panoworld.eval.backbones.lpips import LPIPSNet
from panoworld.eval.metrics import clip_scores


def test_lpips_loads_torchvision_and_lpips_files_strictly(tmp_path):
    net = LPIPSNet()
    trunk = {f"features.{k}": v for k, v in net.features.state_dict().items()}
    torch.save(trunk | {"classifier.1.weight": torch.ones(1)}, tmp_path / "alexnet-owt-7be5be79.pth")
    torch.save({f"lin{i}.model.1.weight": lin.weight.detach() * 0 + 0.01 * (i + 1) for i, lin in enumerate(net.lins)},
               tmp_path / "alex.pth")
    loaded = load_backbones(lpips=tmp_path).lpips
    assert torch.equal(loaded.features[0].weight, net.features[0].weight)
    assert torch.allclose(loaded.lins[2].weight, torch.full_like(loaded.lins[2].weight, 0.03))
    a, b = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    assert float(loaded.distance_map(a, a).abs().max()) == 0.0
    assert float(loaded.distance_map(a, b).mean()) > 0
    with pytest.raises(MissingComponentError, match="--lpips none"):
        LPIPSNet.from_pretrained(tmp_path / "empty")


def test_fid_inception_layout_and_strict_load(tmp_path):
    net = FIDInception()
    sd = net.state_dict()
    assert sd["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert sd["Mixed_7c.branch_pool.conv.weight"].shape == (192, 2048, 1, 1)
    assert sd["Mixed_6e.branch7x7dbl_5.conv.weight"].shape == (192, 192, 1, 7)
    assert sd["fc.weight"].shape == (1008, 2048) and net.out_dim == 2048
    thin_sd = FIDInception(width=1 / 16).state_dict()
    torch.save(thin_sd, tmp_path / "pt_inception-x.pth")  # same loader, strict, on a thin copy (fast)
    loaded = FIDInception.from_pretrained(tmp_path, width=1 / 16)
    assert torch.equal(loaded.Mixed_5b.branch1x1.conv.weight, thin_sd["Mixed_5b.branch1x1.conv.weight"])
    del thin_sd["fc.bias"]
    torch.save(thin_sd, tmp_path / "pt_inception-x.pth")
    with pytest.raises(RuntimeError, match="fc.bias"):
        FIDInception.from_pretrained(tmp_path, width=1 / 16)
    with pytest.raises(MissingComponentError, match="pt_inception"):
        FIDInception.from_pretrained(tmp_path / "nothing.pth")
    thin = FIDInception(width=1 / 16, input_size=75).eval()
    assert thin.features(torch.rand(3, 3, 32, 64)).shape == (3, thin.out_dim)


def test_clip_and_video_backbones(tiny_backbones, tmp_path):
    video = torch.rand(8, 3, 32, 64)
    emb = tiny_backbones.clip.image_embed(video)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(8), atol=1e-5)
    scores = clip_scores(tiny_backbones.clip, video, "a red chair")
    assert set(scores) == {"clip_t/erp", "clip_t/views"} and all(-1 <= v <= 1 for v in scores.values())
    assert tiny_backbones.video.features(video[None]).shape == (1, 32)
    with pytest.raises(MissingComponentError, match="--clip"):
        load_backbones(clip=str(tmp_path / "no-clip"))
    with pytest.raises(MissingComponentError, match="--video-model"):
        load_backbones(video=str(tmp_path / "no-videomae"))
    assert tiny_backbones.autoencoder.features(video[:3]).shape == (3, 4 * 2 * 4)
    with pytest.raises(MissingComponentError, match="--autoencoder"):
        load_backbones(autoencoder=str(tmp_path / "no-vae"))
