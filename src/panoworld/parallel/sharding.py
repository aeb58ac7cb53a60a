"""Batch jobs over the processes of a ``torchrun`` job: each process its share of the items, one merged summary.

    shard = join_torchrun(device)            # None for a single process
    plan = plan_items(items, shard=shard)    # this process's items (formats.job_record)
    ...run plan.todo...
    report = merge_reports(report)           # every process: the union of all processes' reports

The share is by position in the full item list (``rank, rank + world, ...``), so every item runs on exactly one
process, and a killed job resumes with any process count (finished items are skipped by their records).
"""

from __future__ import annotations

import os
from typing import Callable

import torch
import torch.distributed as dist

from panoworld.errors import InputError
from panoworld.formats.job_record import Report

#: The one-line refusal when a manual ``--shard`` and ``torchrun`` would both split a job's clips.
BOTH_SPLIT = "--shard and torchrun both split the clips over processes: give one of them"

__all__ = ["torchrun_rank", "join_torchrun", "merge_reports", "rank_say", "barrier", "job_share", "cache_on_ranks"]


def torchrun_rank() -> tuple[int, int]:
    """(rank, world size) from the ``torchrun`` environment (``RANK``, ``WORLD_SIZE``); (0, 1) outside it."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def join_torchrun(device: str | None = None) -> tuple[int, int, str] | None:
    """Under ``torchrun`` (``WORLD_SIZE`` > 1): join the process group (NCCL when this process computes on CUDA,
    else gloo) and return (rank, world, this process's device: ``cuda:<LOCAL_RANK>`` for "cuda" or no device on a
    CUDA machine, the given device otherwise). None for a single process."""
    if torchrun_rank()[1] <= 1:
        return None
    from panoworld.train.distributed import setup_distributed

    ctx = setup_distributed(device or "auto")
    if ctx.device.type == "cuda":
        torch.cuda.set_device(ctx.device)
    return ctx.rank, ctx.world_size, str(ctx.device)


def merge_reports(report: Report) -> Report:
    """The union of every process's report (a collective: every process calls it); ``report`` itself alone."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return report
    parts: list = [None] * dist.get_world_size()
    dist.all_gather_object(parts, (report.done, report.skipped, report.failed))
    merged = Report()
    for done, skipped, failed in parts:
        merged.done.extend(done)
        merged.skipped.extend(skipped)
        merged.failed.update(failed)
    return merged


def barrier() -> None:
    """Wait for every process of the job (nothing for a single process)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


def rank_say(say: Callable[[str], None]) -> Callable[[str], None]:
    """``say`` with a ``[rank r/n]`` prefix under ``torchrun``; ``say`` itself for a single process."""
    rank, world = torchrun_rank()
    if world <= 1:
        return say
    return lambda message: say(f"[rank {rank}/{world}] {message}")


def job_share(shard: tuple[int, int], device: str | None) -> tuple[tuple[int, int], str | None]:
    """This process's share (i, n) of a batch job's clips and its device.

    Under ``torchrun``: (rank, world) and ``cuda:<LOCAL_RANK>`` (the device as given on a CPU run); a manual
    ``--shard`` (anything but (0, 1)) is refused there, as both would split the clips. Otherwise ``shard`` and
    ``device`` as given.
    """
    joined = join_torchrun(None if device == "auto" else device)
    if joined is None:
        return shard, device
    if tuple(shard) != (0, 1):
        raise InputError(BOTH_SPLIT)
    rank, world, placed = joined
    return (rank, world), placed


def cache_on_ranks(cfg, device: str, *, shard: tuple[int, int] | None = None, **kwargs):
    """``panoworld train cache`` on every process of a ``torchrun`` job (or alone): each process caches its share
    of the clips, then rank 0 writes the manifest; every process returns the finished ``TrainCache``. Alone,
    ``shard = (i, n)`` caches share i of n and returns None (no manifest); torchrun and ``shard`` both splitting
    the clips is refused."""
    from panoworld.train.cache import TrainCache, build_cache
    from panoworld.train.distributed import pick_device

    joined = join_torchrun(None if device == "auto" else device)
    if joined is None:
        return build_cache(cfg, device=pick_device(device), shard=shard, **kwargs)
    if shard is not None:
        raise InputError(BOTH_SPLIT)
    rank, world, placed = joined
    if kwargs.get("say") is not None:
        kwargs["say"] = rank_say(kwargs["say"])
    build_cache(cfg, device=torch.device(placed), shard=(rank, world), **kwargs)
    barrier()
    built = build_cache(cfg, device=torch.device(placed), **kwargs) if rank == 0 else None
    barrier()
    return built if rank == 0 else TrainCache.open(cfg)
