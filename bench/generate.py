"""Benchmark: full-size PanoWorld generation (512x1024, 93 frames, CFG 7) on one device, random weights.

What is real: the full PanoWorld transformer (2.3 B parameters, bf16), the full Wan2.1 VAE (random weights), the
conditioning builder, the sampler, CFG, decoding, the fast switches and every offload mode. What is replaced: the
7B text encoder and SigLIP2 return random embeddings of the right shapes; they hold weight-sized buffers that
move like models, so peak memory and offload transfers include their weights (their compute, 0.03 s and 0.01 s
per clip, is not in the numbers). Timing does not depend on weight values; the step cache's *decisions* do, so on
random weights its rounds use a fixed reuse schedule (``--cache-reuse``); ``--cache-rule`` adds a round with the
adaptive rule on random weights, for information only.

Cases, in this order, each one failing alone (an error row) without stopping the others:

1. ``ceilings``: the card's bf16 / FP8 matmul and SDPA rates (the floors' denominators);
2. ``vae``: Wan2.1 encode (moving and still video) and decode, diffusers' loop vs ``WanVAERunner``, times and
   output differences;
3. ``steps``: one guided evaluation, eager and compiled, bf16 and FP8, and a step-cache reuse; the stock diffusers
   forward next to ours (eager, same attention kernel); the full-size FP8 output error;
4. ``single`` / ``fast`` / ``chained``: real rounds (``--steps``, default 35) exact, with the fast switches, chained;
5. ``offload``: offload none / model / group at one step count.

``--budget-s`` keeps the run inside a wall-clock budget: a round that would not fit is run with fewer steps and
reported as "extrapolated to 35 steps" (= total - sampling + seconds per evaluation x 36 per round), or skipped.
Every figure is printed as a JSON line when measured, written to ``--out-json`` after every case, and rendered to
``--out-md`` at the end (``--from-json`` renders a saved run). The run ends by printing every like-for-like ratio
(``like for like, …``: both sides measured in this run, same card, dtype, attention kernel and compile mode).

Usage: ``bash bench/gpu_speed.sh OUT_DIR`` (issue 21's run, about 10 minutes on one H100), or
``python bench/generate.py --device cuda --compile --budget-s 450 --out-md docs/benchmarks.md``;
``python bench/generate.py --device cpu --small --steps 2`` runs the same code on tiny sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys
import time
import traceback
from pathlib import Path

import torch
from _common import (
    Budget, build_random, card_ceilings, free_memory, machine_name, measure, rel_error, reset_peak,
    stock_cosmos_config,
)
from _flops import forward_flops, step_floor_s
from _generate_report import like_for_like, write_markdown

from panoworld.models import PanoWorldTransformer, panoworld_2b_config, tiny_config
from panoworld.pipelines import DenoiserInputs, GenerationConfig, GuidedDenoiser, PanoWorldPipeline
from panoworld.pipelines.attention import attention_backend
from panoworld.pipelines.schedule import karras_flow_schedule
from panoworld.pipelines.step_cache import StepCache, fast_paths

#: Parameters of the replaced encoders: Qwen2.5-VL-7B language model (what TextEncoder keeps) and SigLIP2 so400m.
TEXT_ENCODER_PARAMS, SIGLIP_PARAMS = 7_070_000_000, 428_000_000
FULL_STEPS = 35


class RandomTextEncoder:
    """Stand-in for Cosmos-Reason1-7B: random (B, 512, embed_dim) features (timing only), holding an
    uninitialised buffer as large as the real encoder's weights, moved by ``to()`` like a model."""

    def __init__(self, embed_dim: int, device, dtype, *, params: int, length: int = 512):
        self.embed_dim, self.length, self.dtype = embed_dim, length, dtype
        self.weights = torch.empty(params, dtype=dtype, device=device)

    @property
    def device(self) -> torch.device:
        return self.weights.device

    def to(self, device=None, dtype=None):
        if device is not None:
            self.weights = self.weights.to(device)
        return self

    def encode(self, prompts):
        gen = torch.Generator(device=self.device).manual_seed(len(prompts))
        return torch.randn(len(prompts), self.length, self.embed_dim, generator=gen, device=self.device,
                           dtype=self.dtype)


