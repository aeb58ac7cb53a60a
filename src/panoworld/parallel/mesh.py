"""How the processes of one ``torchrun`` job share each clip: CFG degree x context-parallel degree.

``world = cfg x cp`` processes; process ``rank`` computes CFG branch ``rank // cp`` (0 = conditional,
1 = unconditional; ``cfg`` is 1 or 2) and token slice ``rank % cp`` of it. The context-parallel groups are the
``cp`` consecutive ranks of one branch; the CFG pairs are the ranks ``j`` and ``cp + j``. With 8 GPUs:
``--cfg-parallel --context-parallel ulysses`` gives two 4-process Ulysses groups; ``--context-parallel ring``
alone gives one 8-process ring over both branches, batched.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch.distributed as dist

from panoworld.errors import InputError

from .attention import CP_MODES

__all__ = ["ParallelPlan", "build_plan"]


@dataclass
class ParallelPlan:
    """The split of one clip's work over ``world`` processes (see the module docstring).

    Attributes:
        rank, world: this process and the job's process count.
        cfg: 1 (both CFG branches on every process) or 2 (one branch per half of the processes).
        mode: context-parallel attention ("ulysses" / "ring"), or None when ``world == cfg``.
        cp_group, cfg_group: this process's context-parallel group and CFG pair (None when of size 1).
    """

    rank: int
    world: int
    cfg: int = 1
    mode: str | None = None
    cp_group: Any = None
    cfg_group: Any = None

    @property
    def cp(self) -> int:
        """Processes per CFG branch (the context-parallel degree)."""
        return self.world // self.cfg

    @property
    def branch(self) -> int:
        """The CFG branch this process computes under CFG parallelism (0 conditional, 1 unconditional)."""
        return self.rank // self.cp

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def describe(self) -> dict:
        """What ran, for the generation record."""
        return {"processes": self.world, "cfg_parallel": self.cfg == 2, "context_parallel": self.cp,
                "attention": self.mode}

    def check(self, num_heads: int, latent_frames: int) -> None:
        """Raise a one-line :class:`InputError` when the model or clip cannot be split this way."""
        if self.cp > 1 and latent_frames % self.cp:
            raise InputError(f"--context-parallel over {self.cp} processes needs a latent frame count divisible by "
                             f"{self.cp}, got {latent_frames} (latent frames = (frames - 1) / 4 + 1)")
        if self.mode == "ulysses" and num_heads % self.cp:
            raise InputError(f"--context-parallel ulysses over {self.cp} processes needs the head count "
                             f"({num_heads}) to be a multiple of {self.cp}; use ring")

    def denoiser(self, *args, **kwargs):
        """The guided denoiser for this process: CFG-parallel with ``cfg == 2``, else the ordinary one."""
        if self.cfg == 2:
            from .cfg import CfgParallelDenoiser

            return CfgParallelDenoiser(*args, group=self.cfg_group, branch=self.branch, **kwargs)
        from panoworld.pipelines.guidance import GuidedDenoiser

        return GuidedDenoiser(*args, **kwargs)

    def context(self, transformer):
        """Context manager making ``transformer`` context-parallel over this process's group (if cp > 1)."""
        if self.cp == 1:
            return contextlib.nullcontext()
        from .context import context_parallel

        return context_parallel(transformer, self.cp_group, self.mode)


def build_plan(mode: str | None, cfg_parallel: bool) -> ParallelPlan:
    """The plan of this process in the initialised default process group (all processes must call it: it
    creates the sub-groups). Raises a one-line :class:`InputError` for an impossible split."""
    if mode is not None and mode not in CP_MODES:
        raise InputError(f"--context-parallel must be one of {', '.join(CP_MODES)}, got {mode!r}")
    world = dist.get_world_size() if dist.is_initialized() else 1
    rank = dist.get_rank() if dist.is_initialized() else 0
    if world == 1:
        raise InputError("--context-parallel / --cfg-parallel need several processes: launch with "
                         "torchrun --nproc-per-node N -m panoworld generate ...")
    cfg = 2 if cfg_parallel else 1
    if world % cfg:
        raise InputError(f"--cfg-parallel needs an even number of processes, got {world}")
    cp = world // cfg
    if cp > 1 and mode is None:
        raise InputError(f"{world} processes with --cfg-parallel leave {cp} per CFG branch: add "
                         "--context-parallel ulysses or ring")
    if cp == 1:
        mode = None
    cp_groups = [dist.new_group(list(range(b * cp, (b + 1) * cp))) for b in range(cfg)]
    cfg_groups = [dist.new_group([j, cp + j]) for j in range(cp)] if cfg == 2 else []
    plan = ParallelPlan(rank=rank, world=world, cfg=cfg, mode=mode)
    plan.cp_group = cp_groups[plan.branch] if cp > 1 else None
    plan.cfg_group = cfg_groups[rank % cp] if cfg == 2 else None
    return plan
