"""Run a function on N CPU processes joined in a gloo process group, as ``torchrun`` would start them.

The processes come from a fork server (``multiprocessing`` "forkserver") that imported torch, panoworld and the
worker modules once: forking the test process itself can deadlock (it may hold locks of threads that PyAV or
OpenMP started), and spawning fresh interpreters would import everything again for every test.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

PRELOAD = ["torch", "panoworld.cli", "panoworld.io", "tests.parallel.workers", "tests.parallel.cli_workers"]


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
    for stale in [*folder.glob("rank*.json"), folder / "rendezvous"]:
        stale.unlink(missing_ok=True)
    multiprocessing.set_forkserver_preload(PRELOAD)
    mp.start_processes(_entry, args=(world, str(folder), target), nprocs=world, join=True,
                       start_method="forkserver")
    return [json.loads(Path(folder, f"rank{r}.json").read_text()) for r in range(world)]
