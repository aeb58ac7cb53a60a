"""Benchmark: full-size PanoWorld generation (512x1024, 93 frames, CFG 7) on one device, random weights.

What is real: the full PanoWorld transformer (2.3 B params, bf16), the full Wan2.1 VAE (random weights), the
conditioning builder, the sampler, CFG, decoding and every offload mode. What is replaced: the 7B text encoder
and SigLIP2 return random embeddings of the right shapes ((B, 512, 100352) and (B, 729, 1152)); their compute
is not in the numbers (text embeddings are cached per prompt anyway), but they hold weight-sized buffers that
move like models, so peak memory and offload transfers include their weights. Timing does not depend on
weight values.

Measured in one run:
* seconds per sampling step (one guided evaluation) with batched CFG (one forward of batch 2) and sequential
  CFG (two forwards), and the stock diffusers ``CosmosTransformer3DModel`` (Predict2.5-2B config) forward at
  batch 1 and 2 on the same latent for comparison;
* warm end-to-end seconds per clip, single round and chained, run with ``--steps N`` (N + 1 evaluations per
  round) and extrapolated to the reference's 35 steps (36 evaluations) as
  ``total - sampling + sampling * 36 / (N + 1)``;
* peak device memory (max allocated, weights included) of a single-round clip per offload mode none / model /
  group.

Usage: ``python bench/generate.py --device cuda --steps 3 --out-md docs/benchmarks.md`` (about 5 min on an H200);
``python bench/generate.py --device cpu --small`` runs the same code on tiny sizes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import torch
from _common import append_markdown, build_random, machine_name, measure, reset_peak, stock_cosmos_config

from panoworld.models import PanoWorldTransformer, panoworld_2b_config, tiny_config
from panoworld.pipelines import (
    DenoiserInputs,
    GenerationConfig,
    GuidedDenoiser,
    PanoWorldPipeline,
    karras_flow_schedule,
)
from panoworld.pipelines.attention import attention_backend


class RandomTextEncoder:
    """Stand-in for Cosmos-Reason1-7B: random (B, 512, embed_dim) features (timing only).

    It holds an uninitialised buffer as large as the real encoder's weights, moved by ``to()`` like a model, so
    the memory numbers of every offload mode include the weights that would be resident.
    """

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


#: Parameters of the replaced encoders: Qwen2.5-VL-7B language model (what TextEncoder keeps) and SigLIP2 so400m.
TEXT_ENCODER_PARAMS, SIGLIP_PARAMS = 7_070_000_000, 428_000_000


def timed(fn, device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Median seconds of ``repeats`` calls after ``warmup`` calls."""
    return measure(fn, device, repeats=repeats, warmup=warmup).median


def stock_forward_times(sizes: dict, device, dtype, repeats: int) -> dict:
    """Stock diffusers CosmosTransformer3DModel (Predict2.5-2B config) forward at B = 1 and 2."""
    from diffusers.models.transformers.transformer_cosmos import CosmosTransformer3DModel

    stock = build_random(CosmosTransformer3DModel, stock_cosmos_config(sizes["net"]), device, dtype)
    t_lat, h, w = sizes["latent"]
    out = {}
    for batch in (1, 2):
        x = torch.randn(batch, 18, t_lat, h, w, device=device, dtype=dtype)
        ts = torch.full((batch, 1, t_lat, 1, 1), 0.9, device=device)
        text = torch.randn(batch, 512, sizes["net"]["crossattn_proj_in_channels"], device=device, dtype=dtype)
        with attention_backend("auto", device):  # the kernel the pipeline uses, so the ratio compares models
            out[f"stock_b{batch}"] = timed(lambda m=stock: m(x, ts, text, return_dict=False), device, repeats)
    del stock
    reset_peak(device)
    return out


def report(results: dict) -> None:
    """Print the results so far as one JSON line (a run cut short still leaves its numbers)."""
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in results.items()}), flush=True)


