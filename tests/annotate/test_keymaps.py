"""Strict key mappings: released DAP / CoTracker3 names and shapes load; unknown or missing keys fail by name."""

from __future__ import annotations

import pytest
import torch

from panoworld.annotate.checkpoints import CheckpointKeyError, read_state_dict
from panoworld.annotate.cotracker import CoTracker3Offline, CoTrackerConfig
from panoworld.annotate.cotracker_keys import cotracker_released_shapes, load_cotracker
from panoworld.annotate.dap import DAPConfig, DAPModel
from panoworld.annotate.dap_keys import convert_dap_state_dict, dap_released_shapes, load_dap

# Fixture derived from DAP's public architecture (DINOv3 ViT-L/16 hub model inside DepthAnythingV2 ``core``,
# DPT heads with features 256 and out channels 256/512/1024/1024): a sample of released names and shapes.
DAP_FULL_SAMPLE = {
    "core.pretrained.model.cls_token": (1, 1, 1024),
    "core.pretrained.model.storage_tokens": (1, 4, 1024),
    "core.pretrained.model.mask_token": (1, 1024),
    "core.pretrained.model.patch_embed.proj.weight": (1024, 3, 16, 16),
    "core.pretrained.model.rope_embed.periods": (16,),
    "core.pretrained.model.blocks.23.attn.qkv.weight": (3072, 1024),
    "core.pretrained.model.blocks.23.attn.qkv.bias_mask": (3072,),
    "core.pretrained.model.blocks.0.ls1.gamma": (1024,),
    "core.pretrained.model.blocks.0.mlp.fc1.weight": (4096, 1024),
    "core.pretrained.model.norm.weight": (1024,),
    "core.pretrained.norm.bias": (1024,),
    "core.depth_head.projects.2.weight": (1024, 1024, 1, 1),
    "core.depth_head.resize_layers.0.weight": (256, 256, 4, 4),
    "core.depth_head.resize_layers.3.weight": (1024, 1024, 3, 3),
    "core.mask_head.scratch.layer4_rn.weight": (256, 1024, 3, 3),
    "core.mask_head.scratch.refinenet1.resConfUnit2.conv1.weight": (256, 256, 3, 3),
    "core.mask_head.scratch.output_conv1.weight": (128, 256, 3, 3),
    "core.mask_head.scratch.output_conv2.2.weight": (1, 32, 1, 1),
}
COTRACKER_FULL_SAMPLE = {
    "time_emb": (1, 60, 1110),
    "fnet.conv1.weight": (64, 3, 7, 7),
    "fnet.layer2.0.downsample.0.weight": (96, 64, 1, 1),
    "fnet.conv2.weight": (256, 416, 3, 3),
    "fnet.conv3.weight": (128, 256, 1, 1),
    "updateformer.virual_tracks": (1, 64, 1, 384),
    "updateformer.input_transform.weight": (384, 1110),
    "updateformer.flow_head.weight": (2, 384),
    "updateformer.vis_conf_head.weight": (2, 384),
    "updateformer.time_blocks.2.attn.to_kv.weight": (768, 384),
    "updateformer.space_point2virtual_blocks.2.norm_context.weight": (384,),
    "updateformer.space_virtual2point_blocks.0.cross_attn.to_out.weight": (384, 384),
    "updateformer.space_virtual_blocks.1.mlp.fc1.weight": (1536, 384),
    "corr_mlp.fc1.weight": (384, 2401),
    "corr_mlp.fc2.weight": (256, 384),
}


