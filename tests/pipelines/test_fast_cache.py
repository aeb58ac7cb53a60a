"""Step-cache reuse (``--fast cache``): the rule, what it skips, and exactness at threshold 0 (CPU)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from panoworld.errors import InputError
from panoworld.pipelines.config import DEFAULT_CACHE_THRESHOLD, GenerationConfig, fast_settings
from panoworld.pipelines.step_cache import StepCache

from .conftest import tiny_config_for_tests


class AddBlock(nn.Module):
    """x -> x + offset (a block whose residual we control); counts its calls."""

    def __init__(self, offset: float):
        super().__init__()
        self.offset = offset
        self.calls = 0

    def forward(self, x, *args):
        self.calls += 1
        return x + self.offset


class ToyNet(nn.Module):
    """The transformer's block loop: ``for block in self.transformer_blocks: x = block(x, ...)``."""

    def __init__(self, offsets):
        super().__init__()
        self.transformer_blocks = nn.ModuleList(AddBlock(o) for o in offsets)

    def forward(self, x):
        for block in self.transformer_blocks:
            x = block(x, "context")
        return x


def run(net, cache, schedule_len, *, first_offsets=None, slot="batched", force=()):
    """Evaluate ``net`` once per evaluation index; block 0's offset may change per evaluation."""
    outs = []
    with cache.attach(net):
        for i in range(schedule_len):
            if first_offsets is not None:
                net.transformer_blocks[0].block.offset = first_offsets[i]
            cache.begin(i, schedule_len, slot, force_full=i in force)
            outs.append(net(torch.ones(2, 3)))
    return outs


def test_threshold_zero_reuses_nothing():
    net = ToyNet([1.0, 2.0, 3.0])
    cache = StepCache(0.0, warmup=0)
    outs = run(net, cache, 6)
    assert cache.num_reused == 0
    assert all(torch.equal(o, torch.full((2, 3), 7.0)) for o in outs)
    assert [b.calls for b in net.transformer_blocks] == [6, 6, 6]


def test_reuse_skips_later_blocks_and_returns_cached_residual():
    net = ToyNet([1.0, 2.0, 3.0])
    # first-block residual changes by 1 % between evaluations: below the threshold from evaluation 1 on
    firsts = [1.0, 1.01, 1.02, 1.03, 1.04, 1.05]
    cache = StepCache(0.05, warmup=1, max_reuse=2)
    outs = run(net, cache, 6, first_offsets=firsts)
    # evaluation 0 warm-up, 1-2 reused, 3 full (max 2 in a row), 4 reused, 5 last (full)
    assert cache.reused == {"batched": [1, 2, 4]}
    assert net.transformer_blocks[1].calls == 3 and net.transformer_blocks[2].calls == 3
    for i in (1, 2, 4):  # x1 + R_ref, with R_ref = 2 + 3 from the last full evaluation
        torch.testing.assert_close(outs[i], torch.full((2, 3), 1.0 + firsts[i] + 5.0))
    torch.testing.assert_close(outs[5], torch.full((2, 3), 1.0 + firsts[5] + 5.0))
    # decided: 1, 2, 4 (3 had reached max_reuse, 5 is the last evaluation)
    assert [i for i, _ in cache.changes["batched"]] == [1, 2, 4]


def test_change_above_threshold_runs_everything():
    net = ToyNet([1.0, 2.0, 3.0])
    firsts = [1.0, 1.5, 2.2, 3.0, 4.0]  # > 30 % change every time
    cache = StepCache(0.3, warmup=0)
    run(net, cache, 5, first_offsets=firsts)
    assert cache.num_reused == 0
    assert all(change >= 0.3 for _, change in cache.changes["batched"])


def test_reference_is_the_last_full_evaluation():
    """Small steps that add up: the change is measured against the last full call, so drift ends a reuse run."""
    net = ToyNet([1.0, 2.0])
    firsts = [1.0, 1.03, 1.06, 1.09, 1.12, 1.15, 1.18]
    cache = StepCache(0.05, warmup=1, max_reuse=10)
    run(net, cache, 7, first_offsets=firsts)
    # 1.03 (3 %) reused, 1.06 (6 % vs 1.0) full, 1.09 (2.8 % vs 1.06) reused, 1.12 (5.7 %) full, 1.15 reused
    assert cache.reused["batched"] == [1, 3, 5]


def test_forced_calls_and_slots():
    net = ToyNet([1.0, 2.0])
    cache = StepCache(0.5, warmup=0)
    run(net, cache, 5, force={2})
    assert 2 not in cache.reused["batched"] and cache.reused["batched"] == [1, 3]
    cache2 = StepCache(0.5, warmup=0)
    run(net, cache2, 4, slot="cond")
    assert set(cache2.reused) == {"cond"}


def test_fixed_reuse_schedule():
    net = ToyNet([1.0, 2.0, 3.0])
    cache = StepCache(0.0, warmup=2, max_reuse=5, reuse={1, 3, 4, 7})
    run(net, cache, 8, first_offsets=[1.0, 9.0, 1.0, 5.0, 1.0, 1.0, 1.0, 1.0])
    assert cache.reused["batched"] == [3, 4]  # 1: warm-up, 7: the last evaluation