def step_times(pipe, cfg: GenerationConfig, device, repeats: int, *, kernels: bool = True) -> dict:
    """Seconds of one guided evaluation (CFG 7, image tokens in the conditional branch), batched vs sequential;
    with ``kernels`` (CUDA) also batched with cuDNN and with FlashAttention put first."""
    shape = (1, 16, 1 + (cfg.num_frames - 1) // 4, cfg.height // 8, cfg.width // 8)
    text, negative = pipe.encode_text(["bench prompt", cfg.negative_prompt])
    tokens = pipe.encode_image(torch.rand(1, 3, cfg.persp_height, cfg.persp_width), "reference")
    mask = torch.zeros(1, 1, *shape[2:], device=device)
    mask[..., shape[3] // 4: shape[3] * 3 // 4, shape[4] * 3 // 8: shape[4] * 5 // 8] = 1
    inputs = DenoiserInputs(text=text, negative_text=negative, image=tokens,
                            reference=torch.randn(shape, device=device), mask_channel=mask,
                            paste_latent=torch.randn(shape, device=device), paste_mask=mask,
                            noise=torch.randn(shape, device=device))
    x = torch.randn(shape, device=device)
    sched = karras_flow_schedule(cfg.num_steps)
    out = {}
    for mode in ("batched", "sequential"):
        den = GuidedDenoiser(pipe.transformer, inputs, sched, guidance=cfg.guidance, cfg_batch=mode,
                             compute_dtype=pipe.transformer.dtype)
        with torch.inference_mode(), attention_backend(pipe.attention, device):
            out[f"step_{mode}"] = timed(lambda: den(x, 0), device, repeats)
    if kernels and device.type == "cuda":
        den = GuidedDenoiser(pipe.transformer, inputs, sched, guidance=cfg.guidance, cfg_batch="batched",
                             compute_dtype=pipe.transformer.dtype)
        for backend in ("cudnn", "flash"):
            with torch.inference_mode(), attention_backend(backend):
                out[f"step_batched_{backend}"] = timed(lambda: den(x, 0), device, repeats)
    return out


def clip(pipe, cfg: GenerationConfig, device) -> tuple[float, dict, float]:
    """(seconds, stage timings, peak GiB; NaN on CPU) of one clip."""
    image = torch.rand(3, 720, 960, generator=torch.Generator().manual_seed(0))
    m = measure(lambda: pipe(image, "a quiet living room", "a living room seen in every direction", cfg), device)
    return m.best, m.result.timings, m.peak_gib


def extrapolate(total: float, timings: dict, evals_run: int, evals_full: int = 36) -> float:
    sampling = sum(v for k, v in timings.items() if k.endswith("_sampling"))
    return total - sampling + sampling * evals_full / evals_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="torch device (cuda or cpu)")
    parser.add_argument("--steps", type=int, default=3, help="sampling steps per round actually run (N + 1 "
                        "evaluations); results are also extrapolated to 35 steps")
    parser.add_argument("--small", action="store_true", help="tiny network / VAE and 64x128x9 video (CPU check)")
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per per-step case (median)")
    parser.add_argument("--compile", action="store_true", help="torch.compile every transformer block first")
    parser.add_argument("--offload-modes", default="none,model,group", help="comma list of offload modes to "
                        "measure peak memory for")
    parser.add_argument("--attention", default="auto", help="SDPA kernel preference for the clips: auto, cudnn, "
                        "flash or efficient")
    parser.add_argument("--skip-stock", action="store_true", help="skip the stock diffusers forward")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    from diffusers import AutoencoderKLWan

    from panoworld.models.components import VideoVAE
    from panoworld.models.components._tiny import tiny_wan_vae_config

    if args.small:
        net_cfg = tiny_config(text_dim=64)
        sizes = dict(net=net_cfg, latent=(3, 8, 16), erp=(64, 128), frames=9, persp=(48, 64), text_dim=64,
                     image=(8, 16), text_params=1000, siglip_params=1000)
        vae_model = AutoencoderKLWan(**tiny_wan_vae_config())
    else:
        net_cfg = panoworld_2b_config()
        sizes = dict(net=net_cfg, latent=(24, 64, 128), erp=(512, 1024), frames=93, persp=(480, 640),
                     text_dim=100352, image=(729, 1152), text_params=TEXT_ENCODER_PARAMS, siglip_params=SIGLIP_PARAMS)
        with torch.device(device):
            vae_model = AutoencoderKLWan()
    results, started = {}, time.perf_counter()
    with torch.inference_mode():
        if not args.skip_stock:
            results.update(stock_forward_times(sizes, device, dtype, args.repeats))
    transformer = build_random(PanoWorldTransformer, net_cfg, device, dtype)
    if args.compile:
        transformer.compile_blocks()
    vae = VideoVAE(vae_model.to(device, dtype))
    text = RandomTextEncoder(sizes["text_dim"], device, dtype, params=sizes["text_params"])
    image_enc = RandomImageEncoder(sizes["image"][1], device, dtype, params=sizes["siglip_params"],
                                   length=sizes["image"][0])
    cfg = GenerationConfig(height=sizes["erp"][0], width=sizes["erp"][1], num_frames=sizes["frames"],
                           num_steps=args.steps, guidance=7.0, persp_height=sizes["persp"][0],
                           persp_width=sizes["persp"][1])
    evals = args.steps + 1
    modes = [m for m in args.offload_modes.split(",") if m]
    pipe = PanoWorldPipeline(transformer, vae, text, image_enc, device=device, offload="none",
                             attention=args.attention)
    results.update(step_times(pipe, cfg, device, args.repeats, kernels=not args.compile))
    report(results)
    clip(pipe, cfg, device)  # warm-up: kernels, allocator, caches
    results["single_s"], single_t, results["peak_none_gib"] = clip(pipe, cfg, device)
    results["single_35_s"] = extrapolate(results["single_s"], single_t, evals)
    results["single_timings"] = {k: round(v, 3) for k, v in single_t.items()}
    report(results)
    results["chained_s"], chained_t, results["peak_chained_gib"] = clip(pipe, GenerationConfig(
        **{**cfg.to_dict(), "chained": True}), device)
    results["chained_35_s"] = extrapolate(results["chained_s"], chained_t, evals)
    report(results)
    for mode in (m for m in modes if m != "none"):
        pipe = PanoWorldPipeline(transformer, vae, text, image_enc, device=device, offload=mode,
                                 attention=args.attention)
        quick = GenerationConfig(**{**cfg.to_dict(), "num_steps": 1})
        results[f"offload_{mode}_s"], _, results[f"peak_{mode}_gib"] = clip(pipe, quick, device)
    results["bench_wall_s"] = time.perf_counter() - started
    name = machine_name(device)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "device": name,
            "torch": torch.__version__, "steps_run": args.steps, "small": args.small, "compile": args.compile,
            "attention": args.attention}
    report({**meta, **results})
    if args.out_md:
        write_markdown(Path(args.out_md), meta, results, sizes, evals, modes)


