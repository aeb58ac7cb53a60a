"""Benchmark: several GPUs (issue 24): seconds per generation round with context / CFG parallelism, and training
throughput with DDP / FSDP2, each next to one GPU measured by the same command.

Generation: the full-size PanoWorld transformer (2.3 B parameters, bf16, random weights) through the real sampler
(``pipelines.sampler.sample`` with the guided denoiser, CFG 7) at latents 24x64x128 (512x1024, 93 frames), 512
text tokens, 729 SigLIP tokens, FOV paste. ``--evals`` network evaluations per case (36 = one real round of 35
steps; fewer are scaled to 36 and marked "extrapolated"). Text/SigLIP encoders and the VAE are not run (the same
on every process; see the Generate section of docs/benchmarks.md for their cost). Cases per process count N:

- 1 process: batched CFG (the baseline);
- ``ulysses`` / ``ring``: context parallel over N, CFG batched;
- ``cfg`` (N = 2) / ``cfg+ulysses`` / ``cfg+ring`` (N >= 4): CFG branches on two halves, context parallel in each.

Each case's final latent is compared with the 1-process latent (max |difference|; bf16 rounding differs with the
split). Training: synthetic batches shaped like cached samples (``bench/train.py``), optimizer steps on every
process: ``tiny`` (tiny-synth preset, DDP), ``lora`` (lora-2b, DDP), ``full`` (full-2b, FSDP2); samples/s of the
whole job and the scaling efficiency ``samples/s(N) / (N x samples/s(1))``.

    python bench/multigpu.py --gpus 1,2,4,8 --out-md docs/benchmarks.md      # 8 x H100: about 20 min
    python bench/multigpu.py --gpus 1,2,4,8 --evals 12 --out-md docs/benchmarks.md   # about 10 min
    python bench/multigpu.py --gpus 1,2 --device cpu --small --evals 2 --train lora --train-steps 1   # CPU, 2 min

The driver starts ``torchrun --nproc-per-node N bench/multigpu.py --worker ...`` once per N (torch's launcher).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
from _common import append_markdown, free_memory, machine_name, random_init_, sync

from panoworld.models.transformer import PanoWorldTransformer, panoworld_2b_config

ROUND_EVALS = 36
SMALL_MODEL = dict(num_layers=2, num_attention_heads=8, attention_head_dim=16, adaln_lora_dim=16,
                   crossattn_proj_in_channels=256, img_context_dim_out=128)


def split_cases(world: int) -> list[tuple[str, str | None, bool]]:
    """(name, context-parallel mode, CFG parallel) of every generation case for ``world`` processes."""
    if world == 1:
        return [("1 process", None, False)]
    cases = [("ulysses", "ulysses", False), ("ring", "ring", False)]
    if world == 2:
        return cases + [("cfg", None, True)]
    return cases + [("cfg+ulysses", "ulysses", True), ("cfg+ring", "ring", True)]


def _case_file(case: str) -> str:
    """File-name part of a split case's saved latent ("cfg+ring" -> "cfg_ring.pt")."""
    return f"{case.replace('+', '_').replace(' ', '_')}.pt"


