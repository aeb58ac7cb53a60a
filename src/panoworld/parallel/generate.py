"""``panoworld generate`` under ``torchrun``: clips sharded over the processes, or every clip split across them.

    torchrun --nproc-per-node 8 -m panoworld generate --batch jobs.csv            # 8 clips at a time
    torchrun --nproc-per-node 8 -m panoworld generate photo.jpg -p ... --cfg-parallel --context-parallel ulysses

Without ``--context-parallel`` / ``--cfg-parallel`` each process generates its share of the batch's clips
(:mod:`.sharding`). With them all processes compute each clip together (:mod:`.mesh`) and rank 0 writes it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from panoworld.errors import InputError

from .mesh import ParallelPlan, build_plan
from .sharding import join_torchrun, merge_reports

__all__ = ["GenerateRanks", "check_parallel_options", "generate_ranks"]


@dataclass
class GenerateRanks:
    """This process's part of a multi-process generation (the ``ranks`` of ``pipelines.batch.generate_clips``).

    Attributes:
        rank, world: this process and the process count.
        plan: how each clip is split (context / CFG parallel), or None when the clips are sharded.
        device: this process's compute device under ``torchrun`` (None: the one asked for).
    """

    rank: int = 0
    world: int = 1
    plan: ParallelPlan | None = None
    device: str | None = None

    def place(self, load):
        """``load`` (a ``LoadConfig``) on this process's device."""
        return load if self.device is None else dataclasses.replace(load, device=self.device)

    @property
    def shard(self) -> tuple[int, int] | None:
        """(rank, world) when each process takes its own clips, else None (every process runs every clip)."""
        return (self.rank, self.world) if self.world > 1 and self.plan is None else None

    @property
    def writes(self) -> bool:
        """Whether this process writes its clips' files (all when sharded; rank 0 when the clips are split)."""
        return self.plan is None or self.plan.is_main

    def attach(self, pipe, configs) -> None:
        """Give a loaded pipeline the split, after checking that its model and every clip can be split so."""
        if self.plan is None:
            return
        from panoworld.pipelines.conditioning import latent_frames

        heads = int(pipe.transformer.config.num_attention_heads)
        for cfg in configs:
            self.plan.check(heads, latent_frames(cfg.num_frames))
        pipe.parallel = self.plan

    def merge(self, report):
        """One report over all processes when sharded (a collective); this process's otherwise."""
        return merge_reports(report) if self.shard is not None else report


def check_parallel_options(*, context_parallel: str | None, cfg_parallel: bool, offload: str, compile: bool,
                           step_cache: float, sampler: str | None) -> None:
    """One-line errors for combinations a split clip does not support, before anything is loaded."""
    if context_parallel is None and not cfg_parallel:
        return
    if offload != "none":
        raise InputError("--context-parallel / --cfg-parallel keep every model on its GPU: drop --offload")
    if compile:
        raise InputError("--compile is not supported with --context-parallel / --cfg-parallel yet")
    if step_cache > 0:
        raise InputError("--fast cache skips blocks by a per-process test, so split processes would diverge: "
                         "drop cache from --fast with --context-parallel / --cfg-parallel")
    if cfg_parallel and sampler == "few-step":
        raise InputError("a few-step student runs without CFG: drop --cfg-parallel")


def generate_ranks(context_parallel: str | None, cfg_parallel: bool, device: str | None) -> GenerateRanks:
    """Join the ``torchrun`` job (if any) and decide this process's part (a collective under ``torchrun``)."""
    joined = join_torchrun(device)
    if joined is None:
        if context_parallel is not None or cfg_parallel:
            build_plan(context_parallel, cfg_parallel)  # raises the one-line "launch with torchrun" error
        return GenerateRanks()
    rank, world, device = joined
    split = context_parallel is not None or cfg_parallel
    return GenerateRanks(rank, world, build_plan(context_parallel, cfg_parallel) if split else None, device)
