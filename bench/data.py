"""Benchmark: cutting a long ERP video into 5 s clips (``panoworld data cut``), in clips per minute.

Generates a procedural ERP video (default 60 s of 512x1024 at 16 fps), then times, in one process:

- ``stream copy``: remuxing the packets without decoding (what the reference's ``ffmpeg -c copy`` does;
  fast but it cuts only at key frames, so clip starts and lengths are approximate);
- ``transcode``: plain decode + re-encode of the whole video with the same encoder settings (the
  unavoidable cost of exact cuts);
- ``cut``: our cutter (exact frame boundaries, ERP filters, manifest), no resize;
- ``cut + resize``: the same, normalising to ``--resize`` (default 256x512) and ``--target-fps``.

Decoding and x264 encoding run on the CPU whatever ``--device`` says (it is recorded for the report).
Prints one JSON line; ``--out-md`` appends a Markdown snippet.

    python bench/data.py                          # full size
    python bench/data.py --seconds 20 --size 256x512   # quicker smoke run
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path

import torch
from _common import append_markdown, is_cuda, machine_name, measure, parse_hw  # bench/ (and src/) on sys.path

from panoworld.data import CutOptions, cut_videos, find_videos
from panoworld.io import VideoWriter, iter_video


def make_source(path: Path, seconds: float, fps: int, height: int, width: int) -> int:
    """Write a drifting, seam-continuous synthetic ERP video; return its frame count."""
    lon = torch.linspace(-math.pi, math.pi, width + 1)[:-1]
    lat = torch.linspace(math.pi / 2, -math.pi / 2, height)
    texture = torch.stack([
        0.5 + 0.4 * torch.sin(7 * lon)[None] * torch.cos(5 * lat)[:, None],
        0.5 + 0.4 * torch.cos(11 * lon)[None] * torch.sin(3 * lat)[:, None],
        0.5 + 0.3 * torch.sin(3 * lon + 2)[None] * torch.ones(height, 1),
    ])
    n = int(round(seconds * fps))
    with VideoWriter(path, fps, spherical=True) as writer:
        for start in range(0, n, 16):
            chunk = [torch.roll(texture, shifts=3 * t, dims=-1) for t in range(start, min(n, start + 16))]
            writer.write(torch.stack(chunk))
    return n


def stream_copy(src: Path, dst: Path) -> None:
    """Remux every video packet into a new file without decoding."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        istream = inp.streams.video[0]
        try:
            ostream = out.add_stream_from_template(istream)
        except AttributeError:  # PyAV < 14
            ostream = out.add_stream(template=istream)
        for packet in inp.demux(istream):
            if packet.dts is None:
                continue
            packet.stream = ostream
            out.mux(packet)


def transcode(src: Path, dst: Path, fps: int) -> None:
    """Decode and re-encode the whole video (same encoder settings and torch threads as the cutter)."""
    from panoworld.data.cut import _torch_threads

    with _torch_threads(1), VideoWriter(dst, fps, spherical=True) as writer:
        for chunk in iter_video(src, chunk_size=16):
            writer.write(chunk)


def timed(fn) -> float:
    """Wall-clock seconds of one call of ``fn()`` (CPU work)."""
    return measure(fn).best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="recorded only: decoding/encoding run on the CPU")
    parser.add_argument("--seconds", type=float, default=60.0, help="source video length in seconds")
    parser.add_argument("--fps", type=int, default=16, help="source frame rate")
    parser.add_argument("--size", default="512x1024", help="source ERP size HxW")
    parser.add_argument("--resize", default="256x512", help="normalisation size HxW of the resize variant")
    parser.add_argument("--target-fps", type=int, default=8, help="output fps of the resize variant")
    parser.add_argument("--clip-seconds", type=float, default=5.0, help="clip length in seconds")
    parser.add_argument("--out-md", default=None, help="append a Markdown snippet to this file")
    args = parser.parse_args()
    h, w = parse_hw(args.size)
    rh, rw = parse_hw(args.resize)
    work = Path(tempfile.mkdtemp(prefix="pw-bench-data-"))
    try:
        src = work / "source.mp4"
        frames = make_source(src, args.seconds, args.fps, h, w)
        make_source(work / "warm.mp4", 1.0, args.fps, h, w)
        transcode(work / "warm.mp4", work / "warm_out.mp4", args.fps)  # warm-up: codec and thread start-up
        t_copy = timed(lambda: stream_copy(src, work / "copy.mp4"))
        t_trans = timed(lambda: transcode(src, work / "trans.mp4", args.fps))
        results = {}
        for name, opts in {
            "cut": CutOptions(clip_seconds=args.clip_seconds),
            "cut_resize": CutOptions(clip_seconds=args.clip_seconds, size=(rh, rw), fps=Fraction(args.target_fps)),
        }.items():
            out = work / name
            t = timed(lambda: cut_videos(find_videos([src]), out, opts))
            kept = len(list((out / "clips").glob("*.mp4")))
            results[name] = {"seconds": round(t, 2), "clips": kept, "clips_per_min": round(kept / t * 60, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    clips_equiv = args.seconds / args.clip_seconds
    record = {
        "bench": "data_cut",
        "date": datetime.date.today().isoformat(),
        "machine": (machine_name(args.device) + " host CPU" if is_cuda(args.device) and torch.cuda.is_available()
                    else machine_name("cpu")) + f", {os.cpu_count()} cores",
        "device_arg": args.device,
        "source": f"{args.seconds:g} s {h}x{w} @ {args.fps} fps ({frames} frames)",
        "stream_copy_s": round(t_copy, 2),
        "transcode_s": round(t_trans, 2),
        "transcode_clips_per_min": round(clips_equiv / t_trans * 60, 1),
        **{f"{k}_{m}": v for k, r in results.items() for m, v in r.items()},
        "cut_vs_transcode": round(results["cut"]["seconds"] / t_trans, 2),
        "cut_vs_stream_copy": round(results["cut"]["seconds"] / max(t_copy, 1e-6), 1),
    }
    print(json.dumps(record))
    if args.out_md:
        r = record
        md = (
            f"\n### Cutting ({r['date']}, {r['machine']}, --device {r['device_arg']})\n\n"
            f"Source: {r['source']}, {args.clip_seconds:g} s clips.\n\n"
            "| variant | seconds | clips | clips/min |\n|---|---:|---:|---:|\n"
            f"| stream copy (reference-style, inexact cuts; whole video) | {r['stream_copy_s']} | - | - |\n"
            f"| plain decode + re-encode (whole video) | {r['transcode_s']} | - | {r['transcode_clips_per_min']} (equiv.) |\n"
            f"| `data cut` (exact, filters, manifest) | {r['cut_seconds']} | {r['cut_clips']} | {r['cut_clips_per_min']} |\n"
            f"| `data cut --size {args.resize} --fps {args.target_fps}` | {r['cut_resize_seconds']} | "
            f"{r['cut_resize_clips']} | {r['cut_resize_clips_per_min']} |\n\n"
            f"Ratio cut / plain transcode: {r['cut_vs_transcode']}x; cut / stream copy: {r['cut_vs_stream_copy']}x.\n"
        )
        append_markdown(args.out_md, md)


if __name__ == "__main__":
    main()