def _inputs(small: bool, device, dtype):
    from panoworld.pipelines import DenoiserInputs

    g = torch.Generator().manual_seed(0)
    t, h, w = (8, 8, 16) if small else (24, 64, 128)
    text_dim = SMALL_MODEL["crossattn_proj_in_channels"] if small else 100352
    tokens = (16, 8) if small else (512, 729)
    shape = (1, 16, t, h, w)
    mask = torch.zeros(1, 1, t, h, w)
    mask[..., h // 4 : 3 * h // 4, 3 * w // 8 : 5 * w // 8] = 1

    def rand(*size):
        return torch.randn(*size, generator=g).to(device)

    inputs = DenoiserInputs(text=rand(1, tokens[0], text_dim).to(dtype), negative_text=rand(1, tokens[0], text_dim)
                            .to(dtype), image=rand(1, tokens[1], 1152).to(dtype), reference=rand(*shape),
                            mask_channel=mask.to(device), paste_latent=rand(*shape), paste_mask=mask.to(device),
                            noise=rand(*shape))
    return inputs


def generation_case(model, inputs, name: str, mode: str | None, cfg_parallel: bool, evals: int, device) -> dict:
    """Time ``evals`` sampler evaluations of one split; rank 0's result (seconds, peak GiB, final latent)."""
    from panoworld.parallel.mesh import build_plan
    from panoworld.pipelines import GuidedDenoiser, karras_flow_schedule, sample

    world = dist.get_world_size() if dist.is_initialized() else 1
    plan = build_plan(mode, cfg_parallel) if world > 1 else None
    make = GuidedDenoiser if plan is None else plan.denoiser
    split = contextlib.nullcontext() if plan is None else plan.context(model)
    if plan is not None:
        plan.check(model.config.num_attention_heads, inputs.noise.shape[2])

    def run(steps: int) -> torch.Tensor:
        schedule = karras_flow_schedule(steps)
        denoiser = make(model, inputs, schedule, guidance=7.0, cfg_batch="batched", compute_dtype=model.dtype)
        return sample(denoiser, inputs.noise.clone(), schedule)

    with split, torch.no_grad():
        run(1)  # warm-up: kernels, communicators
        sync(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        if dist.is_initialized():
            dist.barrier()
        start = time.perf_counter()
        latent = run(evals - 1)
        sync(device)
        if dist.is_initialized():
            dist.barrier()
        seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return {"case": name, "world": world, "evals": evals, "seconds": seconds,
            "s_per_round": seconds * ROUND_EVALS / evals, "peak_gib": peak, "latent": latent.float().cpu()}


def training_case(name: str, ctx, steps: int, small: bool) -> dict:
    """Median seconds per optimizer step of ``name`` on every process of the group (DDP, or FSDP2 for full)."""
    from train import case_config, optimizer_step, synthetic_batch

    from panoworld.train.distributed import wrap_network
    from panoworld.train.modeling import prepare_for_training
    from panoworld.train.objective import FlowMatchingObjective
    from panoworld.train.trainer import _make_optimizer

    cfg, model_cfg, latent, text_len, image_len, micro = case_config(name, small)
    model_cfg = {**model_cfg, **{k: getattr(cfg.model, k) for k in ("depth_head_block", "descriptor_head_block",
                                                                     "head_hidden_dim", "descriptor_dim")}}
    with torch.device("meta"):
        model = PanoWorldTransformer(**model_cfg)
    model = prepare_for_training(random_init_(model.to_empty(device=ctx.device).float()), cfg)
    batch = synthetic_batch(cfg, model_cfg, latent, text_len, image_len, micro, ctx.device)
    objective = FlowMatchingObjective(model, cfg)
    strategy = "fsdp" if name == "full" else "ddp"
    objective.bind({k: wrap_network(net, ctx, strategy) for k, net in objective.networks().items()})
    named = objective.optimizer_groups()["transformer"]
    optimizer = _make_optimizer(named, cfg, ctx.device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if ctx.device.type == "cuda" else contextlib.nullcontext()
    times = []
    for i in range(steps + 1):  # the first step is the warm-up
        sync(ctx.device)
        start = time.perf_counter()
        optimizer_step(objective, optimizer, named, batch, i, micro, cfg.optim.grad_clip, autocast)
        sync(ctx.device)
        if i:
            times.append(time.perf_counter() - start)
    step = statistics.median(times)
    del model, objective, optimizer, batch
    free_memory(ctx.device)
    return {"case": name, "strategy": strategy, "world": ctx.world_size, "micro": micro, "s_per_step": step,
            "samples_per_s": ctx.world_size * micro / step}


def worker(args) -> None:
    from panoworld.train.distributed import setup_distributed

    ctx = setup_distributed(args.device)
    device = ctx.device
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    config = panoworld_2b_config(**(SMALL_MODEL if args.small else {}))
    with torch.device("meta"):
        model = PanoWorldTransformer(**config)
    model = random_init_(model.to_empty(device=device).to(dtype)).eval()
    inputs = _inputs(args.small, device, dtype)
    out = Path(args.json)
    results = {"generation": [], "training": [], "machine": machine_name(device), "torch": torch.__version__}
    for name, mode, cfg_parallel in split_cases(ctx.world_size):
        result = generation_case(model, inputs, name, mode, cfg_parallel, args.evals, device)
        latent = result.pop("latent")
        if ctx.is_main:
            torch.save(latent, out.with_name(f"{out.stem}_{_case_file(name)}"))
            results["generation"].append(result)
            print(json.dumps(result), flush=True)
    del model, inputs
    free_memory(device)
    for name in [n for n in args.train.split(",") if n]:
        result = training_case(name, ctx, args.train_steps, args.small)
        if ctx.is_main:
            results["training"].append(result)
            print(json.dumps(result), flush=True)
    if ctx.is_main:
        out.write_text(json.dumps(results))
    ctx.close()


def markdown(runs: dict[int, dict], folder: Path, args) -> str:
    """The Markdown section: generation and training tables with ratios to the 1-process run."""
    first = runs[min(runs)]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    flags = (f" --evals {args.evals}" + (" --small" if args.small else "") + f" --train '{args.train}' --train-steps "
             f"{args.train_steps}")
    lines = [f"\n### `bench/multigpu.py` on {first['machine']} ({stamp})\n",
             f"Command: `python bench/multigpu.py --gpus {args.gpus} --device {args.device}{flags}`; torch "
             f"{first['torch']}.{' Seconds per round extrapolated from ' + str(args.evals) + ' evaluations.' if args.evals != ROUND_EVALS else ''}\n",
             "| processes | split | s / round | speed-up vs 1 | peak GiB / process | max abs latent diff vs 1 |",
             "|---|---|---|---|---|---|"]
    base = next((g for g in runs.get(1, {}).get("generation", [])), None)
    reference = torch.load(folder / f"run1_{_case_file(base['case'])}", weights_only=True) if base else None
    for world, run in sorted(runs.items()):
        for g in run["generation"]:
            latent = torch.load(folder / f"run{world}_{_case_file(g['case'])}", weights_only=True)
            diff = f"{float((latent - reference).abs().max()):.3g}" if reference is not None else "n/a"
            speed = f"{base['s_per_round'] / g['s_per_round']:.2f}x" if base else "n/a"
            peak = "n/a" if g["peak_gib"] != g["peak_gib"] else f"{g['peak_gib']:.1f}"
            lines.append(f"| {world} | {g['case']} | {g['s_per_round']:.2f} | {speed} | {peak} | {diff} |")
    lines += ["", "| processes | training case | strategy | s / step | samples / s (all processes) | scaling "
              "efficiency |", "|---|---|---|---|---|---|"]
    single = {t["case"]: t for t in runs.get(1, {}).get("training", [])}
    for world, run in sorted(runs.items()):
        for t in run["training"]:
            one = single.get(t["case"])
            eff = f"{t['samples_per_s'] / (world * one['samples_per_s']):.2f}" if one else "n/a"
            lines.append(f"| {world} | {t['case']} | {t['strategy']} | {t['s_per_step']:.3f} | "
                         f"{t['samples_per_s']:.2f} | {eff} |")
    return "\n".join(lines) + "\n"


def driver(args) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench_multigpu_"))
    runs = {}
    for world in (int(n) for n in args.gpus.split(",")):
        out = folder / f"run{world}.json"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(world),
                   __file__, "--worker", "--json", str(out), "--device", args.device, "--evals", str(args.evals),
                   "--train", args.train, "--train-steps", str(args.train_steps), *(["--small"] if args.small else [])]
        print(" ".join(command), flush=True)
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        if subprocess.run(command, env=env).returncode != 0 or not out.is_file():
            print(f"{world} processes: failed (see the output above)", flush=True)
            continue
        runs[world] = json.loads(out.read_text())
    if not runs:
        raise SystemExit("no run finished")
    text = markdown(runs, folder, args)
    print(text)
    if args.out_md:
        append_markdown(args.out_md, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", default="1,2,4,8", help="comma list of process counts (one GPU each on CUDA)")
    parser.add_argument("--device", default="auto", help="auto (cuda:<local rank> if CUDA is present), cpu")
    parser.add_argument("--evals", type=int, default=ROUND_EVALS, help="timed network evaluations per case (36 = "
                        "one round; fewer are extrapolated to 36)")
    parser.add_argument("--train", default="tiny,lora,full", help="comma list of training cases ('' for none)")
    parser.add_argument("--train-steps", type=int, default=3, help="timed optimizer steps per training case")
    parser.add_argument("--small", action="store_true", help="smoke run: a 2-block model, tiny latents")
    parser.add_argument("--out-md", default=None, help="append the Markdown section to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evals < 2:
        parser.error("--evals must be at least 2")
    worker(args) if args.worker else driver(args)


if __name__ == "__main__":
    main()
