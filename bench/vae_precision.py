"""Benchmark: how far the bf16 Wan VAE paths are from an fp32 reference — diffusers' loop and ``WanVAERunner``.

"Equal within bf16 rounding" is measured, not assumed: the same inputs go through the VAE in float32 (diffusers'
loop, the reference) and in bfloat16 along both paths, and each bf16 result's relative L2 error against the fp32
one is printed next to the two bf16 paths' difference. The runner is within bf16 rounding when its error is of the
size of diffusers' own bf16 error (the ratio runner / diffusers is printed).

Inputs: a uniform random video in [-1, 1] (encode) and a unit-normal latent with two wrapped longitude columns per
side, as the pipeline decodes (decode). Weights: random (default PyTorch init; the full-size Wan2.1 VAE unless
``--small``) or ``--wan-vae PATH``.

    python bench/vae_precision.py --device cuda                            # full size, 93 x 512 x 1024
    python bench/vae_precision.py --device cuda --small                    # the tiny test VAE (seconds)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys

import torch
from _common import append_markdown, full_fp32, machine_name, parse_hw, rel_error  # bench/ (and src/) on sys.path

from panoworld.models.components import VideoVAE


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b|| in float64."""
    return rel_error(a, b)["rel_l2"]


def build(source: str | None, small: bool, device: str, dtype: torch.dtype) -> VideoVAE:
    """The same weights in every dtype: seeded random init (or ``source``)."""
    if source:
        return VideoVAE.from_pretrained(source, device=device, dtype=dtype)
    from diffusers import AutoencoderKLWan

    from panoworld.models.components._tiny import tiny_wan_vae_config

    torch.manual_seed(0)
    model = AutoencoderKLWan(**tiny_wan_vae_config()) if small else AutoencoderKLWan()
    return VideoVAE(model.to(device=device, dtype=dtype))


def errors(args) -> dict:
    """{op: {"diffusers_bf16": e, "runner_bf16": e, "runner_vs_diffusers": e}} (relative L2 against fp32)."""
    device = torch.device(args.device)
    frames, (height, width) = args.frames, parse_hw(args.size)
    gen = torch.Generator(device=device).manual_seed(0)
    video = torch.rand(1, 3, frames, height, width, device=device, generator=gen) * 2 - 1
    latent = torch.randn(1, 16, 1 + (frames - 1) // 4, height // 8, width // 8 + 4, device=device, generator=gen)
    results: dict[str, dict[str, torch.Tensor]] = {"encode": {}, "decode": {}}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        vae = build(args.wan_vae, args.small, args.device, dtype)
        for fast in ((False,) if dtype == torch.float32 else (False, True)):
            vae.fast = fast
            tag = f"{'runner' if fast else 'diffusers'}_{name}"
            with torch.no_grad(), (full_fp32() if dtype == torch.float32 else contextlib.nullcontext()):
                results["encode"][tag] = vae.encode(video).float().cpu()
                results["decode"][tag] = vae.decode(latent).float().cpu()
        del vae
        if device.type == "cuda":
            torch.cuda.empty_cache()
    out = {}
    for op, r in results.items():
        ref = r["diffusers_fp32"]
        out[op] = {"diffusers_bf16": rel_l2(r["diffusers_bf16"], ref), "runner_bf16": rel_l2(r["runner_bf16"], ref),
                   "runner_vs_diffusers": rel_l2(r["runner_bf16"], r["diffusers_bf16"])}
        out[op]["ratio"] = out[op]["runner_bf16"] / max(out[op]["diffusers_bf16"], 1e-30)
    return out


def markdown(out: dict, args) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    model = args.wan_vae or ("tiny test Wan VAE" if args.small else "Wan2.1 VAE, random weights")
    lines = [f"\n{machine_name(args.device)}, {stamp}, torch {torch.__version__}, "
             f"`python bench/vae_precision.py {' '.join(sys.argv[1:])}` ({model}, {args.frames} x {args.size}):\n",
             "| op | diffusers bf16 vs fp32 | runner bf16 vs fp32 | runner / diffusers error | runner vs diffusers "
             "(both bf16) |", "| --- | --- | --- | --- | --- |"]
    for op, e in out.items():
        lines.append(f"| {op} | {e['diffusers_bf16']:.2e} | {e['runner_bf16']:.2e} | {e['ratio']:.2f}× | "
                     f"{e['runner_vs_diffusers']:.2e} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="torch device (the runner needs cuda; on cpu both bf16 "
                        "paths are diffusers')")
    parser.add_argument("--small", action="store_true", help="the tiny test VAE instead of the full-size one")
    parser.add_argument("--wan-vae", default=None, help="Wan2.1 VAE folder / hub id (default: random weights)")
    parser.add_argument("--size", default="512x1024", help="HxW pixels of the video")
    parser.add_argument("--frames", type=int, default=93, help="frames of the video (4k+1)")
    parser.add_argument("--out-json", default=None, help="write the errors here")
    parser.add_argument("--out-md", default=None, help="append the Markdown table to this file")
    args = parser.parse_args()
    if (args.frames - 1) % 4:
        parser.error(f"--frames must be 4k+1, got {args.frames}")
    out = errors(args)
    print(json.dumps(out))
    text = markdown(out, args)
    print(text)
    if args.out_json:
        with open(args.out_json, "w", encoding="utf-8") as fh:
            json.dump({"command": "python bench/vae_precision.py " + " ".join(sys.argv[1:]), "errors": out}, fh)
    if args.out_md:
        append_markdown(args.out_md, text)


if __name__ == "__main__":
    main()
