"""Run a function on N CPU processes joined in a gloo process group.

The processes are forked (not spawned): they inherit the imported modules, so a test pays no second start-up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _entry(rank: int, world: int, folder: str, target) -> None:
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))  # what torchrun sets
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world)
    try:
        results = target(rank, world, Path(folder))
        Path(folder, f"rank{rank}.json").write_text(json.dumps(results or {}))
    finally:
        dist.destroy_process_group()


def run_on_processes(target, world: int, folder: Path) -> list[dict]:
    """``target(rank, world, folder) -> dict`` on ``world`` processes; returns every rank's dict, in rank order.
    A failure in any process raises here."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("rank*.json"):
        stale.unlink()
    mp.start_processes(_entry, args=(world, str(folder), target), nprocs=world, join=True, start_method="fork")
    return [json.loads(Path(folder, f"rank{r}.json").read_text()) for r in range(world)]
