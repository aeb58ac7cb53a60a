"""The depth head on a clip's own latent (``train.validation.head_depth_on_truth``) and its scoring."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from panoworld.eval.metrics.depth import DepthMetrics
from panoworld.train.cache import NEGATIVE, TrainCache
from panoworld.train.modeling import build_transformer
from panoworld.train.validation import head_depth_on_truth, round1_inputs, score_head_depth


@pytest.fixture
def model_and_cache(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path / "run")
    torch.manual_seed(0)
    model = build_transformer(cfg).eval()
    for name, param in model.named_parameters():  # the heads start at zero: give them something to say
        if name.startswith("depth_head."):
            torch.nn.init.normal_(param, std=0.2)
    return model, TrainCache.open(cfg)


def _inputs(cache, name, seed=0):
    negative = cache.text(NEGATIVE).float()[None]
    return round1_inputs(cache.entry(name), cache, "long", negative, seed, torch.device("cpu"))


def test_the_head_sees_the_clips_own_latent(model_and_cache):
    model, cache = model_and_cache
    name = cache.names("train")[0]
    inputs, x0 = _inputs(cache, name)
    depth = head_depth_on_truth(model, inputs, x0, 0.05)
    assert depth.shape == (1, 1, *x0.shape[2:]) and torch.isfinite(depth).all()
    assert torch.equal(depth, head_depth_on_truth(model, inputs, x0, 0.05))
    other = cache.entry(cache.names("train")[1]).x0()[None]
    assert not torch.allclose(depth, head_depth_on_truth(model, inputs, other, 0.05))
    assert not torch.allclose(depth, head_depth_on_truth(model, inputs, x0, 0.5))


def test_bad_time_and_headless_models_are_refused(model_and_cache):
    model, cache = model_and_cache
    inputs, x0 = _inputs(cache, cache.names("train")[0])
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="time"):
            head_depth_on_truth(model, inputs, x0, bad)
    with pytest.raises(ValueError, match="depth head"):
        head_depth_on_truth(SimpleNamespace(has_depth_head=False), inputs, x0, 0.1)


def test_score_uses_only_frames_with_a_target():
    target = torch.full((3, 4, 8), float("nan"))
    target[1] = torch.log(torch.full((4, 8), 2.0))
    exact = torch.log(torch.full((1, 1, 3, 4, 8), 2.0))
    exact[0, 0, 0] = 50.0  # a frame without target: ignored
    scores = score_head_depth(DepthMetrics(), exact, target)
    assert scores["depth/abs_rel/raw"] == pytest.approx(0.0, abs=1e-6)
    doubled = score_head_depth(DepthMetrics(), exact + math.log(2.0), target)
    assert doubled["depth/abs_rel/raw"] == pytest.approx(1.0, rel=1e-4)
    assert doubled["depth/abs_rel/raw@median"] == pytest.approx(0.0, abs=1e-5)
    assert score_head_depth(DepthMetrics(), exact, None) == {}
    assert score_head_depth(DepthMetrics(), exact, torch.full((3, 4, 8), float("nan"))) == {}


def test_bench_summary_pairs_generated_and_truth_per_clip():
    from tests.bench_scripts import bench_module

    bench = bench_module("head_depth")
    rows = [{"clip": f"c{i}", "seconds": 1.0, "generated/depth/abs_rel/raw@median": 0.5 + 0.1 * i,
             "truth@0.0099/depth/abs_rel/raw@median": 0.2 + 0.1 * i,
             "generated/depth/delta1/raw@median": 0.4, "truth@0.0099/depth/delta1/raw@median": 0.8}
            for i in range(3)]
    args = SimpleNamespace(steps=15, guidance=7.0, times=[0.0099], device="cpu", threads=2, model_arg="M", clips=3)
    text = bench.summary(rows, args)
    assert "| generated (15 steps, CFG 7, from noise) | 0.600 ± 0.248 (3) | 0.400 ± 0.000 (3) | n/a |" in text
    assert "| clip's own latent at t = 0.0099 | 0.300 ± 0.248 (3) |" in text
    assert "AbsRel@median +0.300 ± 0.000 (3 clips)" in text
