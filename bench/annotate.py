"""Benchmark: geometry annotation of one 20-frame 512x1024 ERP clip with full-size networks (random weights).

Times DAP depth (ViT-L/16 + 2 DPT heads, bf16, batched) and CoTracker3 offline tracking (30x30 queries on the
25 %-padded clip, 6 iterations, bf16), the whole ``annotate_frames`` pipeline, and peak GPU memory. The
comparison, measured in the same run, is the reference's way of running the same networks: depth one frame
at a time in float32, tracking in float32. Prints one JSON line; ``--out-md`` appends a Markdown section.

    python bench/annotate.py --device cuda --out-md bench_annotate.md     # H100/H200, < 4 min
    python bench/annotate.py --device cpu --tiny --frames 4 --size 64x128  # CPU smoke test (tiny networks)
"""

from __future__ import annotations

import argparse
import datetime
import json

import torch
from _common import append_markdown, is_cuda, machine_name, measure, parse_hw  # bench/ (and src/) on sys.path

from panoworld.annotate.cotracker import CoTracker3Offline, CoTrackerConfig
from panoworld.annotate.dap import DAPConfig, DAPModel
from panoworld.annotate.pipeline import AnnotateOptions, annotate_frames
from panoworld.annotate.tracking import track_erp


def peak_gib(device: str, fn) -> tuple[float, float]:
    """(seconds, peak GiB allocated) of one call of ``fn()``; peak is 0 on CPU."""
    m = measure(fn, device, cpu_peak=0.0)
    return m.best, m.peak_gib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--frames", type=int, default=20, help="annotation frames per clip")
    parser.add_argument("--size", default="512x1024", help="ERP size HxW")
    parser.add_argument("--grid", type=int, default=30, help="query grid size")
    parser.add_argument("--batch", type=int, default=4, help="depth frames per forward pass")
    parser.add_argument("--tiny", action="store_true", help="tiny random networks (CPU smoke test)")
    parser.add_argument("--skip-baseline", action="store_true", help="skip the float32 reference-style comparison")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = parser.parse_args()
    dev = args.device
    h, w = parse_hw(args.size)
    torch.manual_seed(0)
    dap = DAPModel(DAPConfig.tiny() if args.tiny else DAPConfig()).to(dev).eval()
    tracker = CoTracker3Offline(CoTrackerConfig.tiny() if args.tiny else CoTrackerConfig()).to(dev).eval()
    frames = torch.rand(args.frames, 3, h, w)
    if is_cuda(dev):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    depth_run = lambda: dap.predict(frames, batch_size=args.batch)
    track_run = lambda: track_erp(tracker, frames, grid_size=args.grid)
    depth_run(), track_run()  # warm-up (cuDNN autotuning, kernels)
    depth_s, depth_peak = peak_gib(dev, depth_run)
    track_s, track_peak = peak_gib(dev, track_run)
    opts = AnnotateOptions(grid_size=args.grid, depth_batch=args.batch)
    total_s, total_peak = peak_gib(dev, lambda: annotate_frames(frames, dap, tracker, opts))
    result = {
        "device": machine_name(dev),
        "frames": args.frames, "size": args.size, "grid": args.grid, "tiny": args.tiny,
        "depth_s": round(depth_s, 3), "depth_peak_gib": round(depth_peak, 2),
        "tracks_s": round(track_s, 3), "tracks_peak_gib": round(track_peak, 2),
        "depth_plus_tracks_s": round(depth_s + track_s, 3),
        "pipeline_s": round(total_s, 3), "pipeline_peak_gib": round(total_peak, 2),
    }
    if not args.skip_baseline:
        ref_depth_s, _ = peak_gib(dev, lambda: dap.predict(frames, batch_size=1, bf16=False))
        ref_track_s, _ = peak_gib(dev, lambda: track_erp(tracker, frames, grid_size=args.grid, bf16=False))
        result.update({"ref_depth_fp32_b1_s": round(ref_depth_s, 3), "ref_tracks_fp32_s": round(ref_track_s, 3),
                       "speedup_vs_ref": round((ref_depth_s + ref_track_s) / (depth_s + track_s), 2)})
    print(json.dumps(result))
    if args.out_md:
        lines = [
            "", f"### Annotate ({datetime.date.today().isoformat()}, {result['device']})", "",
            f"One {args.frames}-frame {args.size} clip, {'TINY test' if args.tiny else 'full-size'} networks, "
            "random weights, bf16 autocast.", "",
            "| stage | seconds / clip | peak GiB |", "| --- | --- | --- |",
            f"| depth (DAP ViT-L/16, batch {args.batch}) | {depth_s:.2f} | {depth_peak:.1f} |",
            f"| tracks (CoTracker3 offline, {args.grid}x{args.grid} queries, 25 % padding) | {track_s:.2f} | "
            f"{track_peak:.1f} |",
            f"| depth + tracks | {depth_s + track_s:.2f} | |",
            f"| whole pipeline (+ lifting, camera RANSAC, static flags) | {total_s:.2f} | {total_peak:.1f} |",
        ]
        if "speedup_vs_ref" in result:
            lines.append(f"| reference-style fp32, depth batch 1 + tracks | {ref_depth_s + ref_track_s:.2f} | |")
            lines += ["", f"Speed-up over the reference-style run: {result['speedup_vs_ref']}x. Goal: depth + tracks "
                      "<= 15 s per clip."]
        append_markdown(args.out_md, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