def write_markdown(path: Path, meta: dict, r: dict, sizes: dict, evals: int, modes: list[str]) -> None:
    size = f"{sizes['erp'][0]}x{sizes['erp'][1]}, {sizes['frames']} frames"
    models = "tiny test configs" if meta["small"] else "PanoWorld transformer + Wan2.1 VAE at full size"
    lines = ["", f"### Generation: {meta['device']} ({meta['date']}, torch {meta['torch']}"
             f"{', compiled blocks' if meta['compile'] else ''}, attention {meta['attention']})", "",
             f"{size}, CFG 7, random weights ({models}; text encoder and SigLIP replaced by random embeddings, with "
             "weight-sized buffers so memory counts their weights). "
             f"Clips ran {evals} evaluations per round (`--steps {meta['steps_run']}`); '35 steps' = extrapolated "
             "to 36 evaluations per round.", "",
             "| measurement | value |", "| --- | --- |"]
    if "stock_b1" in r:
        lines += [f"| stock diffusers CosmosTransformer3DModel forward, B=1 / B=2 | {r['stock_b1']:.3f} s / "
                  f"{r['stock_b2']:.3f} s |"]
    lines += [
        f"| one sampling step, batched CFG (1 forward of B=2) | {r['step_batched']:.3f} s |",
        f"| one sampling step, sequential CFG (2 forwards) | {r['step_sequential']:.3f} s |",
        *[f"| one sampling step, batched CFG, SDPA {b} first | {r[f'step_batched_{b}']:.3f} s |"
          for b in ("cudnn", "flash") if f"step_batched_{b}" in r],
        f"| single round, warm, {evals} evaluations | {r['single_s']:.1f} s |",
        f"| single round, warm, 35 steps (extrapolated) | {r['single_35_s']:.1f} s |",
        f"| chained (2 rounds), warm, {evals} evaluations per round | {r['chained_s']:.1f} s |",
        f"| chained, warm, 35 steps (extrapolated) | {r['chained_35_s']:.1f} s |",
        f"| peak memory, offload none (single / chained) | {r['peak_none_gib']:.1f} / "
        f"{r['peak_chained_gib']:.1f} GiB |",
    ]
    for mode in (m for m in modes if m != "none"):
        lines.append(f"| peak memory, offload {mode} (single round, 2 evaluations: {r[f'offload_{mode}_s']:.1f} s) | "
                     f"{r[f'peak_{mode}_gib']:.1f} GiB |")
    if "stock_b2" in r:
        lines += ["", f"Step ratio batched CFG / stock B=2 forward: {r['step_batched'] / r['stock_b2']:.3f}; "
                  f"batched / sequential: {r['step_batched'] / r['step_sequential']:.3f}."]
    lines += ["", f"Stage seconds of the single-round clip: {json.dumps(r['single_timings'])}", ""]
    append_markdown(path, "\n".join(lines))


if __name__ == "__main__":
    main()
