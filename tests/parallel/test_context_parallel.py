"""Context parallelism and CFG parallelism on 2 CPU processes (gloo) equal the single-process results."""

from __future__ import annotations

import pytest
from .spawn import run_on_processes
from .workers import cfg_and_context_parallel_sampling, cfg_parallel_sampling, transformer_forward

TOLERANCE = 1e-5  # one forward, fp32 (issue 24)
#: Three evaluations of the sampler compound the forward's ~1e-6 rounding differences of the attention kernels.
SAMPLING_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def forward_results(tmp_path_factory):
    return run_on_processes(transformer_forward, 2, tmp_path_factory.mktemp("cp_forward"))


@pytest.mark.parametrize("check", ["ulysses/equirect", "ring/equirect", "ulysses/periodic", "ring/periodic",
                                   "ulysses/shared-latent", "ring/shared-latent", "ulysses/heads", "ring/heads",
                                   "restored/equirect"])
def test_context_parallel_forward_equals_the_whole_sequence_forward(forward_results, check):
    for rank, results in enumerate(forward_results):
        assert results[check] <= TOLERANCE, f"rank {rank} {check}: max |diff| {results[check]:.3g}"


def test_cfg_parallel_and_context_parallel_sampling_equal_one_process(tmp_path):
    results = run_on_processes(cfg_parallel_sampling, 2, tmp_path)
    for rank, checks in enumerate(results):
        assert checks["cfg-parallel"] <= TOLERANCE, f"rank {rank}: {checks}"
        assert checks["context-parallel-sampling"] <= SAMPLING_TOLERANCE, f"rank {rank}: {checks}"


def test_cfg_parallel_combined_with_context_parallel_on_4_processes_equals_one_process(tmp_path):
    results = run_on_processes(cfg_and_context_parallel_sampling, 4, tmp_path)
    assert [(r["branch"], r["cp"]) for r in results] == [(0, 2), (0, 2), (1, 2), (1, 2)]
    for rank, checks in enumerate(results):
        assert checks["ulysses"] <= SAMPLING_TOLERANCE and checks["ring"] <= SAMPLING_TOLERANCE, (rank, checks)


def test_a_split_that_does_not_fit_fails_in_one_line():
    from panoworld.errors import InputError
    from panoworld.parallel.mesh import ParallelPlan

    plan = ParallelPlan(rank=0, world=4, cfg=1, mode="ulysses")
    with pytest.raises(InputError, match="divisible by 4, got 6"):
        plan.check(num_heads=16, latent_frames=6)
    with pytest.raises(InputError, match="head count"):
        plan.check(num_heads=2, latent_frames=8)
    ParallelPlan(rank=0, world=4, cfg=1, mode="ring").check(num_heads=2, latent_frames=8)  # any head count
