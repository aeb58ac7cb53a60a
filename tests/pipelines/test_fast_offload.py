"""Compiled blocks under offload hooks and the step cache: dynamo compiles the block once per input layout and
never again (CPU, dynamo's eager backend)."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo
from torch._dynamo.utils import counters

from panoworld.pipelines.step_cache import StepCache


def deep_tiny(num_layers: int = 10):
    """More blocks than dynamo's default recompile limit (8), so per-block recompiles would show."""
    from panoworld.models import PanoWorldTransformer, tiny_config

    cfg = tiny_config()
    cfg["num_layers"] = num_layers
    torch.manual_seed(0)
    return PanoWorldTransformer(**cfg).eval()


def inputs():
    gen = torch.Generator().manual_seed(3)
    return dict(hidden_states=torch.randn(1, 32, 3, 8, 16, generator=gen), timestep=torch.full((1,), 0.5),
                encoder_hidden_states=torch.randn(2, 8, 64, generator=gen),
                image_hidden_states=torch.randn(1, 4, 16, generator=gen), return_dict=False)


@pytest.fixture
def fresh_dynamo():
    torch._dynamo.reset()
    counters.clear()
    yield
    torch._dynamo.config.error_on_recompile = False
    torch._dynamo.reset()


def run_steps(net, steps: int, cache: StepCache | None = None) -> list[torch.Tensor]:
    """``steps`` guided-style evaluations; after the first, any recompilation raises."""
    outs = []
    with torch.no_grad():
        for step in range(steps):
            if cache is not None:
                cache.begin(step, steps, "batched")
            outs.append(net(**inputs())[0])
            torch._dynamo.config.error_on_recompile = True
    return outs


class StatefulHook:
    """Wraps a module's ``forward`` the way diffusers' hook registry does, with per-block state that changes on
    every call (an onload leader, a call counter) and a branch on it, like the group-offloading hook."""

    def __init__(self, module):
        self.leader, self.calls, self.original = None, 0, module.forward
        module.forward = self.forward
        module.even_calls = 0
        self.module = module

    def forward(self, *args, **kwargs):
        if self.leader is None:
            self.leader = self.module
        if self.leader is self.module and self.calls % 2 == 0:
            self.module.even_calls += 1
        self.calls += 1
        return self.original(*args, **kwargs)


def test_hooks_with_per_block_state_stay_outside_the_compiled_blocks(fresh_dynamo):
    """Such a hook inside a compiled module call recompiles on the second call (``nn.Module.compile`` traces the
    wrapped forward); with ``compile_blocks`` (compiled ``forward``, hooks outside) nothing recompiles."""
    net = deep_tiny().compile_blocks(backend="eager")
    hooks = [StatefulHook(block) for block in net.transformer_blocks]
    run_steps(net, 3)
    assert all(hook.calls == 3 and hook.module.even_calls == 2 for hook in hooks)
    assert counters["stats"]["unique_graphs"] <= 2  # batch-1 block 0, and the other blocks


def test_group_offload_hooks_and_step_cache_with_compiled_blocks(fresh_dynamo):
    from diffusers.hooks import apply_group_offloading

    reference = run_steps(deep_tiny(), 4)
    torch._dynamo.config.error_on_recompile = False
    net = deep_tiny().compile_blocks(backend="eager")
    apply_group_offloading(net, onload_device=torch.device("cpu"), offload_device=torch.device("cpu"),
                           offload_type="block_level", num_blocks_per_group=1)
    cache = StepCache(0.0, warmup=0)
    with cache.attach(net):
        outs = run_steps(net, 4, cache)
    graphs = counters["stats"]["unique_graphs"]
    assert graphs <= 2
    for out, ref in zip(outs, reference):
        torch.testing.assert_close(out, ref)
    torch._dynamo.config.error_on_recompile = False
    cache = StepCache(0.0, warmup=0, reuse={1, 2})  # now skip blocks on two evaluations: still no new graph
    with cache.attach(net):
        run_steps(net, 4, cache)
    assert cache.num_reused == 2 and counters["stats"]["unique_graphs"] == graphs


def test_every_block_variant_compiles_past_dynamos_default_limit(fresh_dynamo):
    """Batch 1 / 2, gradients off / on and FP8 off / on need 12 graphs of the one shared block ``forward``: past
    dynamo's default limit of 8 the blocks would silently run eagerly (a fast round measured 72.8 s instead of
    ~45 s on an H100). ``compile_blocks`` raises the limit, so every variant compiles, and none twice."""
    from panoworld.models.fp8 import fp8_matmuls

    net = deep_tiny(2).compile_blocks(backend="eager")

    def call(batch: int, grad: bool) -> None:
        kw = inputs()
        kw["hidden_states"] = kw["hidden_states"].expand(batch, -1, -1, -1, -1)
        kw["timestep"] = torch.full((batch,), 0.5)
        with torch.set_grad_enabled(grad):
            net(**kw)

    seen = []
    for fp8 in (False, True):
        with fp8_matmuls(net) if fp8 else torch.enable_grad():
            for grad in (False, True):
                for batch in (1, 2):
                    call(batch, grad)
                    before = counters["stats"]["unique_graphs"]
                    call(batch, grad)
                    assert counters["stats"]["unique_graphs"] == before  # a repeat compiles nothing
                    seen.append(before)
    assert seen == sorted(seen) and seen[-1] > 8
