"""Bodies of the multi-process tests: each returns {check name: max abs difference to the single-process run}."""

from __future__ import annotations

import torch

from panoworld.models import PanoWorldTransformer, tiny_config
from panoworld.parallel.cfg import CfgParallelDenoiser
from panoworld.parallel.context import context_parallel
from panoworld.pipelines import DenoiserInputs, GuidedDenoiser, karras_flow_schedule, sample

SHAPE = (1, 16, 4, 8, 16)  # 4 latent frames -> 2 per process


def _model(**overrides) -> PanoWorldTransformer:
    torch.manual_seed(0)
    return PanoWorldTransformer(**tiny_config(**overrides)).eval()


def _forward_inputs(batch: int = 1, contexts: int = 1) -> dict:
    g = torch.Generator().manual_seed(1)
    _, _, t, h, w = SHAPE
    return dict(
        hidden_states=torch.randn(batch, 32, t, h, w, generator=g),
        timestep=torch.rand(batch, t, generator=g),
        encoder_hidden_states=torch.randn(contexts, 5, 64, generator=g),
        image_hidden_states=torch.randn(1, 4, 16, generator=g),
        condition_mask=(torch.rand(batch, 1, t, h, w, generator=g) > 0.5).float(),
    )


def _diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a - b).abs().max())


@torch.no_grad()
def transformer_forward(rank: int, world: int, folder) -> dict:
    """Context-parallel transformer forwards (both attention variants) against the whole-sequence forward."""
    results = {}
    for rope in ("equirect", "periodic"):
        model = _model(rope_type=rope)
        inputs = _forward_inputs()
        whole = model(**inputs, return_dict=False)[0]
        for mode in ("ulysses", "ring"):
            with context_parallel(model, None, mode):
                split = model(**inputs, return_dict=False)[0]
            results[f"{mode}/{rope}"] = _diff(split, whole)
        results[f"restored/{rope}"] = _diff(model(**inputs, return_dict=False)[0], whole)
    model = _model()
    shared = _forward_inputs(batch=1, contexts=2)  # batched CFG: one latent, two contexts, image on row 0 only
    whole = model(**shared, return_dict=False)[0]
    for mode in ("ulysses", "ring"):
        with context_parallel(model, None, mode):
            results[f"{mode}/shared-latent"] = _diff(model(**shared, return_dict=False)[0], whole)
    heads = PanoWorldTransformer(**{**tiny_config(), "depth_head_block": 0, "descriptor_head_block": -1}).eval()
    whole = heads(**_forward_inputs(), return_heads=True)
    for mode in ("ulysses", "ring"):
        with context_parallel(heads, None, mode):
            split = heads(**_forward_inputs(), return_heads=True)
        results[f"{mode}/heads"] = max(_diff(split.sample, whole.sample), _diff(split.depth, whole.depth),
                                       _diff(split.descriptors, whole.descriptors))
    return results


def _denoiser_inputs() -> DenoiserInputs:
    g = torch.Generator().manual_seed(0)
    randn = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    mask = torch.zeros(1, 1, *SHAPE[2:])
    mask[..., 2:5, 3:9] = 1.0
    return DenoiserInputs(text=randn(1, 7, 64), negative_text=randn(1, 7, 64), image=randn(1, 5, 16),
                          reference=randn(*SHAPE), mask_channel=mask, paste_latent=randn(*SHAPE), paste_mask=mask,
                          noise=randn(*SHAPE))


@torch.no_grad()
def cfg_parallel_sampling(rank: int, world: int, folder) -> dict:
    """CFG-parallel sampling (3 evaluations, rotated denoising) against the single-process sequential run."""
    model = _model()
    inputs, schedule = _denoiser_inputs(), karras_flow_schedule(2)
    reference = sample(GuidedDenoiser(model, inputs, schedule, guidance=5.0, cfg_batch="sequential"),
                       inputs.noise.clone(), schedule, rotate_seed=3)
    split = sample(CfgParallelDenoiser(model, inputs, schedule, guidance=5.0, group=None, branch=rank),
                   inputs.noise.clone(), schedule, rotate_seed=3)
    batched = sample(GuidedDenoiser(model, inputs, schedule, guidance=5.0, cfg_batch="batched"),
                     inputs.noise.clone(), schedule, rotate_seed=3)
    with context_parallel(model, None, "ring"):
        context = sample(GuidedDenoiser(model, inputs, schedule, guidance=5.0, cfg_batch="batched"),
                         inputs.noise.clone(), schedule, rotate_seed=3)
    return {"cfg-parallel": _diff(split, reference), "context-parallel-sampling": _diff(context, batched)}


@torch.no_grad()
def cfg_and_context_parallel_sampling(rank: int, world: int, folder) -> dict:
    """4 processes: two CFG branches, each context-parallel over 2 (``build_plan``), against one process."""
    from panoworld.parallel.mesh import build_plan

    model = _model()
    inputs, schedule = _denoiser_inputs(), karras_flow_schedule(2)
    reference = sample(GuidedDenoiser(model, inputs, schedule, guidance=5.0, cfg_batch="sequential"),
                       inputs.noise.clone(), schedule)
    results = {}
    for mode in ("ulysses", "ring"):
        plan = build_plan(mode, cfg_parallel=True)
        with plan.context(model):
            split = sample(plan.denoiser(model, inputs, schedule, guidance=5.0), inputs.noise.clone(), schedule)
        results[mode] = _diff(split, reference)
        results["branch"], results["cp"] = plan.branch, plan.cp
    return results
