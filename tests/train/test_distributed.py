"""Two gloo processes (DDP, then FSDP2) train exactly what one process trains with the same global batch."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, configs: list, run=None) -> None:
    """One gloo process: ``run(cfg)`` for every config (default: the trainer), then leave the group."""
    import torch.distributed as dist

    from panoworld.train.trainer import Trainer

    run = run or (lambda cfg: Trainer(cfg).run())
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        for cfg in configs:
            run(cfg)
    finally:
        dist.destroy_process_group()


def _params(run_dir, step=2):
    return load_file(str(run_dir / "checkpoints" / f"step_{step:07d}" / "training_state" / "params.safetensors"))


def test_two_gloo_processes_match_one_process(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    common = dict(run={"max_steps": 2, "checkpoint_every": 2}, data={"batch_size": 4, "micro_batch_size": 1})
    single = make_config(tmp_path / "single", **common)
    ddp = make_config(tmp_path / "ddp", **common)
    fsdp = make_config(tmp_path / "fsdp", **common, distributed={"strategy": "fsdp"})
    from panoworld.train.trainer import Trainer

    Trainer(single).run()
    mp.start_processes(_worker, args=(2, _free_port(), [ddp, fsdp]), nprocs=2, join=True, start_method="fork")
    reference = _params(tmp_path / "single")
    for name in ("ddp", "fsdp"):
        other = _params(tmp_path / name)
        assert other.keys() == reference.keys()
        for key in reference:
            torch.testing.assert_close(other[key], reference[key], atol=2e-6, rtol=1e-5, msg=f"{name}: {key}")
    import json

    state = json.loads((tmp_path / "ddp" / "checkpoints" / "step_0000002" / "training_state" / "state.json")
                       .read_text())
    assert state["world_size"] == 2 and state["samples_seen"] == 8
    assert not pytest.approx(0) == float(sum(v.abs().sum() for v in reference.values()))
