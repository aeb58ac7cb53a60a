"""Benchmark: training-step cost of `panoworld train` (the trainer's own objective, optimizer and EMA code).

Cases (random weights; synthetic batches shaped like cached samples, half Round 1 / half Round 2, depth and
track targets on every latent frame, 900 tracks):

- ``lora``: full-size PanoWorld (2.3 B + heads on block 14) at 512x1024x93 (latent 16x24x64x128, 512 text
  tokens of 100,352-d, 729 SigLIP tokens), LoRA r=32 (preset lora-2b), activation checkpointing, bf16 autocast;
- ``full``: the same, full fine-tuning (preset full-2b without FSDP), activation checkpointing;
- ``fsdp``: ``full`` wrapped by FSDP2 ``fully_shard`` (one process group of one GPU: the sharding code path);
- ``tiny``: the tiny-synth preset model (8 blocks, hidden 192) at 128x256x33, batch 16.

Reported per case: median seconds per optimizer step (``--steps`` timed after ``--warmup``), samples/s, peak
allocated memory (GiB, weights, optimizer and EMA included), and model-FLOPs utilisation: the forward FLOPs F of
one micro-batch (``torch.utils.flop_counter``, attention included) times 3 (full: forward + activation and weight
gradients) or 2 (LoRA: no weight gradients for the frozen base; adapter FLOPs neglected) per sample, divided by
the step time and the GPU's dense bf16 peak (H100/H200 SXM: 989 TFLOP/s; ``--peak-tflops`` otherwise).
Recomputation under activation checkpointing is not counted (model FLOPs, not hardware FLOPs).

    python bench/train.py --device cuda --out-md docs/benchmarks.md          # H100/H200: about 4 min
    python bench/train.py --device cpu --only tiny --steps 2 --out-md docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import statistics
import time

import torch
from _common import append_markdown, free_memory, guarded, machine_name, random_init_, reset_peak, sync

from panoworld.models.transformer import PanoWorldTransformer, panoworld_2b_config
from panoworld.train.config import load_config
from panoworld.train.ema import EMA
from panoworld.train.modeling import prepare_for_training
from panoworld.train.objective import FlowMatchingObjective
from panoworld.train.samples import Batch
from panoworld.train.trainer import _make_optimizer

PEAK_TFLOPS = {"H100": 989.4, "H200": 989.4, "A100": 312.0}


def case_config(name: str, small: bool):
    """(TrainConfig, transformer config, latent (T, h, w), text tokens, image tokens, micro-batch)."""
    if name == "tiny":
        cfg = load_config("tiny-synth")
        model = dict(cfg.model.transformer)
        return cfg, model, (9, 16, 32), 512, 64, cfg.data.batch_size
    extra = ["model.depth_head_block=1", "model.descriptor_head_block=1"] if small else []
    cfg = load_config("lora-2b" if name == "lora" else "full-2b", ["distributed.strategy=ddp", *extra])
    if small:  # smoke run of the full-size code paths: 2 blocks, tiny latent
        return cfg, panoworld_2b_config(num_layers=2, num_attention_heads=4, attention_head_dim=64,
                                        adaln_lora_dim=32, crossattn_proj_in_channels=1024,
                                        img_context_dim_out=256), (4, 16, 32), 32, 16, 1
    return cfg, panoworld_2b_config(), (24, 64, 128), 512, 729, 1


def synthetic_batch(cfg, model_cfg: dict, latent, text_len: int, image_len: int, batch: int, device) -> Batch:
    """Random tensors with the shapes and masks of cached samples (first half Round 1, second half Round 2)."""
    g = torch.Generator().manual_seed(0)
    t, h, w = latent
    x0 = torch.randn(batch, 16, t, h, w, generator=g)
    mask = torch.zeros(batch, 1, t, h, w)
    mask[: (batch + 1) // 2, :, :, h // 4 : 3 * h // 4, 3 * w // 8 : 5 * w // 8] = 1  # Round 1: an FOV window
    cond = torch.zeros(batch, t, dtype=torch.bool)
    cond[(batch + 1) // 2 :, 0] = True
    mask[(batch + 1) // 2 :, :, 0] = 1  # Round 2: latent frame 0
    depth = [torch.randn(t, h, w, generator=g) for _ in range(batch)]
    n = 900
    tracks = [(torch.rand(n, t, 2, generator=g) * torch.tensor([w - 1.0, h - 1.0]), torch.ones(n, t, dtype=torch.bool),
               torch.rand(n, generator=g) > 0.3) for _ in range(batch)]
    out = Batch(x0=x0, reference=torch.randn(batch, 16, t, h, w, generator=g), clean=x0.clone(), clean_mask=mask,
                cond_frames=cond, text=torch.randn(batch, text_len, model_cfg["crossattn_proj_in_channels"], generator=g),
                image=torch.randn(batch, image_len, model_cfg["img_context_dim_in"], generator=g), depth=depth,
                tracks=tracks, seeds=list(range(batch)), kinds=["round1"] * batch)
    return out.to(device)


def forward_flops(model, batch: Batch) -> float:
    """FLOPs of one forward of ``batch`` (no grad)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter, torch.autocast(batch.x0.device.type, dtype=torch.bfloat16,
                                                    enabled=batch.x0.is_cuda):
        model(hidden_states=torch.cat([batch.x0, batch.reference], 1), timestep=torch.rand(batch.size, batch.x0.shape[2],
              device=batch.x0.device), encoder_hidden_states=batch.text, image_hidden_states=batch.image,
              condition_mask=batch.clean_mask, return_heads=True)
    return float(counter.get_total_flops())


