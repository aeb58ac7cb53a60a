"""Benchmark: distillation step cost and few-step generation speed at full size on one device, random weights.

1. **Distillation step** (``panoworld train distill``'s own objective and optimizers, preset distill-2b: LoRA r=32
   on student and critic, activation checkpointing, bf16 autocast, the teacher frozen in bf16; 512x1024x93 ->
   latent 16x24x64x128, 512 text tokens of 100,352-d, 729 SigLIP tokens, micro-batch 1, depth and track targets on
   every latent frame): seconds of a student update (its few-step rollout, one student forward + backward of the
   sample and the geometry rows, the teacher's two CFG forwards, one critic forward) and of a critic update (the
   rollout, one student forward, one critic forward + backward), medians over ``--steps`` seeds (the rollout
   length k varies with the seed: max reported too), and one distillation cycle = 1 student + K = 4 critic
   updates; peak allocated memory (weights, optimizer states, EMA included).
2. **Few-step generation**: one Round 1 of the 4-step student without CFG (schedule 0.999, 0.937, 0.833, 0.624),
   FOV conditioning (VAE encode) + sampling + VAE decode with the full Wan2.1 VAE (random weights), warm; text and
   SigLIP embeddings are given (random, their encoders are not timed). For comparison, in the same run: one
   guided evaluation of the teacher's sampler (CFG 7, batched) and one student evaluation, from which the
   teacher's 35-step round (36 evaluations) is extrapolated as ``round - 4 student evals + 36 teacher evals``.

    python bench/distill.py --device cuda --out-md docs/benchmarks.md        # H100 / H200: about 5 minutes
    python bench/distill.py --device cuda --out-json OUT/distill.json --out-md OUT/distill.md
    python bench/distill.py --device cpu --small                              # the same code at tiny sizes
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import statistics
import time

import torch
from _common import (append_markdown, build_random, free_memory, guarded, machine_name, measure, random_init_,
                     reset_peak, sync)
from train import synthetic_batch

from panoworld.models.transformer import PanoWorldTransformer, panoworld_2b_config, tiny_config
from panoworld.train.distill_config import load_distill_config
from panoworld.train.distill_objective import DistillationObjective
from panoworld.train.ema import EMA
from panoworld.train.modeling import prepare_for_training
from panoworld.train.trainer import _make_optimizer

DFD = [0.999, 0.937, 0.833, 0.624]


def sizes_for(small: bool) -> dict:
    if small:
        return dict(net=tiny_config(text_dim=64), latent=(3, 8, 16), erp=(64, 128), frames=9, persp=(48, 64),
                    text=(8, 64), image=(8, 16))
    return dict(net=panoworld_2b_config(), latent=(24, 64, 128), erp=(512, 1024), frames=93, persp=(480, 640),
                text=(512, 100352), image=(729, 1152))


def progress(case: str, event: str, **figures) -> None:
    """One JSON line per stage of a case (flushed), so a run cut by a time limit still says how far it got."""
    print(json.dumps({"progress": case, "event": event, "t_s": round(time.perf_counter() - _STARTED, 1), **figures}),
          flush=True)


_STARTED = time.perf_counter()


def _network(cfg, net_cfg: dict, device, *, seed: int, heads: bool):
    keys = ("depth_head_block", "descriptor_head_block", "head_hidden_dim", "descriptor_dim")
    config = {**net_cfg, **{k: getattr(cfg.model, k) for k in keys}}
    if not heads:
        config.update(depth_head_block=None, descriptor_head_block=None)
    with torch.device("meta"):
        model = PanoWorldTransformer(**config)
    return random_init_(model.to_empty(device=device).float(), seed=seed), config


def distill_step_case(device: torch.device, sizes: dict, steps: int, small: bool) -> dict:
    """Student and critic update times and peak memory (see the module docstring)."""
    overrides = ["model.init=bench", "distill.timesteps=" + json.dumps(DFD)]
    if small:
        overrides += ["model.depth_head_block=1", "model.descriptor_head_block=1", "model.head_hidden_dim=32",
                      "model.descriptor_dim=16"]
    cfg = load_distill_config("distill-2b", overrides)
    reset_peak(device)
    student, net_cfg = _network(cfg, sizes["net"], device, seed=0, heads=True)
    student = prepare_for_training(student, cfg)
    critic = prepare_for_training(_network(cfg, sizes["net"], device, seed=0, heads=False)[0], cfg)
    teacher = _network(cfg, sizes["net"], device, seed=0, heads=False)[0]
    teacher = teacher.to(torch.bfloat16 if device.type == "cuda" else torch.float32).eval().requires_grad_(False)
    negative = torch.randn(*sizes["text"], device=device)
    objective = DistillationObjective(student, critic, teacher, cfg, negative_text=negative, guidance=7.0)
    objective.bind(objective.networks())
    groups = objective.optimizer_groups()
    optimizers = {k: _make_optimizer(v, cfg, device) for k, v in groups.items()}
    ema = EMA(objective.ema_parameters(), cfg.ema.decay)
    batch = synthetic_batch(cfg, net_cfg, sizes["latent"], sizes["text"][0], sizes["image"][0], 1, device)
    progress("distill", "networks built (student, critic, teacher, optimizers, EMA, batch)")
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    times: dict[str, list[float]] = {"student": [], "critic": []}
    peak = float("nan")
    for i in range(steps + 1):  # the first round warms up (kernels, allocator)
        if i == 1 and device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for update in ("student", "critic"):
            batch.seeds = [1000 + i]
            sync(device)
            start = time.perf_counter()
            optimizers[update].zero_grad(set_to_none=True)
            with autocast:
                out = objective.loss(update, batch, 2 * i + (update == "critic"), 1.0)
            out.total.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in groups[update]], cfg.optim.grad_clip)
            optimizers[update].step()
            if update == "student":
                ema.update()
            sync(device)
            if i:
                times[update].append(time.perf_counter() - start)
            progress("distill", f"{update} update", round=i, warm_up=not i,
                     seconds=round(time.perf_counter() - start, 3))
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**30
    k = cfg.distill.critic_updates
    result = {"trainable_m": sum(p.numel() for _, p in groups["student"]) / 1e6,
              "student_s": statistics.median(times["student"]), "student_max_s": max(times["student"]),
              "critic_s": statistics.median(times["critic"]), "critic_max_s": max(times["critic"]),
              "peak_gib": peak, "critic_updates": k}
    result["cycle_s"] = result["student_s"] + k * result["critic_s"]
    del objective, student, critic, teacher, optimizers, ema, batch
    free_memory(device)
    return result


def generation_case(device: torch.device, sizes: dict, repeats: int, small: bool, compile_blocks: bool = False) -> dict:
    """Warm seconds of one 4-step Round 1 (with its stages) and per-evaluation times of student and teacher."""
    from panoworld.models.components import VideoVAE
    from panoworld.pipelines import DenoiserInputs, GenerationConfig, GuidedDenoiser, PanoWorldPipeline
    from panoworld.pipelines.few_step import few_step_schedule
    from panoworld.pipelines.panoworld import _Timer
    from panoworld.pipelines.schedule import karras_flow_schedule

    from diffusers import AutoencoderKLWan

    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if small:
        from panoworld.models.components._tiny import tiny_wan_vae_config

        vae_model = AutoencoderKLWan(**tiny_wan_vae_config())
    else:
        with torch.device(device):
            vae_model = AutoencoderKLWan()
    reset_peak(device)
    vae = VideoVAE(vae_model.to(device, dtype))
    transformer = build_random(PanoWorldTransformer, sizes["net"], device, dtype)
    if compile_blocks:  # as `panoworld generate --compile`; the warm-up round below compiles
        transformer.compile_blocks()
    pipe = PanoWorldPipeline(transformer, vae, None, None, device=device)
    pipe.sampler_kind, pipe.sampler_timesteps = "few-step", DFD
    progress("generate", "networks built (transformer, VAE)")
    cfg = GenerationConfig(height=sizes["erp"][0], width=sizes["erp"][1], num_frames=sizes["frames"],
                           persp_height=sizes["persp"][0], persp_width=sizes["persp"][1], sampler="few-step",
                           num_steps=len(DFD), guidance=0.0)
    text = torch.randn(1, *sizes["text"], device=device, dtype=dtype)
    negative = torch.randn(1, *sizes["text"], device=device, dtype=dtype)
    tokens = torch.randn(1, *sizes["image"], device=device, dtype=dtype)
    perspective = torch.rand(1, 3, *sizes["persp"])
    out = {}

    def round1():
        timer = _Timer(device)
        with torch.inference_mode():
            pipe.round1(perspective, text, None, tokens, cfg, timer=timer, progress=None, info={})
        return timer.times

    m = measure(round1, device, repeats=repeats, warmup=1)
    out["round_s"], out["round_peak_gib"] = m.median, m.peak_gib
    out["round_stages_s"] = {k: round(v, 3) for k, v in m.result.items()}
    progress("generate", "4-step round (after one warm-up round)", seconds=round(m.median, 3))
    shape = (1, 16, *sizes["latent"])
    mask = torch.zeros(1, 1, *shape[2:], device=device)
    inputs = DenoiserInputs(text=text, negative_text=negative, image=tokens,
                            reference=torch.randn(shape, device=device), mask_channel=mask,
                            paste_latent=torch.randn(shape, device=device), paste_mask=mask,
                            noise=torch.randn(shape, device=device))
    x = torch.randn(shape, device=device)
    for name, schedule, guidance in (("student_eval_s", few_step_schedule(DFD), 0.0),
                                     ("teacher_eval_s", karras_flow_schedule(35), 7.0)):
        den = GuidedDenoiser(transformer, inputs, schedule, guidance=guidance, cfg_batch="batched",
                             compute_dtype=dtype)
        with torch.inference_mode():
            out[name] = measure(lambda d=den: d(x, 0), device, repeats=3, warmup=1).median
    out["teacher_round_s_extrapolated"] = out["round_s"] - len(DFD) * out["student_eval_s"] + 36 * out["teacher_eval_s"]
    out["speedup"] = out["teacher_round_s_extrapolated"] / out["round_s"]
    return out


def markdown(r: dict, device, args) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    d, g = r.get("distill", {}), r.get("generate", {})
    lines = [f"\n### `bench/distill.py` on {machine_name(device)} ({stamp})\n",
             f"Command: `python bench/distill.py --device {device.type} --steps {args.steps} --repeats {args.repeats}"
             f"{' --small' if args.small else ''}{' --compile' if args.compile else ''}`; torch {torch.__version__}; "
             "random weights; "
             f"{'tiny sizes' if args.small else '512x1024x93'}.\n"]
    if "error" in d or not d:
        lines.append(f"- distillation step: {d.get('error', 'not run')}")
    else:
        lines.append(f"- distillation (distill-2b: LoRA student + critic, frozen bf16 teacher, micro-batch 1): "
                     f"student update {d['student_s']:.2f} s (max {d['student_max_s']:.2f}), critic update "
                     f"{d['critic_s']:.2f} s (max {d['critic_max_s']:.2f}), cycle of 1 + {d['critic_updates']} = "
                     f"{d['cycle_s']:.2f} s; peak {d['peak_gib']:.1f} GiB; {d['trainable_m']:.1f} M trainable "
                     "per network")
    if "error" in g or not g:
        lines.append(f"- few-step generation: {g.get('error', 'not run')}")
    else:
        stages = ", ".join(f"{k.replace('round1_', '')} {v:.2f} s" for k, v in g["round_stages_s"].items())
        lines.append(f"- 4-step student, one round without CFG incl. VAE encode/decode: **{g['round_s']:.2f} s** "
                     f"({stages}); peak {g['round_peak_gib']:.1f} GiB. Per evaluation: student "
                     f"{g['student_eval_s']:.3f} s, teacher with batched CFG {g['teacher_eval_s']:.3f} s -> the "
                     f"teacher's 35-step round extrapolated to {g['teacher_round_s_extrapolated']:.1f} s "
                     f"({g['speedup']:.1f}x).")
    return "\n".join(lines) + "\n"


def write_json(path: str | None, results: dict, device, args) -> None:
    """The results so far with the run's settings, written atomically."""
    if not path:
        return
    from panoworld.formats.drift_report import json_ready
    from panoworld.io.atomic import atomic_write_json

    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "device": machine_name(device), "torch": torch.__version__, "steps": args.steps,
            "repeats": args.repeats, "small": args.small, "compile": args.compile}
    atomic_write_json(path, json_ready({"meta": meta, **results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="torch device: cuda or cpu")
    parser.add_argument("--steps", type=int, default=2, help="timed distillation rounds (student + critic update)")
    parser.add_argument("--repeats", type=int, default=1, help="timed warm rounds of generation (median)")
    parser.add_argument("--only", default="distill,generate", help="comma-separated cases")
    parser.add_argument("--small", action="store_true", help="tiny network, VAE and video (a CPU check)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the transformer blocks for the "
                        "generation case (as `panoworld generate --compile`)")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    parser.add_argument("--out-json", default=None, help="write every figure here (after each case)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda:0")
    sizes, results, started = sizes_for(args.small), {}, time.perf_counter()
    for name, run in (("distill", lambda: distill_step_case(device, sizes, args.steps, args.small)),
                      ("generate", lambda: generation_case(device, sizes, args.repeats, args.small, args.compile))):
        if name not in args.only.split(","):
            continue
        results[name] = guarded(run, device)
        print(json.dumps({name: results[name]}), flush=True)
        write_json(args.out_json, results, device, args)
    results["bench_wall_s"] = round(time.perf_counter() - started, 1)
    write_json(args.out_json, results, device, args)
    text = markdown(results, device, args)
    print(text)
    if args.out_md:
        append_markdown(args.out_md, text)


if __name__ == "__main__":
    main()
