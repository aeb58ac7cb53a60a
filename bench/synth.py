"""Benchmark: one 93-frame 512x1024 synthetic clip with full ground truth (RGB, depth, instances,
poses, 30x30 tracks with visibility, captions) per scene kind and camera trajectory.

Compares with real time (93 frames at 16 fps = 5.8 s) and with the naive renderer (no per-primitive
ERP culling, no cached static background) measured on a few frames in the same run. Prints one JSON
line per case; ``--out-md`` appends a Markdown section.

    python bench/synth.py                                  # CPU
    python bench/synth.py --device cuda --out-md FILE      # GPU
    python bench/synth.py --frames 8 --size 128x256        # smoke test
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import time

import torch

from _common import append_markdown, machine_name, parse_hw, sync  # bench/ (and src/) on sys.path
from panoworld.synth import ClipRenderer, make_scene, render_clip  # noqa: E402


def machine_label(device: str) -> str:
    """The shared machine name plus the CPU load, which decides how noisy CPU timings are."""
    if device.startswith("cuda") or not hasattr(os, "getloadavg"):
        return machine_name(device)
    return f"{machine_name(device)}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--frames", type=int, default=93, help="frames per clip")
    parser.add_argument("--size", default="512x1024", help="ERP size HxW")
    parser.add_argument("--fps", type=float, default=16.0, help="frames per second")
    parser.add_argument("--cases", default="indoor:static,indoor:walk,outdoor:static,outdoor:walk_rotate",
                        help="comma-separated kind:trajectory cases")
    parser.add_argument("--seed", type=int, default=1, help="scene seed")
    parser.add_argument("--naive-frames", type=int, default=3, help="frames timed with the naive renderer (0 = skip)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    h, w = parse_hw(args.size)
    dev = args.device
    real_time = args.frames / args.fps
    rows = []
    warm = make_scene(0, "indoor", "static")
    render_clip(warm, frames=2, size=(32, 64), device=dev, grid_size=4)
    for case in args.cases.split(","):
        kind, traj = case.split(":")
        scene = make_scene(args.seed, kind, traj)
        sync(dev)
        start, cpu_start = time.perf_counter(), time.process_time()
        clip = render_clip(scene, frames=args.frames, size=(h, w), fps=args.fps, device=dev, grid_size=30)
        sync(dev)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        naive = float("nan")
        if args.naive_frames:
            renderer = ClipRenderer(scene, frames=args.frames, size=(h, w), fps=args.fps, device=dev, optimize=False)
            n = min(args.naive_frames, args.frames)
            sync(dev)
            t0 = time.perf_counter()
            for i in range(n):
                renderer.render_frame(i)
            sync(dev)
            naive = (time.perf_counter() - t0) / n * args.frames
        row = {
            "case": case, "frames": args.frames, "size": f"{h}x{w}", "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "ms_per_frame": round(1000 * seconds / args.frames, 1), "x_real_time": round(real_time / seconds, 2),
            "naive_seconds_est": round(naive, 2), "speedup_vs_naive": round(naive / seconds, 2),
            "primitives": len(scene.prims), "visible_track_frac": round(float(clip.visibility.float().mean()), 3),
        }
        del clip
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.out_md:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            "", f"### `bench/synth.py` on {machine_label(dev)} ({stamp})", "",
            f"One {args.frames}-frame {h}x{w} clip with full ground truth (RGB, metric depth, instances, poses, "
            f"30x30 tracks + visibility, captions); real time = {real_time:.1f} s; naive = no ERP culling and no "
            f"cached static background, extrapolated from {args.naive_frames} frames in the same run. "
            "CPU s = process CPU time (equals wall time on a quiet machine with 1 thread).", "",
            "| case | primitives | wall s | CPU s | ms/frame (wall) | x real time | naive (s, est.) | speed-up vs naive |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(f"| {r['case']} | {r['primitives']} | {r['seconds']} | {r['cpu_seconds']} | {r['ms_per_frame']} | "
                         f"{r['x_real_time']} | {r['naive_seconds_est']} | {r['speedup_vs_naive']} |")
        append_markdown(args.out_md, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