class RandomImageEncoder(RandomTextEncoder):
    """Stand-in for SigLIP2: random (B, tokens, embed_dim) features, weight-sized buffer (timing only)."""

    def encode(self, images):
        return torch.randn(images.shape[0], self.length, self.embed_dim, device=self.device, dtype=self.dtype)


@contextlib.contextmanager
def fixed_cache_schedule(reuse: set[int] | None):
    """Make the pipeline's step cache reuse exactly ``reuse`` (evaluation indices) instead of deciding by the
    rule (random weights make the rule's decisions meaningless; the cost of a given schedule is what we time)."""
    from panoworld.pipelines import panoworld as module

    if reuse is None:
        yield
        return
    original = module.StepCache
    module.StepCache = lambda threshold: original(threshold, reuse=reuse, max_reuse=len(reuse) + 1)
    try:
        yield
    finally:
        module.StepCache = original


def spread_reuse(count: int, evals: int, warmup: int = 4) -> set[int]:
    """``count`` evaluation indices spread evenly over warmup … evals - 2 (the ones a cache may reuse)."""
    allowed = list(range(warmup, evals - 1))
    count = max(0, min(count, len(allowed)))
    return {allowed[round(i * len(allowed) / count)] for i in range(count)} if count else set()


class GenerationBench:
    """The models, the budget and the results of one run (see the module docstring)."""

    def __init__(self, args):
        self.args = args
        self.device = torch.device(args.device)
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.budget = Budget(args.budget_s)
        self.results: dict = {"cases": {}, "errors": {}}
        self.small = args.small
        if args.small:
            self.net_cfg = tiny_config(text_dim=64)
            self.sizes = dict(latent=(3, 8, 16), erp=(64, 128), frames=9, persp=(48, 64), text_dim=64,
                              image=(8, 16), text_params=1000, siglip_params=1000, text_len=512)
        else:
            self.net_cfg = panoworld_2b_config()
            self.sizes = dict(latent=(24, 64, 128), erp=(512, 1024), frames=93, persp=(480, 640), text_dim=100352,
                              image=(729, 1152), text_params=TEXT_ENCODER_PARAMS, siglip_params=SIGLIP_PARAMS,
                              text_len=512)
        self.step_flops = forward_flops(self.net_cfg, self.sizes["latent"], text_len=self.sizes["text_len"],
                                        image_len=self.sizes["image"][0])
        self.compiled = False
        self.warmed = False

    # ------------------------------------------------------------------ bookkeeping
    def record(self, case: str, values: dict) -> None:
        """Store ``values`` under ``case``; print what is new as one JSON line; save the JSON file."""
        stored = self.results["cases"].setdefault(case, {})
        new = {k: v for k, v in values.items() if k not in stored or stored[k] != v}
        if "rows" in new:
            new["rows"] = new["rows"][-1:]
        stored.update(values)
        print(json.dumps({case: _rounded(new)}), flush=True)
        self.save()

    def save(self) -> None:
        if self.args.out_json:
            Path(self.args.out_json).write_text(json.dumps(_rounded(self.results), indent=1))

    def run_case(self, name: str, fn) -> None:
        if name not in self.args.cases:
            return
        start = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - one failing case must not stop the others; it is recorded
            self.results["errors"][name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            print(json.dumps({"error": {name: self.results["errors"][name]}}), flush=True)
            traceback.print_exc(file=sys.stderr)
        finally:
            self.results.setdefault("case_seconds", {})[name] = time.perf_counter() - start
            free_memory(self.device)
            self.save()

    def floor(self, fp8: bool = False) -> float | None:
        return step_floor_s(self.step_flops, self.results["cases"].get("ceilings", {}), fp8=fp8)

    # ------------------------------------------------------------------ models
    def build(self) -> None:
        from diffusers import AutoencoderKLWan

        from panoworld.models.components import VideoVAE
        from panoworld.models.components._tiny import tiny_wan_vae_config

        start = time.perf_counter()
        self.transformer = build_random(PanoWorldTransformer, self.net_cfg, self.device, self.dtype)
        with torch.device(self.device):
            vae_model = AutoencoderKLWan(**tiny_wan_vae_config()) if self.small else AutoencoderKLWan()
        self.vae = VideoVAE(vae_model.to(self.device, self.dtype))
        s = self.sizes
        self.text = RandomTextEncoder(s["text_dim"], self.device, self.dtype, params=s["text_params"])
        self.image_enc = RandomImageEncoder(s["image"][1], self.device, self.dtype, params=s["siglip_params"],
                                            length=s["image"][0])
        self.pipe = self.pipeline("none")
        self.results["build_s"] = time.perf_counter() - start

    def pipeline(self, offload: str) -> PanoWorldPipeline:
        return PanoWorldPipeline(self.transformer, self.vae, self.text, self.image_enc, device=self.device,
                                 offload=offload, attention=self.args.attention)

    def config(self, steps: int, **values) -> GenerationConfig:
        s = self.sizes
        return GenerationConfig(height=s["erp"][0], width=s["erp"][1], num_frames=s["frames"], num_steps=steps,
                                guidance=7.0, persp_height=s["persp"][0], persp_width=s["persp"][1], **values)

    def set_compiled(self, on: bool) -> None:
        """Compiled block forwards (``compile_blocks``) on, or back to the eager forwards (graphs stay cached)."""
        if on and not self.compiled:
            self.transformer.compile_blocks()
        elif not on and self.compiled:
            for block in self.transformer.transformer_blocks:
                block.__dict__.pop("forward", None)
        self.compiled = on

    # ------------------------------------------------------------------ cases
    def ceilings(self) -> None:
        values = card_ceilings(self.device, small=self.small)
        self.record("ceilings", values)
        self.record("floors", {"step_bf16_s": self.floor(), "step_fp8_s": self.floor(fp8=True),
                               "step_matmul_tflop": self.step_flops[0] / 1e12,
                               "step_attention_tflop": self.step_flops[1] / 1e12})

    def vae_case(self) -> None:
        """Wan2.1 encode (moving / still video) and decode: diffusers' loop vs the runner, same inputs."""
        from panoworld.models.components.wan_vae_fast import WanVAERunner

        frames, (height, width) = self.sizes["frames"], self.sizes["erp"]
        gen = torch.Generator(device=self.device).manual_seed(0)
        moving = torch.rand(1, 3, frames, height, width, device=self.device, generator=gen) * 2 - 1
        still = moving[:, :, :1].expand(-1, -1, frames, -1, -1)
        t_lat = 1 + (frames - 1) // 4
        latent = torch.randn(1, 16, t_lat, height // 8, width // 8 + 4, device=self.device, generator=gen)
        repeats = self.args.repeats
        out, ref = {}, {}
        for fast in (False, True):
            self.vae.fast = fast
            tag = "runner" if fast else "diffusers"
            for name, fn in (("encode", lambda: self.vae.encode(moving)),
                             ("encode_still", lambda: self.vae.encode(still if fast else still.contiguous())),
                             ("decode", lambda: self.vae.decode(latent))):
                m = measure(fn, self.device, repeats=repeats, warmup=1)
                out[f"{name}_{tag}_s"], out[f"{name}_{tag}_peak_gib"] = m.median, m.peak_gib
                if fast:
                    out[f"{name}_error"] = rel_error(m.result, ref[name])
                else:
                    ref[name] = m.result
                self.record("vae", dict(out))
        self.vae.fast = True
        if not self.args.kernels:
            return
        runner = WanVAERunner(self.vae.model, fused=False)  # attribution: the same runner without the fused kernel
        z = latent * self.vae.latents_std.to(latent.device) + self.vae.latents_mean.to(latent.device)
        m = measure(lambda: runner.decode(z.to(self.dtype).contiguous(memory_format=torch.channels_last_3d)),
                    self.device, repeats=repeats, warmup=1)
        out["decode_runner_unfused_s"] = m.median
        for chunk in (8, 16):
            runner = WanVAERunner(self.vae.model, encode_chunk=chunk)
            x = moving.to(self.dtype).contiguous(memory_format=torch.channels_last_3d)
            out[f"encode_runner_chunk{chunk}_s"] = measure(lambda: runner.encode(x), self.device, repeats=repeats,
                                                           warmup=1).median
        self.record("vae", out)

    def _denoiser(self, cfg: GenerationConfig, mode: str = "batched", cache: StepCache | None = None):
        shape = (1, 16, *self.sizes["latent"])
        text, negative = self.pipe.encode_text(["bench prompt", cfg.negative_prompt])
        tokens = self.pipe.encode_image(torch.rand(1, 3, cfg.persp_height, cfg.persp_width), "reference")
        mask = torch.zeros(1, 1, *shape[2:], device=self.device)
        mask[..., shape[3] // 4: shape[3] * 3 // 4, shape[4] * 3 // 8: shape[4] * 5 // 8] = 1
        gen = torch.Generator(device=self.device).manual_seed(1)
        noise = lambda: torch.randn(shape, device=self.device, generator=gen)  # noqa: E731
        inputs = DenoiserInputs(text=text, negative_text=negative, image=tokens, reference=noise(),
                                mask_channel=mask, paste_latent=noise(), paste_mask=mask, noise=noise())
        den = GuidedDenoiser(self.transformer, inputs, karras_flow_schedule(cfg.num_steps), guidance=cfg.guidance,
                             cfg_batch=mode, compute_dtype=self.dtype, step_cache=cache)
        return den, noise()

    def step_time(self, *, fp8: bool = False, backend: str | None = None, reuse: bool = False) -> float:
        """Median seconds of one guided evaluation (batched CFG); ``reuse``: an evaluation the step cache reuses."""
        cfg = self.config(FULL_STEPS)
        cache = StepCache(0.0, warmup=0, reuse=set(range(1, 36)), max_reuse=99) if reuse else None
        den, x = self._denoiser(cfg, cache=cache)
        index = [0]

        def call():
            i = index[0] = index[0] % 34 + 1 if reuse else 0
            return den(x, i)

        # no_grad, as the pipeline samples: inference-mode tensors would make the compiled blocks guard on another
        # dispatch key set and compile graphs the rounds cannot reuse
        with torch.no_grad(), attention_backend(backend or self.args.attention, self.device), \
                fast_paths(self.transformer, cache, fp8):
            if reuse:
                den(x, 0)  # a full evaluation fills the cache
            return measure(call, self.device, repeats=self.args.repeats, warmup=1).median

    def steps_case(self) -> None:
        """One guided evaluation: eager bf16 (the like-for-like base of compile and FP8), compiled bf16 and FP8
        (with ``--compile``; the first compiled call of each is the compile time), and a reused evaluation."""
        from panoworld.models.fp8 import fp8_supported

        out = {"step_eager_bf16_s": self.step_time()}
        self.record("steps", out)
        fp8 = fp8_supported(self.device)
        if self.args.kernels and self.device.type == "cuda":
            out["step_eager_bf16_flash_s"] = self.step_time(backend="flash")
        if fp8 and (self.args.kernels or not self.args.compile):
            out["step_eager_fp8_s"] = self.step_time(fp8=True)
        self.record("steps", out)
        if self.args.compile:
            start = time.perf_counter()
            self.set_compiled(True)
            self.step_time()  # first compiled call: both block graphs
            out["compile_first_call_s"] = time.perf_counter() - start
            out["step_compiled_bf16_s"] = self.step_time()
            self.record("steps", out)
            if fp8:
                start = time.perf_counter()
                self.step_time(fp8=True)
                out["compile_fp8_first_call_s"] = time.perf_counter() - start
                out["step_compiled_fp8_s"] = self.step_time(fp8=True)
                self.record("steps", out)
        out["step_reused_s"] = self.step_time(reuse=True)
        self.record("steps", out)

    def stock_case(self) -> None:
        """Stock diffusers CosmosTransformer3DModel (Predict2.5-2B config) vs ours, one B=1 forward, eager, same
        attention kernel."""
        from diffusers.models.transformers.transformer_cosmos import CosmosTransformer3DModel

        was = self.compiled
        self.set_compiled(False)
        stock = build_random(CosmosTransformer3DModel, stock_cosmos_config(self.net_cfg), self.device, self.dtype)
        t, h, w = self.sizes["latent"]
        x = torch.randn(1, 18, t, h, w, device=self.device, dtype=self.dtype)
        ts = torch.full((1, 1, t, 1, 1), 0.9, device=self.device)
        text = torch.randn(1, 512, self.net_cfg["crossattn_proj_in_channels"], device=self.device, dtype=self.dtype)
        ours_x = torch.randn(1, 32, t, h, w, device=self.device, dtype=self.dtype)
        with torch.inference_mode(), attention_backend(self.args.attention, self.device):
            out = {"stock_b1_s": measure(lambda: stock(x, ts, text, return_dict=False), self.device,
                                         repeats=self.args.repeats, warmup=1).median}
            del stock
            free_memory(self.device)
            out["ours_b1_s"] = measure(lambda: self.transformer(ours_x, torch.full((1,), 0.9, device=self.device),
                                                                text, return_dict=False),
                                       self.device, repeats=self.args.repeats, warmup=1).median
        self.set_compiled(was)
        self.record("stock", out)

    def fp8_error_case(self) -> None:
        """Full-size transformer output with FP8 matmuls vs bf16 (random weights), next to the difference between
        two exact bf16 attention kernels (the rounding noise floor)."""
        from panoworld.models.fp8 import fp8_matmuls, fp8_supported

        if not fp8_supported(self.device):
            self.record("fp8_error", {"skipped": "no FP8 matmul on this device"})
            return
        t, h, w = self.sizes["latent"]
        gen = torch.Generator(device=self.device).manual_seed(2)
        x = torch.randn(1, 32, t, h, w, device=self.device, dtype=self.dtype, generator=gen)
        text = torch.randn(1, 512, self.net_cfg["crossattn_proj_in_channels"], device=self.device, dtype=self.dtype,
                           generator=gen)
        ts = torch.full((1,), 0.7, device=self.device)
        run = lambda: self.transformer(x, ts, text, return_dict=False)[0].float()  # noqa: E731
        was = self.compiled
        self.set_compiled(False)  # a batch-1 forward would compile new graphs
        with torch.inference_mode():
            with attention_backend(self.args.attention, self.device):
                exact = run()
                with fp8_matmuls(self.transformer):
                    fast = run()
            other = {}
            if self.device.type == "cuda":
                with attention_backend("flash", self.device):
                    other = {"bf16_flash_vs_bf16": rel_error(run(), exact)}
        self.set_compiled(was)
        self.record("fp8_error", {"fp8_vs_bf16": rel_error(fast, exact), **other})

    # ------------------------------------------------------------------ rounds
    def predicted_round_s(self, steps: int, *, rounds: int = 1, fp8: bool = False, reused: int = 0,
                          offload: bool = False) -> float:
        s = self.results["cases"].get("steps", {})
        kind = "compiled" if self.args.compile else "eager"
        t_eval = s.get(f"step_{kind}_{'fp8' if fp8 else 'bf16'}_s") or s.get("step_eager_bf16_s") or 3.0
        t_reuse = s.get("step_reused_s", 0.1 * t_eval)
        vae = self.results["cases"].get("vae", {})
        t_vae = sum(vae.get(k, 2.0) for k in ("encode_runner_s", "encode_still_runner_s", "decode_runner_s"))
        evals = steps + 1
        per_round = t_vae + (evals - reused) * t_eval + reused * t_reuse + 2.0
        return rounds * per_round * (1.3 if offload else 1.0) + (10.0 if offload else 0.0)

    def plan_steps(self, wanted: int, reserve_s: float, **kind) -> int | None:
        """The most steps <= ``wanted`` (of wanted, 8, 4, 2) whose run fits the budget with ``reserve_s`` left
        for later cases; None if not even 2 steps fit."""
        for steps in (wanted, 8, 4, 2):
            if steps <= wanted and self.budget.fits(self.predicted_round_s(steps, **kind), reserve_s):
                return steps
        return None

    def offload_reserve(self) -> float:
        """Predicted seconds of the offload case at 2 steps (it runs last and should not be starved)."""
        if "offload" not in self.args.cases:
            return 0.0
        modes = [m for m in self.args.offload_modes.split(",") if m]
        return sum(self.predicted_round_s(2, offload=m != "none") for m in modes)

    def clip(self, pipe, cfg: GenerationConfig):
        image = torch.rand(3, 720, 960, generator=torch.Generator().manual_seed(0))
        from torch._dynamo.utils import counters

        graphs = counters["stats"]["unique_graphs"]
        m = measure(lambda: pipe(image, "a quiet living room", "a living room seen in every direction", cfg),
                    self.device)
        return m, counters["stats"]["unique_graphs"] - graphs

    def round_row(self, label: str, pipe, cfg: GenerationConfig, *, reuse: set[int] | None = None) -> dict:
        """Run one clip (the first round of the process after a 1-step warm-up clip: plans, pinned buffers,
        kernels) and derive the row's figures."""
        rounds = 2 if cfg.chained else 1
        with fixed_cache_schedule(reuse):
            if not self.warmed:
                self.clip(pipe, cfg.replace(num_steps=1, chained=False))
                self.warmed = True
            m, new_graphs = self.clip(pipe, cfg)
        timings, info = m.result.timings, m.result.info
        sampling = sum(v for k, v in timings.items() if k.endswith("_sampling"))
        vae = sum(v for k, v in timings.items() if k.endswith(("_conditioning", "_decode")))
        evals = (cfg.num_steps + 1) * rounds
        per_eval = sampling / evals
        row = {"label": label, "steps": cfg.num_steps, "rounds": rounds, "total_s": m.best, "sampling_s": sampling,
               "per_eval_s": per_eval, "vae_s": vae, "peak_gib": m.peak_gib, "graphs_compiled": new_graphs,
               "timings": {k: round(v, 3) for k, v in timings.items()},
               "cache_reused": sum(v for k, v in info.items() if k.endswith("_cache_reused")),
               "fp8": cfg.fp8, "step_cache": cfg.step_cache, "fixed_reuse": len(reuse) if reuse else None}
        if cfg.num_steps != FULL_STEPS:  # a cache's savings do not scale with the step count: no extrapolation
            row["extrapolated_35_s"] = (None if reuse or cfg.step_cache else
                                        m.best - sampling + per_eval * (FULL_STEPS + 1) * rounds)
        floor = self.floor(fp8=cfg.fp8)
        if floor is not None:
            row["sampling_floor_s"] = floor * (FULL_STEPS + 1) * rounds
        return row

    def rounds_case(self, which: str) -> None:
        """Real rounds: ``single`` (exact), ``fast`` (each variant), ``chained`` (exact), budget permitting."""
        specs = {
            "single": [("exact", {}, None)],
            "chained": [("exact, chained", {"chained": True}, None)],
            "fast": self.fast_variants(),
        }[which]
        rows = list(self.results["cases"].get(which, {}).get("rows", []))  # a copy: record() prints what is new
        for index, (label, values, reuse) in enumerate(specs):
            kind = {"rounds": 2 if values.get("chained") else 1, "fp8": values.get("fp8", False),
                    "reused": len(reuse or ())}
            reserve = self.offload_reserve() + (self.args.reserve_s if which != "chained" else 0.0)
            if which == "single" and "fast" in self.args.cases and self.fast_variants():
                _, fast_values, fast_reuse = self.fast_variants()[0]
                reserve += self.predicted_round_s(self.args.steps, fp8=fast_values.get("fp8", False),
                                                  reused=len(fast_reuse or ()))
            steps = self.plan_steps(self.args.steps, reserve, **kind)
            if steps is None:
                rows.append({"label": label, "skipped": "budget"})
                self.record(which, {"rows": list(rows)})
                continue
            run_reuse = spread_reuse(len(reuse), steps + 1) if reuse and steps != self.args.steps else reuse
            if run_reuse is not reuse:
                label = label.split(" (")[0] + f" ({len(run_reuse)} of {steps + 1} evaluations reused)"
            rows.append(self.round_row(label, self.pipe, self.config(steps, **values), reuse=run_reuse))
            self.record(which, {"rows": list(rows)})

    def fast_variants(self):
        """(label, config values, fixed reuse schedule or None) of the fast rounds."""
        from panoworld.models.fp8 import fp8_supported
        from panoworld.pipelines.config import DEFAULT_CACHE_THRESHOLD

        evals = self.args.steps + 1
        reuse = spread_reuse(self.args.cache_reuse, evals)
        fp8 = fp8_supported(self.device)
        variants = []
        for name in self.args.fast_modes.split(","):
            parts = set(name.split("+"))
            if "fp8" in parts and not fp8:
                continue
            values = {"fp8": "fp8" in parts}
            if "cache" in parts:
                values["step_cache"] = DEFAULT_CACHE_THRESHOLD
                variants.append((f"{name} ({len(reuse)} of {evals} evaluations reused)", values, reuse))
            else:
                variants.append((name, values, None))
        if self.args.cache_rule:  # the rule itself on random weights (informative only)
            variants.append((f"cache rule, threshold {DEFAULT_CACHE_THRESHOLD} (random weights)",
                             {"step_cache": DEFAULT_CACHE_THRESHOLD}, None))
        return variants

    def offload_case(self) -> None:
        """Offload none / model / group at one step count (``--offload-steps``, else --steps halved until the
        three fit the budget). Runs last: the transformer keeps the group-offload hooks afterwards."""
        modes = [m for m in self.args.offload_modes.split(",") if m]
        steps = self.args.offload_steps or self.args.steps
        while steps > 2 and not self.budget.fits(sum(self.predicted_round_s(steps, offload=m != "none")
                                                     for m in modes)):
            steps = max(2, steps // 2)
        rows = []
        for mode in modes:
            pipe = self.pipe if mode == "none" else self.pipeline(mode)
            rows.append(self.round_row(f"offload {mode}", pipe, self.config(steps)))
            self.record("offload", {"rows": rows})


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


CASES = ("ceilings", "vae", "steps", "stock", "fp8_error", "single", "fast", "chained", "offload")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="torch device (cuda or cpu)")
    parser.add_argument("--small", action="store_true", help="tiny network / VAE and 64x128x9 video (CPU check)")
    parser.add_argument("--steps", type=int, default=FULL_STEPS, help="sampling steps of the rounds (N + 1 "
                        "evaluations per round; default 35, the reference's); fewer are reported as extrapolated")
    parser.add_argument("--quick", action="store_true", help="the old quick estimate: rounds of 3 steps, "
                        "extrapolated to 35 (labelled as such)")
    parser.add_argument("--budget-s", type=float, default=None, help="wall-clock budget in seconds: rounds that "
                        "would not fit run with fewer steps (extrapolated) or are skipped")
    parser.add_argument("--reserve-s", type=float, default=60.0, help="seconds kept for the later cases (chained, "
                        "stock) while planning single and fast rounds (with --budget-s); the offload case is "
                        "reserved for separately")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma list of cases to run ({', '.join(CASES)})")
    parser.add_argument("--no-single", action="store_true", help="skip the exact single round")
    parser.add_argument("--no-chained", action="store_true", help="skip the chained two-round run")
    parser.add_argument("--fast-modes", default="cache+fp8,fp8,cache", help="fast rounds to run: comma list of "
                        "switch combinations joined by + (cache, fp8)")
    parser.add_argument("--cache-reuse", type=int, default=18, help="evaluations per round the step cache reuses "
                        "in the timed fast rounds (a fixed schedule: random weights make the rule meaningless)")
    parser.add_argument("--cache-rule", action="store_true", help="also run a fast round with the cache's own "
                        "rule at the default threshold (on random weights its decisions mean nothing; informative)")
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per step / VAE case (median)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the blocks for steps and rounds")
    parser.add_argument("--kernels", action="store_true", help="also time the eager step with FlashAttention first, "
                        "with --compile the eager FP8 step, and the VAE runner without its fused kernel and with "
                        "8- and 16-frame encode chunks")
    parser.add_argument("--offload-modes", default="none,model,group", help="offload modes compared at one step "
                        "count")
    parser.add_argument("--offload-steps", type=int, default=None, help="steps of the offload rounds (default "
                        "--steps, halved until they fit the budget)")
    parser.add_argument("--attention", default="auto", help="SDPA kernel preference: auto, cudnn, flash, efficient")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    parser.add_argument("--out-json", default=None, help="write all results here after every case")
    parser.add_argument("--from-json", default=None, help="only render this saved --out-json file to --out-md")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = 3
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    args.cases = [c for c in cases if not (c == "single" and args.no_single) and not (c == "chained" and
                                                                                       args.no_chained)]
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.from_json:
        write_markdown(Path(args.out_md), json.loads(Path(args.from_json).read_text()))
        return
    bench = GenerationBench(args)
    bench.results["meta"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": machine_name(bench.device), "torch": torch.__version__, "small": args.small,
        "compile": args.compile, "attention": args.attention, "steps": args.steps, "budget_s": args.budget_s,
        "dtype": "bf16" if bench.dtype == torch.bfloat16 else "fp32",
        "command": "python bench/generate.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    bench.run_case("ceilings", bench.ceilings)
    bench.build()
    reset_peak(bench.device)
    bench.run_case("vae", bench.vae_case)
    bench.run_case("steps", bench.steps_case)
    bench.run_case("fp8_error", bench.fp8_error_case)
    if args.compile:
        bench.set_compiled(True)
    bench.run_case("single", lambda: bench.rounds_case("single"))
    bench.run_case("fast", lambda: bench.rounds_case("fast"))
    bench.run_case("chained", lambda: bench.rounds_case("chained"))
    if bench.budget.fits(20.0, bench.offload_reserve()):
        bench.run_case("stock", bench.stock_case)
    bench.run_case("offload", bench.offload_case)
    bench.results["wall_s"] = bench.budget.elapsed()
    bench.results["like_for_like"] = like_for_like(bench.results)
    bench.save()
    for r in bench.results["like_for_like"].values():
        print(f"like for like, {r['what']}: {r['a_s']:.3f} s / {r['b_s']:.3f} s = {r['ratio']:.3f}x", flush=True)
    print(json.dumps({"done": {"wall_s": round(bench.results["wall_s"], 1), "errors": bench.results["errors"]}}))
    if args.out_md:
        write_markdown(Path(args.out_md), _rounded(bench.results))


if __name__ == "__main__":
    main()
