"""CFG-parallel denoising: the conditional and the unconditional branch of every evaluation on two process groups.

With classifier-free guidance every evaluation needs two transformer calls, ``v_c`` (prompt + image tokens) and
``v_u`` (negative prompt, no image). :class:`CfgParallelDenoiser` computes one branch per process (``branch`` 0 =
conditional, 1 = unconditional), exchanges the two velocities with one all-gather over ``group`` (the two processes
of the pair) and combines them exactly as :class:`~panoworld.pipelines.guidance.GuidedDenoiser` does, so the
result equals its ``cfg_batch="sequential"`` result. Combined with context parallelism each branch is itself
computed by a context-parallel group (:mod:`panoworld.parallel.mesh`).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from panoworld.pipelines.guidance import GuidedDenoiser

__all__ = ["CfgParallelDenoiser"]


class CfgParallelDenoiser(GuidedDenoiser):
    """``GuidedDenoiser`` computing one CFG branch here and receiving the other from the paired process.

    Args:
        *args, **kwargs: as :class:`GuidedDenoiser` (``cfg_batch`` is ignored: each process makes one call).
        group: the process group of the pair (2 processes; ranks in group order = branch).
        branch: 0 (conditional: this process also keeps the depth head's prediction) or 1 (unconditional).
    """

    def __init__(self, *args, group=None, branch: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        if branch not in (0, 1):
            raise ValueError(f"branch must be 0 (conditional) or 1 (unconditional), got {branch}")
        self.group = group
        self.branch = branch

    def _branches(self, hidden, timestep, mask) -> tuple[torch.Tensor, torch.Tensor | None]:
        inp = self._rolled
        if inp.negative_text is None or self.guidance == 0:
            return super()._branches(hidden, timestep, mask)
        if self.branch == 0:
            mine = self._net(hidden, timestep, inp.text, inp.image, mask)
        else:
            self._heads = False  # the depth head belongs to the conditional branch
            mine = self._net(hidden, timestep, inp.negative_text, None, mask, "uncond")
        mine = mine.contiguous()
        both = [torch.empty_like(mine), torch.empty_like(mine)]
        dist.all_gather(both, mine, group=self.group)
        return both[0], both[1]
