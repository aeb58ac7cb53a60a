"""Benchmark: one DiT forward of the full-size PanoWorld transformer next to stock diffusers Cosmos-Predict2.5-2B.

Random bf16 weights (timing does not depend on values). Latents (B, 16, 24, 64, 128) = 512x1024, 93 frames;
512 text tokens (100,352-d raw Reason1 features, projected inside); 729 SigLIP tokens (1152-d) for PanoWorld.
Per-frame timesteps (B, 24), as the sampler passes them (stock: (B, 1, T, 1, 1), as diffusers' Cosmos2.5
pipeline does). Stock runs without its torchvision padding-mask resize (``concat_padding_mask=False`` with one more
input channel, identical compute). Reported: median warm step time of ``--repeats`` forwards and peak allocated
memory (weights included), for stock B=1/B=2, ours with rope linear / equirect / periodic (B=1) and ours B=2
(batched CFG: one call for the conditional and unconditional branch).

    python bench/model_forward.py --device cuda --out-md docs/benchmarks.md      # H200/H100, < 2 min
    python bench/model_forward.py --device cpu --small                           # smoke run, seconds
"""

from __future__ import annotations

import argparse
import datetime
import json

import torch
from _common import append_markdown, build_random, free_memory, machine_name, measure, stock_cosmos_config
from diffusers.models.transformers.transformer_cosmos import CosmosTransformer3DModel

from panoworld.models.transformer import PanoWorldTransformer, panoworld_2b_config


def timed(fn, device: str, repeats: int, warmup: int) -> tuple[float, float]:
    """(median seconds of ``repeats`` calls after ``warmup`` calls, peak GiB allocated during them; NaN on CPU)."""
    m = measure(fn, device, repeats=repeats, warmup=warmup)
    return m.median, m.peak_gib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="torch device: cuda or cpu")
    parser.add_argument("--small", action="store_true", help="2 layers, 4x16x32 latents, 32 text/16 image tokens")
    parser.add_argument("--repeats", type=int, default=3, help="timed forwards per case (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed forwards per case")
    parser.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"], help="weight/activation dtype")
    parser.add_argument("--no-batch2", action="store_true", help="skip the B=2 cases")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = parser.parse_args()
    dev = args.device
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    if args.small:
        latent, text_len, image_len = (4, 16, 32), 32, 16
        ours_cfg = panoworld_2b_config(num_layers=2, num_attention_heads=4, attention_head_dim=64, adaln_lora_dim=32,
                                       crossattn_proj_in_channels=1024, img_context_dim_out=256)
    else:
        latent, text_len, image_len = (24, 64, 128), 512, 729
        ours_cfg = panoworld_2b_config()
    gen = torch.Generator().manual_seed(0)
    t_lat, h, w = latent

    def inputs(batch: int) -> dict:
        return dict(
            x=torch.randn(batch, 16, t_lat, h, w, generator=gen).to(dev, dtype),
            ref=torch.randn(batch, 16, t_lat, h, w, generator=gen).to(dev, dtype),
            mask=torch.zeros(batch, 1, t_lat, h, w, device=dev, dtype=dtype),
            t=torch.full((batch, t_lat), 0.9, device=dev).index_fill_(1, torch.tensor([0], device=dev), 1e-4),
            text=torch.randn(batch, text_len, ours_cfg["crossattn_proj_in_channels"], generator=gen).to(dev, dtype),
            image=torch.randn(batch, image_len, ours_cfg["img_context_dim_in"], generator=gen).to(dev, dtype),
        )

    batches = (1,) if args.no_batch2 else (1, 2)
    data = {b: inputs(b) for b in batches}
    results: dict[str, float] = {}
    with torch.inference_mode():
        stock = build_random(CosmosTransformer3DModel, stock_cosmos_config(ours_cfg), dev, dtype)
        for b in batches:
            d = data[b]
            x_in = torch.cat([d["x"], d["mask"], torch.zeros_like(d["mask"])], dim=1)
            ts = d["t"].view(b, 1, t_lat, 1, 1)
            results[f"stock_b{b}_s"], results[f"stock_b{b}_peak_gib"] = timed(
                lambda: stock(x_in, ts, d["text"], return_dict=False), dev, args.repeats, args.warmup)
        del stock
        free_memory(dev)

        ours = build_random(PanoWorldTransformer, ours_cfg, dev, dtype)
        params = sum(p.numel() for p in ours.parameters())
        cases = [("equirect", 1), ("linear", 1), ("periodic", 1)] + ([("equirect", 2)] if 2 in batches else [])
        for rope, b in cases:
            ours.rope.rope_type = rope
            d = data[b]
            x_in = torch.cat([d["x"], d["ref"]], dim=1)
            results[f"ours_{rope}_b{b}_s"], results[f"ours_{rope}_b{b}_peak_gib"] = timed(
                lambda: ours(x_in, d["t"], d["text"], image_hidden_states=d["image"], condition_mask=d["mask"],
                             return_dict=False), dev, args.repeats, args.warmup)
        ours.rope.rope_type = "equirect"
        d = data[1]
        x_in = torch.cat([d["x"], d["ref"]], dim=1)
        results["ours_equirect_b1_noimage_s"], _ = timed(
            lambda: ours(x_in, d["t"], d["text"], condition_mask=d["mask"], return_dict=False), dev, args.repeats,
            args.warmup)
    for b in batches:
        results[f"ratio_ours_over_stock_b{b}"] = results[f"ours_equirect_b{b}_s"] / results[f"stock_b{b}_s"]
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": machine_name(dev), "torch": torch.__version__, "params_ours": params,
        "latent": "x".join(map(str, latent)), "text_tokens": text_len, "image_tokens": image_len,
        "repeats": args.repeats,
    }
    print(json.dumps(meta | {k: round(v, 4) for k, v in results.items()}))
    if args.out_md:
        lines = ["", f"### Model forward: {meta['device']} ({meta['date']}, torch {meta['torch']})", "",
                 f"PanoWorld transformer ({params / 1e9:.2f} B params, bf16, random weights) vs stock diffusers "
                 f"CosmosTransformer3DModel (Predict2.5-2B config); latents {meta['latent']}, {text_len} text tokens, "
                 f"{image_len} image tokens (ours only); median of {args.repeats} warm forwards; peak = max allocated "
                 "incl. weights.", "", "| case | step time (s) | peak (GiB) |", "| --- | --- | --- |"]
        for b in batches:
            lines.append(f"| stock diffusers, B={b} | {results[f'stock_b{b}_s']:.3f} | "
                         f"{results[f'stock_b{b}_peak_gib']:.2f} |")
        for rope, b in cases:
            lines.append(f"| ours, rope {rope}, B={b} | {results[f'ours_{rope}_b{b}_s']:.3f} | "
                         f"{results[f'ours_{rope}_b{b}_peak_gib']:.2f} |")
        lines.append(f"| ours, equirect, B=1, no image tokens (uncond branch) | "
                     f"{results['ours_equirect_b1_noimage_s']:.3f} | |")
        lines += [""] + [f"Ratio ours (equirect) / stock, B={b}: {results[f'ratio_ours_over_stock_b{b}']:.3f}"
                         for b in batches] + [""]
        append_markdown(args.out_md, "\n".join(lines))


if __name__ == "__main__":
    main()
