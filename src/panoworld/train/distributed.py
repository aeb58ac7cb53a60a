"""Multi-process training with torch's own stack: ``torchrun`` environment, DDP or FSDP2, collectives.

``torchrun --nproc-per-node N -m panoworld train --config F`` sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``; one
process (no ``WORLD_SIZE``) runs without a process group. Backend: NCCL on CUDA, gloo on CPU. Each process takes
``batch_size / world_size`` samples of every step (see ``trainer``), so the averaged gradients equal one process's
on the whole batch. FSDP2 (``torch.distributed.fsdp.fully_shard``) shards each transformer block and the root.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from panoworld.errors import InputError

__all__ = ["DistContext", "setup_distributed", "wrap_network", "all_reduce_sum", "no_sync", "barrier",
           "pick_device"]


@dataclass
class DistContext:
    """This process's place: rank, world size, its device, and whether we created the process group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def close(self) -> None:
        """Destroy the process group if this context created it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """"auto" -> cuda:<local_rank> when CUDA is available, else cpu; anything else as given."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"run.device={name} but CUDA is not available")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def setup_distributed(device_name: str) -> DistContext:
    """Join the ``torchrun`` process group when ``WORLD_SIZE`` > 1 (or reuse one already initialised)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_name, local_rank)
    if world <= 1 and not dist.is_initialized():
        return DistContext(device=device)
    owns = False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
        owns = True
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank,
                       device=device, owns_group=owns)


def wrap_network(network: nn.Module, ctx: DistContext, strategy: str, *, find_unused: bool = True) -> nn.Module:
    """The module to call for forward passes: the network itself, DDP around it, or the FSDP2-sharded network."""
    if not ctx.enabled:
        return network
    if strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for block in getattr(network, "transformer_blocks", []):
            fully_shard(block)
        fully_shard(network)
        return network
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(network, device_ids=ids, find_unused_parameters=find_unused)


def no_sync(module: nn.Module, active: bool):
    """Skip the gradient all-reduce of a DDP module for a non-final micro-batch (FSDP2: defer the reduce)."""
    if not active:
        return nullcontext()
    if hasattr(module, "no_sync"):
        return module.no_sync()
    if hasattr(module, "set_requires_gradient_sync"):
        module.set_requires_gradient_sync(False)

        class _Restore:
            def __enter__(self):
                return None

            def __exit__(self, *exc):
                module.set_requires_gradient_sync(True)

        return _Restore()
    return nullcontext()


def all_reduce_sum(values: list[float], ctx: DistContext) -> list[float]:
    """Element-wise sum of a list of floats over all processes (float64)."""
    if not ctx.enabled:
        return list(values)
    device = ctx.device if dist.get_backend() == "nccl" else torch.device("cpu")
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.cpu().tolist()


def barrier(ctx: DistContext) -> None:
    """Wait for every process."""
    if ctx.enabled:
        dist.barrier()
