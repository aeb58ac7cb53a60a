"""Benchmark: long-video generation (extension rounds) at full size with random weights; time and memory per round.

What is real: the full PanoWorld transformer (2.3 B params, bf16, with a depth head so the depth path streams
too), the full Wan2.1 VAE (random weights), the conditioning builder, the sampler, CFG 7, decoding, the
cross-fade and the streaming writer (``pano.mp4``, ``preview.mp4``, ``depth.npz`` into a temporary folder). What is
replaced: the 7B text encoder and SigLIP2 return random embeddings (weight-sized buffers, as in
``bench/generate.py``).

One warm-up round (2 evaluations, frames discarded), then one run of ``--rounds`` rounds (first clip +
``rounds - 1`` extension rounds) with ``--steps N`` (N + 1 evaluations per round). For every round: wall seconds
(sampling, decode, cross-fade and video encoding), peak device memory allocated during that round (the counter is
reset after each round), and the host process's resident memory after it. Memory flat in the number of rounds =
the extension rounds' peaks are equal (``extension_peak_spread``: (largest - smallest) / smallest, about 0).

Usage: ``python bench/extend.py --device cuda --rounds 4 --steps 2 --out-md docs/benchmarks.md`` (estimated 2-3 min
on an H100: 4 rounds x 3 evaluations, plus H.264 encoding of 93 frames per round on the CPU; ``--out-json FILE``
also writes every figure);
``python bench/extend.py --device cpu --small`` runs the same code on tiny sizes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import tempfile
import time
from pathlib import Path

import torch
from _common import append_markdown, build_random, is_cuda, machine_name, reset_peak, sync
from generate import SIGLIP_PARAMS, TEXT_ENCODER_PARAMS, RandomImageEncoder, RandomTextEncoder

from panoworld.formats.drift_report import json_ready
from panoworld.io.atomic import atomic_write_json
from panoworld.models import PanoWorldTransformer, panoworld_2b_config, tiny_config
from panoworld.pipelines import GenerationConfig, PanoWorldPipeline
from panoworld.pipelines.extend import FrameSink
from panoworld.pipelines.outputs import ClipWriter


def host_rss_gib() -> float:
    """Resident memory of this process now (Linux /proc), GiB; NaN elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**30


class Discard(FrameSink):
    def write(self, frames, depth) -> None:
        pass


class RoundProbe(ClipWriter):
    """A :class:`ClipWriter` that records, at every round's frames, the seconds since the previous round, the device
    peak since then and the host memory (each extension round hands its frames over exactly once)."""

    def __init__(self, out: Path, *, fps: float, total_frames: int, device: torch.device, out_json: str | None):
        super().__init__(out, fps=fps, total_frames=total_frames)
        self.device, self.rounds, self.out_json = device, [], out_json
        self._start = time.perf_counter()

    def write(self, frames, depth) -> None:
        super().write(frames, depth)
        sync(self.device)
        peak = torch.cuda.max_memory_allocated(self.device) / 2**30 if is_cuda(self.device) else float("nan")
        self.rounds.append({"round": len(self.rounds) + 1, "seconds": time.perf_counter() - self._start,
                            "peak_gib": peak, "host_rss_gib": host_rss_gib(), "frames": int(frames.shape[0])})
        if self.out_json:  # so far (a run cut short keeps its finished rounds)
            atomic_write_json(self.out_json, json_ready({"rounds": self.rounds}))
        if is_cuda(self.device):
            torch.cuda.reset_peak_memory_stats(self.device)
        self._start = time.perf_counter()


def build_pipeline(device: torch.device, small: bool):
    from diffusers import AutoencoderKLWan

    from panoworld.models.components import VideoVAE
    from panoworld.models.components._tiny import tiny_wan_vae_config

    dtype = torch.bfloat16 if is_cuda(device) else torch.float32
    if small:
        net = {**tiny_config(text_dim=64), "depth_head_block": -1}
        vae_model, text_dim, image, params = AutoencoderKLWan(**tiny_wan_vae_config()), 64, (8, 16), (1000, 1000)
    else:
        net = panoworld_2b_config(depth_head_block=-1)
        with torch.device(device):
            vae_model = AutoencoderKLWan()
        text_dim, image, params = 100352, (729, 1152), (TEXT_ENCODER_PARAMS, SIGLIP_PARAMS)
    transformer = build_random(PanoWorldTransformer, net, device, dtype)
    text = RandomTextEncoder(text_dim, device, dtype, params=params[0])
    image_encoder = RandomImageEncoder(image[1], device, dtype, params=params[1], length=image[0])
    return PanoWorldPipeline(transformer, VideoVAE(vae_model.to(device, dtype)), text, image_encoder, device=device)