def _random_state(shapes, config=None):
    state = {k: torch.randn(s) for k, s in shapes.items()}
    for k in state:
        if k.endswith("rope_embed.periods"):
            hd = config.hidden_size // config.num_heads
            state[k] = (config.rope_theta ** (4 * torch.arange(hd // 4, dtype=torch.float64) / hd)).float()
    return state


def test_full_size_fixtures_match_released_layout():
    dap = dap_released_shapes()
    assert sum(k.startswith("core.pretrained.model.blocks.") for k in dap) == 24 * 15
    for name, shape in DAP_FULL_SAMPLE.items():
        assert dap[name] == shape, name
    cot = cotracker_released_shapes()
    for name, shape in COTRACKER_FULL_SAMPLE.items():
        assert cot[name] == shape, name


def test_full_size_dap_mapping_covers_every_parameter():
    cfg = DAPConfig()
    converted, _ = convert_dap_state_dict(
        {k: torch.empty(s, device="meta") for k, s in dap_released_shapes(cfg).items() if "periods" not in k}, cfg
    )
    with torch.device("meta"):
        model = DAPModel(cfg)
    expected = model.state_dict()
    assert set(converted) == set(expected)
    assert all(tuple(converted[k].shape) == tuple(expected[k].shape) for k in expected)


def test_full_size_cotracker_layout_matches_module():
    with torch.device("meta"):
        model = CoTracker3Offline()
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert ours == dict(cotracker_released_shapes())


def test_dap_tiny_loads_strictly_and_runs(tmp_path):
    cfg = DAPConfig.tiny()
    state = {"module." + k: v for k, v in _random_state(dap_released_shapes(cfg), cfg).items()}
    path = tmp_path / "model.pth"
    torch.save(state, path)
    model = load_dap(read_state_dict(path), cfg)
    w = state["module.core.pretrained.model.blocks.1.attn.qkv.weight"]
    assert torch.equal(model.backbone.model.layer[1].attention.v_proj.weight, w[2 * cfg.hidden_size :])
    depth, sky = model.predict(torch.rand(2, 3, 32, 64))
    assert depth.shape == (2, 32, 64) and sky.dtype == torch.bool
    assert float(depth.min()) >= 0 and float(depth.max()) <= 100.0


@pytest.mark.parametrize("mutation", ["unknown", "missing", "shape"])
def test_dap_bad_keys_fail_with_name(mutation):
    cfg = DAPConfig.tiny()
    state = _random_state(dap_released_shapes(cfg), cfg)
    key = "core.mask_head.scratch.refinenet2.out_conv.weight"
    if mutation == "unknown":
        state["core.extra_head.weight"] = torch.zeros(1)
        key = "core.extra_head.weight"
    elif mutation == "missing":
        del state[key]
    else:
        state[key] = torch.zeros(3)
    with pytest.raises(CheckpointKeyError, match=key.replace(".", r"\.")):
        load_dap(state, cfg)


def test_cotracker_tiny_loads_strictly_and_tracks(tmp_path):
    cfg = CoTrackerConfig.tiny()
    state = {k: torch.randn(s) * 0.1 for k, s in cotracker_released_shapes(cfg).items()}
    torch.save({"model": state}, tmp_path / "scaled_offline.pth")
    model = load_cotracker(read_state_dict(tmp_path / "scaled_offline.pth"), cfg)
    assert torch.equal(model.corr_mlp.fc1.weight, state["corr_mlp.fc1.weight"])
    coords, vis, conf = model(torch.rand(1, 4, 3, 32, 64), torch.tensor([[[0, 5.0, 6.0], [0, 40.0, 20.0]]]), iters=2)
    assert coords.shape == (1, 4, 2, 2) and vis.shape == conf.shape == (1, 4, 2)


@pytest.mark.parametrize("mutation", ["unknown", "missing"])
def test_cotracker_bad_keys_fail_with_name(mutation):
    cfg = CoTrackerConfig.tiny()
    state = {k: torch.randn(s) for k, s in cotracker_released_shapes(cfg).items()}
    key = "updateformer.vis_conf_head.bias"
    if mutation == "unknown":
        key = "updateformer.extra.weight"
        state[key] = torch.zeros(1)
    else:
        del state[key]
    with pytest.raises(CheckpointKeyError, match=key.replace(".", r"\.")):
        load_cotracker(state, cfg)


def test_dap_erp_size_rounds_height_to_the_patch_and_keeps_two_to_one():
    from panoworld.annotate.dap import dap_erp_size

    assert dap_erp_size(512) == (512, 1024)
    assert dap_erp_size(100) == (96, 192)  # 100 / 16 = 6.25 -> 6 patches
    assert dap_erp_size(120) == (128, 256)  # 7.5 -> 8 patches (round half to even)
    assert dap_erp_size(3) == (16, 32)  # at least one patch
