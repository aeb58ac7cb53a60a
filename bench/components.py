"""Benchmark: the three model components at full size with random weights (timing does not depend on values).

- SigLIP2 so400m/14-384 vision tower: one 480x640 image -> 729x1152 tokens; compared with encoding the same
  still image 93 times, as the reference does for a static 93-frame input (the tokens are identical).
- Wan2.1 VAE: encode and decode of a 93x512x1024 video (bf16), time and peak memory, with and without tiling.
- Text encoder: Qwen2.5-VL-7B language model (Cosmos-Reason1-7B config), bf16, 2 prompts x 512 tokens through
  TextEncoder.encode; compared with the full Qwen2.5-VL model run as diffusers'
  Cosmos2_5_PredictBasePipeline._get_prompt_embeds runs it (vision tower and LM head loaded, bf16
  standardisation; the diffusers pipeline module itself is not imported because it imports torchvision) and with
  a prompt-cache hit. A byte-level test tokenizer stands in for the real one (no network);
  the sequence length (512) and hence the cost are the same.

    python bench/components.py --device cuda --out-md bench_components.md
    python bench/components.py --device cpu --frames 5 --size 64x128 --text-layers 2 --text-len 64 \
        --siglip-copies 2 --repeats 1   # CPU smoke run
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import sys
import tempfile

import torch
from _common import append_markdown, machine_name, measure, parse_hw  # bench/ (and src/) on sys.path

from panoworld.models.components import ImageEncoder, TextEncoder, VideoVAE
from panoworld.models.components._tiny import tiny_qwen_tokenizer

PROMPTS = [
    "A wide city square at noon, a fountain in the centre, people crossing, pigeons taking off, slow camera turn.",
    "A snowy mountain pass at dusk, wind blowing powder across the road, distant headlights approaching.",
]


def timed(fn, device: str, repeats: int = 2):
    """(best seconds, peak GiB allocated during the runs or None on CPU, last result)."""
    m = measure(fn, device, repeats=repeats, cpu_peak=None)
    return m.best, m.peak_gib, m.result


def bench_siglip(device: str, dtype: torch.dtype, repeats: int, copies: int) -> dict:
    from transformers import SiglipVisionConfig, SiglipVisionModel

    cfg = SiglipVisionConfig(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                             image_size=384, patch_size=14)
    with torch.device(device):
        model = SiglipVisionModel(cfg).to(dtype)
    enc = ImageEncoder(model)
    image = torch.rand(1, 3, 480, 640, device=device)
    t1, p1, out = timed(lambda: enc.encode(image), device, repeats)
    tn, pn, _ = timed(lambda: enc.encode(image.expand(copies, -1, -1, -1)), device, 1)
    res = {"siglip_tokens": list(out.shape), "siglip_1_s": t1, "siglip_1_peak_gib": p1, "siglip_copies": copies,
           "siglip_n_s": tn, "siglip_n_peak_gib": pn}
    del enc, model
    return res


def bench_vae(device: str, dtype: torch.dtype, frames: int, h: int, w: int, repeats: int, tiling: bool) -> dict:
    from diffusers import AutoencoderKLWan

    with torch.device(device):
        model = AutoencoderKLWan().to(dtype)
    vae = VideoVAE(model)
    video = torch.rand(1, 3, frames, h, w, device=device) * 2 - 1
    res = {}
    te, pe, z = timed(lambda: vae.encode(video), device, repeats)
    td, pd, _ = timed(lambda: vae.decode(z), device, repeats)
    res.update(vae_latent=list(z.shape), vae_encode_s=te, vae_encode_peak_gib=pe, vae_decode_s=td,
               vae_decode_peak_gib=pd)
    if tiling:
        vae.enable_tiling()
        te, pe, _ = timed(lambda: vae.encode(video), device, 1)
        td, pd, _ = timed(lambda: vae.decode(z), device, 1)
        res.update(vae_tiled_encode_s=te, vae_tiled_encode_peak_gib=pe, vae_tiled_decode_s=td,
                   vae_tiled_decode_peak_gib=pd)
    del vae, model, video, z
    return res


def full_vl_embeds(full_model, input_ids: torch.Tensor) -> torch.Tensor:
    """What diffusers' Cosmos2_5_PredictBasePipeline._get_prompt_embeds runs: the whole Qwen2.5-VL model, then the
    per-layer standardisation in the model dtype (the test suite checks our encoder equals that function)."""
    with torch.no_grad():
        hidden = full_model(input_ids, output_hidden_states=True).hidden_states
        return torch.cat([(h - h.mean(-1, keepdim=True)) / (h.std(-1, keepdim=True) + 1e-8) for h in hidden[1:]], -1)


def bench_text(device: str, dtype: torch.dtype, layers: int, max_length: int, repeats: int) -> dict:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    cfg = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=layers,
            num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=128000, rms_norm_eps=1e-6,
            rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]}, rope_theta=1000000.0,
        ),
        vision_config=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=3584,
                           fullatt_block_indexes=[7, 15, 23, 31]),
    )
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            full = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    finally:
        torch.set_default_dtype(previous)
    model = full.model.language_model  # what TextEncoder.from_pretrained loads (shares the weights)

    def gib(module) -> float:
        return sum(p.numel() * p.element_size() for p in module.parameters()) / 2**30

    tokenizer = tiny_qwen_tokenizer()
    enc = TextEncoder(model, tokenizer, max_length=max_length)
    t_ours, p_ours, out = timed(lambda: enc.encode(PROMPTS), device, repeats)
    ids = enc.tokenize(PROMPTS).to(device)
    t_full, p_full, ref = timed(lambda: full_vl_embeds(full, ids), device, repeats)
    diff = (out.float() - ref.float()).abs().max().item()
    with tempfile.TemporaryDirectory() as tmp:
        cached = TextEncoder(model, tokenizer, max_length=max_length, cache_dir=tmp)
        t_fill, _, _ = timed(lambda: cached.encode(PROMPTS), device, 1)
        t_hit, _, hit = timed(lambda: cached.encode(PROMPTS), device, repeats)
        same = bool(torch.equal(hit.cpu(), out.cpu()))
    res = {"text_params_b": sum(p.numel() for p in model.parameters()) / 1e9, "text_embeds": list(out.shape),
           "text_weights_gib": gib(model), "full_vl_weights_gib": gib(full), "text_s": t_ours,
           "text_peak_gib": p_ours, "full_vl_s": t_full, "full_vl_peak_gib": p_full,
           "text_max_abs_diff_vs_full_vl": diff, "text_cache_fill_s": t_fill, "text_cache_hit_s": t_hit,
           "text_cache_hit_identical": same}
    del enc, model, cached, full
    return res


def log(part: str) -> None:
    print(f"[bench] {part} ...", file=sys.stderr, flush=True)


def fmt(v, unit="") -> str:
    return "n/a" if v is None else f"{v:.3f}{unit}"


def markdown(r: dict, args) -> str:
    lines = [
        f"### Components ({datetime.date.today().isoformat()}, {r['machine']}, {args.dtype}, random weights)",
        "",
        "| Component | Work | Time (s) | Peak (GiB) | Comparison (same run) |",
        "|---|---|---|---|---|",
    ]
    if "siglip_1_s" in r:
        lines.append(f"| SigLIP2 so400m/14-384 | 1 image -> {r['siglip_tokens'][1]}x{r['siglip_tokens'][2]} tokens | "
                     f"{fmt(r['siglip_1_s'])} | {fmt(r['siglip_1_peak_gib'])} | "
                     f"{r['siglip_copies']} copies (reference): "
                     f"{fmt(r['siglip_n_s'])} s = {r['siglip_n_s'] / r['siglip_1_s']:.1f}x |")
    if "vae_encode_s" in r:
        work = f"{args.frames}x{args.size} -> latent {'x'.join(map(str, r['vae_latent'][1:]))}"
        tiled_e = (f"tiled: {fmt(r['vae_tiled_encode_s'])} s, {fmt(r['vae_tiled_encode_peak_gib'])} GiB"
                   if "vae_tiled_encode_s" in r else "")
        tiled_d = (f"tiled: {fmt(r['vae_tiled_decode_s'])} s, {fmt(r['vae_tiled_decode_peak_gib'])} GiB"
                   if "vae_tiled_decode_s" in r else "")
        lines.append(f"| Wan2.1 VAE encode | {work} | {fmt(r['vae_encode_s'])} | {fmt(r['vae_encode_peak_gib'])} | "
                     f"{tiled_e} |")
        lines.append(f"| Wan2.1 VAE decode | latent -> {args.frames}x{args.size} | {fmt(r['vae_decode_s'])} | "
                     f"{fmt(r['vae_decode_peak_gib'])} | {tiled_d} |")
    if "text_s" in r:
        lines.append(
            f"| Text encoder (language model only: {r['text_params_b']:.2f} B params, {r['text_weights_gib']:.1f} GiB;"
            f" {args.text_layers} layers) | 2 prompts x {args.text_len} tokens -> {r['text_embeds'][2]}-d | "
            f"{fmt(r['text_s'])} | {fmt(r['text_peak_gib'])} | full Qwen2.5-VL as diffusers loads it "
            f"({r['full_vl_weights_gib']:.1f} GiB of weights): {fmt(r['full_vl_s'])} s, "
            f"max diff {r['text_max_abs_diff_vs_full_vl']:.2e} (bf16 standardisation); cache hit "
            f"{r['text_cache_hit_s'] * 1e3:.1f} ms = {r['text_s'] / r['text_cache_hit_s']:.0f}x faster, identical: "
            f"{r['text_cache_hit_identical']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"], help="weight dtype")
    parser.add_argument("--frames", type=int, default=93, help="video frames for the VAE (4k+1)")
    parser.add_argument("--size", default="512x1024", help="video size HxW in pixels for the VAE")
    parser.add_argument("--siglip-copies", type=int, default=93, help="copies of the still image, as the reference")
    parser.add_argument("--text-layers", type=int, default=28, help="language-model layers (28 = Cosmos-Reason1-7B)")
    parser.add_argument("--text-len", type=int, default=512, help="tokens per prompt")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats (best is kept; first is warm-up)")
    parser.add_argument("--no-tiling", action="store_true", help="skip the tiled VAE comparison")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: siglip,vae,text")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = parser.parse_args()
    dev, dtype = args.device, getattr(torch, args.dtype)
    h, w = parse_hw(args.size)
    skip = set(filter(None, args.skip.split(",")))
    torch.manual_seed(0)
    results: dict = {"machine": machine_name(dev), "dtype": args.dtype}
    if "siglip" not in skip:
        log("siglip")
        results.update(bench_siglip(dev, dtype, args.repeats, args.siglip_copies))
        gc.collect()
    if "vae" not in skip:
        log("vae")
        results.update(bench_vae(dev, dtype, args.frames, h, w, args.repeats, not args.no_tiling))
        gc.collect()
    if "text" not in skip:
        log("text encoder")
        results.update(bench_text(dev, dtype, args.text_layers, args.text_len, args.repeats))
    print(json.dumps(results))
    md = markdown(results, args)
    print(md)
    if args.out_md:
        append_markdown(args.out_md, md + "\n")


if __name__ == "__main__":
    main()