def peak_spread(rounds: list[dict]) -> float:
    """(largest - smallest) / smallest peak device memory over the extension rounds (rounds 2, 3, ...): about 0
    when memory is flat in the number of rounds; NaN without two extension rounds or on the CPU."""
    peaks = [r["peak_gib"] for r in rounds[1:]]
    if len(peaks) < 2 or not all(math.isfinite(p) and p > 0 for p in peaks):
        return float("nan")
    return (max(peaks) - min(peaks)) / min(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="torch device (cuda or cpu)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of the video (first clip + extensions)")
    parser.add_argument("--steps", type=int, default=2, help="sampling steps per round (N + 1 evaluations)")
    parser.add_argument("--extend-frames", type=int, default=1, help="latent frames carried between rounds (K)")
    parser.add_argument("--small", action="store_true", help="tiny network / VAE and 64x128x9 video (CPU check)")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    parser.add_argument("--out-json", default=None, help="write the settings and per-round figures here")
    args = parser.parse_args()
    device = torch.device(args.device)
    started = time.perf_counter()
    pipe = build_pipeline(device, args.small)
    size, frames, persp = ((64, 128), 9, (48, 64)) if args.small else ((512, 1024), 93, (480, 640))
    cfg = GenerationConfig(height=size[0], width=size[1], num_frames=frames, num_steps=args.steps, guidance=7.0,
                           persp_height=persp[0], persp_width=persp[1], rounds=args.rounds,
                           extend_frames=args.extend_frames)
    image = torch.rand(3, 720, 960, generator=torch.Generator().manual_seed(0))
    plan = cfg.extension_plan()
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        warm = cfg.replace(rounds=1, num_steps=1)  # kernels, allocator, caches; frames discarded
        pipe(image, "a quiet living room", "a living room", warm, sink=Discard())
        reset_peak(device)
        probe = RoundProbe(Path(tmp) / "long", fps=cfg.fps, total_frames=plan.total_frames, device=device,
                           out_json=args.out_json)
        with probe:
            result = pipe(image, "a quiet living room", "a living room", cfg, sink=probe)
    for row in probe.rounds:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "device": machine_name(device), "torch": torch.__version__, "steps": args.steps, "rounds": args.rounds,
            "extend_frames": args.extend_frames, "small": args.small, "frames": plan.total_frames,
            "timings": {k: round(v, 2) for k, v in result.timings.items()},
            "bench_wall_s": round(time.perf_counter() - started, 1)}
    meta["extension_peak_spread"] = peak_spread(probe.rounds)
    print(json.dumps(meta), flush=True)
    if args.out_json:
        atomic_write_json(args.out_json, json_ready({"meta": meta, "rounds": probe.rounds}))
    if args.out_md:
        write_markdown(Path(args.out_md), meta, probe.rounds, size, frames)


def write_markdown(path: Path, meta: dict, rounds: list[dict], size: tuple[int, int], frames: int) -> None:
    models = "tiny test configs" if meta["small"] else "PanoWorld transformer (with depth head) + Wan2.1 VAE"
    lines = ["", f"### Long video (extension rounds): {meta['device']} ({meta['date']}, torch {meta['torch']})", "",
             f"{size[0]}x{size[1]}, {frames} frames per round, {meta['rounds']} rounds = {meta['frames']} frames, "
             f"K = {meta['extend_frames']}, CFG 7, `--steps {meta['steps']}` ({meta['steps'] + 1} evaluations per "
             f"round, not 36), random weights ({models}; text encoder and SigLIP replaced by random embeddings), "
             "streamed to pano.mp4 / preview.mp4 / depth.npz. Command: `python bench/extend.py --device "
             f"{'cpu --small' if meta['small'] else 'cuda'} --rounds {meta['rounds']} --steps {meta['steps']}`.", "",
             "| round | seconds | peak device memory | host memory after |", "| --- | --- | --- | --- |"]
    lines += [f"| {r['round']}{' (first clip)' if r['round'] == 1 else ''} | {r['seconds']:.1f} s | "
              f"{r['peak_gib']:.2f} GiB | {r['host_rss_gib']:.2f} GiB |" for r in rounds]
    spread = meta["extension_peak_spread"]
    lines += ["", f"Stage seconds: {json.dumps(meta['timings'])}. Peak memory of the extension rounds varies by "
              f"{spread * 100:.2f} % (largest - smallest, over the smallest).", ""]
    append_markdown(path, "\n".join(lines))


if __name__ == "__main__":
    main()