def test_attach_restores_blocks_and_unannounced_calls_run_in_full():
    net = ToyNet([1.0, 2.0])
    blocks = net.transformer_blocks
    cache = StepCache(0.9, warmup=0)
    with cache.attach(net):
        assert net.transformer_blocks is not blocks
        for _ in range(3):
            assert torch.equal(net(torch.zeros(1)), torch.full((1,), 3.0))  # no begin(): plain forward
    assert net.transformer_blocks is blocks and cache.num_reused == 0


def test_bad_threshold():
    with pytest.raises(ValueError):
        StepCache(1.5)


def test_fast_settings_and_config():
    assert fast_settings("cache,fp8") == {"step_cache": DEFAULT_CACHE_THRESHOLD, "fp8": True}
    assert fast_settings("all", 0.2) == {"step_cache": 0.2, "fp8": True}
    assert fast_settings(None) == {"step_cache": 0.0, "fp8": False}
    assert fast_settings("fp8") == {"step_cache": 0.0, "fp8": True}
    with pytest.raises(InputError, match="--fast"):
        fast_settings("cache,turbo")
    with pytest.raises(InputError, match="--cache-threshold"):
        fast_settings("fp8", 0.1)
    with pytest.raises(InputError, match="cache-threshold"):
        GenerationConfig(step_cache=1.0).validate()
    record = GenerationConfig(**fast_settings("cache")).validate().to_dict()
    assert record["step_cache"] == DEFAULT_CACHE_THRESHOLD and record["fp8"] is False


def test_pipeline_threshold_zero_is_exact_and_cache_reuses(tiny_pipeline):
    image = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))
    cfg = tiny_config_for_tests(num_steps=7)
    exact = tiny_pipeline(image, "a room", None, cfg)
    # threshold 0 through the real pipeline path (attached cache, announced calls): bit-identical
    from panoworld.pipelines import panoworld as module

    original = module.StepCache
    module.StepCache = lambda threshold: original(0.0)
    try:
        zero = tiny_pipeline(image, "a room", None, cfg.replace(step_cache=0.5))
    finally:
        module.StepCache = original
    assert torch.equal(zero.video, exact.video) and zero.info["round1_cache_reused"] == 0
    fast = tiny_pipeline(image, "a room", None, cfg.replace(step_cache=0.9))
    assert fast.info["round1_cache_reused"] > 0
    assert torch.isfinite(fast.video).all() and not torch.equal(fast.video, exact.video)
    assert "round1_cache_reused" not in exact.info


def test_pipeline_fp8_on_cpu(tiny_pipeline):
    """``fp8=True`` runs the FP8 arithmetic (PyTorch's CPU kernel) and leaves the model as it was."""
    image = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))
    cfg = tiny_config_for_tests()
    exact = tiny_pipeline(image, "a room", None, cfg)
    fast = tiny_pipeline(image, "a room", None, cfg.replace(fp8=True))
    assert torch.isfinite(fast.video).all() and not torch.equal(fast.video, exact.video)
    assert (fast.video - exact.video).abs().mean() < 0.05
    again = tiny_pipeline(image, "a room", None, cfg)
    assert torch.equal(again.video, exact.video)


def test_fp8_refused_where_unsupported(tiny_pipeline, monkeypatch):
    from panoworld.models import fp8

    monkeypatch.setattr(fp8, "fp8_supported", lambda device: False)
    with pytest.raises(InputError, match="fp8"):
        tiny_pipeline(torch.rand(3, 40, 60), "a room", None, tiny_config_for_tests(fp8=True))


def test_pipeline_cache_and_fp8_combine(tiny_pipeline):
    image = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))
    cfg = tiny_config_for_tests(num_steps=7, step_cache=0.9)
    cache_only = tiny_pipeline(image, "a room", None, cfg)
    both = tiny_pipeline(image, "a room", None, cfg.replace(fp8=True))
    assert both.info["round1_cache_reused"] > 0 and not torch.equal(both.video, cache_only.video)


#: Documented tolerance of the GPU fast-switch tests (tiny random model, 16 steps, 32x64 video in [0, 1]): mean
#: absolute difference to the exact video. On the CPU the same runs give 2e-4 (cache, threshold 0.08), 2e-3
#: (threshold 0.5, 9 of 16 evaluations reused) and 5e-3 (threshold 0.5 + FP8).
GPU_FAST_TOLERANCE = 0.02


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("fast", ["cache", "fp8", "cache,fp8"])
def test_fast_switches_on_gpu(fast):
    from panoworld.models.components import ImageEncoder, TextEncoder, VideoVAE
    from panoworld.models.fp8 import fp8_supported
    from panoworld.pipelines import PanoWorldPipeline

    from .conftest import tiny_transformer

    if "fp8" in fast and not fp8_supported("cuda"):
        pytest.skip("this GPU has no FP8 matmul")
    pipe = PanoWorldPipeline(tiny_transformer(), VideoVAE.tiny(), TextEncoder.tiny(), ImageEncoder.tiny(),
                             device="cuda")
    pipe.transformer.to(torch.bfloat16)
    image = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))
    cfg = tiny_config_for_tests(num_steps=15)
    exact = pipe(image, "a room", None, cfg)
    settings = fast_settings(fast, 0.5 if "cache" in fast else None)
    result = pipe(image, "a room", None, cfg.replace(**settings))
    assert torch.isfinite(result.video).all()
    if "cache" in fast:
        assert result.info["round1_cache_reused"] > 0
    assert float((result.video - exact.video).abs().mean()) < GPU_FAST_TOLERANCE
