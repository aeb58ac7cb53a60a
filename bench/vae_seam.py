"""Benchmark: the ERP seam of a VAE encode -> decode round trip, circular longitude padding on vs off.

Held-out synth clips (scene seeds from ``panoworld.train.vae.HELDOUT_SEED_START``) go through
``VideoVAE.encode`` and the pipeline's ``decode_video`` (with its circular latent padding of ``pad`` columns, 2 in the
pipeline, or none) for each setting of the seam switch. Scores come from the eval harness
(``eval/metrics/panorama.py``): ``discontinuity`` = seam step response / median column step response (1 = no seam;
the inputs' own value is printed next to it), ``end_continuity`` = mean |last column - first column|; plus PSNR
against the input and the encode / decode seconds (best of ``--repeats``).

Models: the small model's trained VAE (package data) at the shipped size, and the full-size Wan2.1 VAE
(``--wan-vae PATH`` for real weights, else random weights, default PyTorch init) at ``--full-size``.

    python bench/vae_seam.py --out-md docs/benchmarks.md                       # CPU: small VAE + full VAE at 64x128
    python bench/vae_seam.py --device cuda --skip-small --full-size 512x1024 --full-frames 93 \\
        --wan-vae Wan-AI/Wan2.1-T2V-1.3B-Diffusers                              # GPU, full size
"""

from __future__ import annotations

import argparse
import datetime
import sys

import torch
from _common import append_markdown, machine_name, measure, parse_hw  # bench/ (and src/) on sys.path

from panoworld.eval.metrics.panorama import discontinuity_score, end_continuity
from panoworld.eval.metrics.visual import psnr
from panoworld.models.components import VideoVAE
from panoworld.pipelines.decode import decode_video
from panoworld.train.vae import HELDOUT_SEED_START, heldout_clips


def round_trip_rows(name: str, vae: VideoVAE, clips: list[torch.Tensor], device: str, repeats: int,
                    pads: tuple[int, ...]) -> list[dict]:
    """One row per (switch, decode padding): mean scores over ``clips`` and the timings of the first clip."""
    rows = []
    for circular in (False, True):
        vae.set_circular_longitude(circular)
        for pad in pads:
            scores = {"discontinuity": [], "end_continuity": [], "psnr": []}
            enc_s = dec_s = None
            for i, clip in enumerate(clips):
                video = (clip * 2 - 1).permute(1, 0, 2, 3)[None].to(device)
                enc = measure(lambda: vae.encode(video), device, repeats=repeats if i == 0 else 1)
                dec = measure(lambda: decode_video(vae, enc.result, pad_columns=pad), device,
                              repeats=repeats if i == 0 else 1)
                if i == 0:
                    enc_s, dec_s = enc.best, dec.best
                recon = dec.result.float().cpu()
                scores["discontinuity"].append(discontinuity_score(recon))
                scores["end_continuity"].append(end_continuity(recon))
                scores["psnr"].append(float(psnr(recon, clip).mean()))
            rows.append({"model": name, "circular": circular, "pad": pad, "encode_s": enc_s, "decode_s": dec_s,
                         **{k: sum(v) / len(v) for k, v in scores.items()}})
            print(rows[-1], flush=True)
    return rows


def full_wan_vae(source: str | None, device: str, dtype: torch.dtype) -> VideoVAE:
    if source:
        return VideoVAE.from_pretrained(source, device=device, dtype=dtype)
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    return VideoVAE(AutoencoderKLWan().to(device=device, dtype=dtype))


def markdown(rows: list[dict], inputs: dict[str, float], args, machine: str) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n{machine}, {stamp}, torch {torch.__version__}, `python bench/vae_seam.py {' '.join(sys.argv[1:])}`"
             f" ({args.clips} held-out synth clips, seeds {HELDOUT_SEED_START}+):\n",
             "| model (size) | circular longitude | decode latent pad | seam discontinuity (input) | end continuity |"
             " PSNR (dB) | encode (s) | decode (s) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['model']} | {'on' if r['circular'] else 'off'} | {r['pad']} | "
                     f"{r['discontinuity']:.3f} ({inputs[r['model']]:.3f}) | {r['end_continuity']:.4f} | "
                     f"{r['psnr']:.2f} | {r['encode_s']:.2f} | {r['decode_s']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument("--clips", type=int, default=4, help="held-out synth clips per model")
    parser.add_argument("--frames", type=int, default=33, help="frames per clip for the small VAE (4k+1)")
    parser.add_argument("--skip-small", action="store_true", help="skip the small model's VAE")
    parser.add_argument("--skip-full", action="store_true", help="skip the full-size Wan2.1 VAE")
    parser.add_argument("--full-size", default="64x128", help="HxW pixels of the clips for the full-size VAE")
    parser.add_argument("--full-frames", type=int, default=5, help="frames per clip for the full-size VAE (4k+1)")
    parser.add_argument("--wan-vae", default=None, help="Wan2.1 VAE folder / hub id (default: random weights)")
    parser.add_argument("--pads", default="0,2", help="decode_video latent padding columns to compare")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats on the first clip")
    parser.add_argument("--out-md", default=None, help="append the Markdown table to this file")
    args = parser.parse_args()
    pads = tuple(int(p) for p in args.pads.split(","))
    rows, inputs = [], {}
    if not args.skip_small:
        from panoworld.models.components.small import SMALL_ERP_SIZE, small_component_path

        vae = VideoVAE.from_pretrained(small_component_path("vae"), device=args.device, dtype=torch.float32)
        clips = heldout_clips(args.clips, frames=args.frames, size=SMALL_ERP_SIZE, device=args.device)
        name = f"small, trained ({args.frames}x{SMALL_ERP_SIZE[0]}x{SMALL_ERP_SIZE[1]})"
        inputs[name] = sum(discontinuity_score(c) for c in clips) / len(clips)
        rows += round_trip_rows(name, vae, clips, args.device, args.repeats, pads)
    if not args.skip_full:
        size = parse_hw(args.full_size)
        dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
        vae = full_wan_vae(args.wan_vae, args.device, dtype)
        clips = heldout_clips(args.clips, frames=args.full_frames, size=size, device=args.device)
        weights = "Wan2.1 weights" if args.wan_vae else "random weights"
        name = f"Wan2.1 full, {weights} ({args.full_frames}x{size[0]}x{size[1]}, {str(dtype)[6:]})"
        inputs[name] = sum(discontinuity_score(c) for c in clips) / len(clips)
        rows += round_trip_rows(name, vae, clips, args.device, args.repeats, pads)
    text = markdown(rows, inputs, args, machine_name(args.device))
    print(text)
    if args.out_md:
        append_markdown(args.out_md, text)


if __name__ == "__main__":
    main()
