"""Several processes (GPUs) on one job with torch's own distributed stack (``torchrun``; NCCL on GPUs, gloo on CPU).

* context parallelism: one clip's video tokens split across processes, self-attention by all-to-all (Ulysses)
  or ring (:mod:`.attention`, :mod:`.context`);
* CFG parallelism: the conditional and unconditional branches on different processes (:mod:`.cfg`);
* both combined per clip (:mod:`.mesh`), or batch jobs sharded item by item over the processes (:mod:`.sharding`).

See docs/multigpu.md.
"""

from panoworld._lazy import lazy_exports

_EXPORTS = {
    "CP_MODES": ".attention",
    "ulysses_attention": ".attention",
    "ring_attention": ".attention",
    "ContextParallelAttnProcessor": ".attention",
    "ContextParallel": ".context",
    "context_parallel": ".context",
    "CfgParallelDenoiser": ".cfg",
    "ParallelPlan": ".mesh",
    "build_plan": ".mesh",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