def optimizer_step(objective, optimizer, named, batch: Batch, step: int, micro: int, grad_clip: float, autocast):
    """One optimizer step of the transformer on ``batch`` (loss, backward, gradient clipping); the loss output."""
    optimizer.zero_grad(set_to_none=True)
    with autocast:
        out = objective.loss("transformer", batch, step, float(micro))
    out.total.backward()
    torch.nn.utils.clip_grad_norm_([p for _, p in named], grad_clip)
    optimizer.step()
    return out


def run_case(name: str, device: torch.device, steps: int, warmup: int, peak_tflops: float | None,
             small: bool = False) -> dict:
    cfg, model_cfg, latent, text_len, image_len, micro = case_config(name, small)
    model_cfg = {**model_cfg, **{k: getattr(cfg.model, k) for k in ("depth_head_block", "descriptor_head_block",
                                                                     "head_hidden_dim", "descriptor_dim")}}
    reset_peak(device)
    with torch.device("meta"):
        model = PanoWorldTransformer(**model_cfg)
    model = random_init_(model.to_empty(device=device).float())
    model = prepare_for_training(model, cfg)
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    batch = synthetic_batch(cfg, model_cfg, latent, text_len, image_len, micro, device)
    flops = forward_flops(model, batch) * (2 if cfg.lora.enabled else 3)
    if name == "fsdp":
        import torch.distributed as dist
        from torch.distributed.fsdp import fully_shard

        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29517")
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=0, world_size=1)
        for block in model.transformer_blocks:
            fully_shard(block)
        fully_shard(model)
    try:
        objective = FlowMatchingObjective(model, cfg)
        named = objective.optimizer_groups()["transformer"]
        optimizer = _make_optimizer(named, cfg, device)
        ema = EMA(named, cfg.ema.decay)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16) if device.type == "cuda" else \
            contextlib.nullcontext()
        times = []
        for i in range(warmup + steps):
            if i == warmup:
                sync(device)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
            sync(device)
            start = time.perf_counter()
            out = optimizer_step(objective, optimizer, named, batch, i, micro, cfg.optim.grad_clip, autocast)
            ema.update()
            sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    finally:
        if name == "fsdp":
            torch.distributed.destroy_process_group()
    step = statistics.median(times)
    result = {"case": name, "params_m": params / 1e6, "trainable_m": trainable / 1e6, "batch": micro,
              "latent": list(latent), "s_per_step": step, "samples_per_s": micro / step, "peak_gib": peak,
              "model_tflop_per_step": flops / 1e12, "loss": float(out.total.detach())}
    if peak_tflops:
        result["mfu"] = flops / step / (peak_tflops * 1e12)
    del model, objective, optimizer, ema, batch
    free_memory(device)
    return result


def markdown(results: list[dict], device: torch.device, args) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n### `bench/train.py` on {machine_name(device)} ({stamp})\n",
             f"Command: `python bench/train.py --device {device.type} --only {','.join(args.only)} --steps "
             f"{args.steps} --warmup {args.warmup}{' --small' if args.small else ''}`; torch {torch.__version__}; "
             f"{torch.get_num_threads()} CPU threads.\n",
             "| case | params (M) | trainable (M) | micro-batch | s / step | samples / s | peak GiB | MFU |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['case']} | | | | {r['error']} | | | |")
            continue
        mfu = f"{100 * r['mfu']:.1f} %" if "mfu" in r else "n/a"
        peak = "n/a" if r["peak_gib"] != r["peak_gib"] else f"{r['peak_gib']:.1f}"
        lines.append(f"| {r['case']} | {r['params_m']:.1f} | {r['trainable_m']:.1f} | {r['batch']} | "
                     f"{r['s_per_step']:.3f} | {r['samples_per_s']:.2f} | {peak} | {mfu} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="torch device: cuda or cpu")
    parser.add_argument("--only", default="lora,full,fsdp,tiny", help="comma-separated cases")
    parser.add_argument("--steps", type=int, default=3, help="timed optimizer steps per case (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per case")
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak for MFU (default by GPU)")
    parser.add_argument("--small", action="store_true", help="smoke run: 2-block full-size cases, tiny latents")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = parser.parse_args()
    args.only = [c for c in args.only.split(",") if c]
    device = torch.device(args.device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda:0")
    peak = args.peak_tflops
    if peak is None and device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    results = []
    for name in args.only:
        results.append({"case": name, **guarded(lambda n=name: run_case(n, device, args.steps, args.warmup, peak,
                                                                           args.small), device)})
        print(json.dumps(results[-1]), flush=True)
    text = markdown(results, device, args)
    print(text)
    if args.out_md:
        append_markdown(args.out_md, text)


if __name__ == "__main__":
    main()
