"""Seconds per clip of ``panoworld train cache`` (``train.cache._build_entry``: the clip's latent, K Round-1 views
and K Round-2 proxies) with the ``tiny-synth`` preset's components (the shipped small model), on the CPU or a GPU.

    python bench/train_cache.py --clips 4 --data /tmp/cache-bench/synth --out-json cache.json

The synth split (``--clips`` clips at the preset's 128x256 x 33 frames, no annotations) is written once into
``--data`` (kept between runs), the VAE and the image encoder are loaded once (not timed), then every clip's entry
is built into a temporary folder and timed, with the machine's 1-minute load average before and after (on a shared
box a high load inflates the wall time). Point ``PYTHONPATH`` at another checkout to time its code the same way.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_name, sync  # noqa: E402


def _load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=4, help="synth clips to cache (default 4)")
    parser.add_argument("--data", default="/tmp/panoworld-cache-bench/synth",
                        help="folder of the synth split (written when absent, reused otherwise)")
    parser.add_argument("--config", default="tiny-synth", help="training preset or TOML (default tiny-synth)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out-json", default=None, help="write the results here as JSON")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    import panoworld
    from panoworld.synth import write_split
    from panoworld.train import components
    from panoworld.train import cache
    from panoworld.train.cache import TextStore, _build_entry
    from panoworld.train.config import load_config
    from panoworld.train.data import list_clips

    cfg = load_config(args.config)
    data = Path(args.data)
    if not data.is_dir() or len(list_clips(str(data))) < args.clips:
        write_split(data, clips=args.clips, frames=cfg.data.num_frames, size=(cfg.data.height, cfg.data.width),
                    seed=1_000_000, ann_frames=0, grid_size=16, split="bench")
    clips = list_clips(str(data))[: args.clips]
    device = torch.device(args.device)
    load_vae = getattr(cache, "load_cache_vae", None)  # the VAE as build_cache runs it (older checkouts: plain)
    vae = load_vae(cfg, device) if load_vae else components.load_vae(cfg.components.vae, device, cfg.components.dtype)
    image_encoder = components.load_image_encoder(cfg.components.image_encoder, device, cfg.components.dtype)
    runner = vae._runner() if hasattr(vae, "_runner") else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = TextStore(Path(tmp) / "text", "bench")
        for clip in clips:
            before = _load_avg()
            sync(device)
            start, cpu = time.perf_counter(), time.process_time()
            _build_entry(cfg, clip, vae, image_encoder, store, Path(tmp) / f"{clip.name}.safetensors")
            sync(device)
            rows.append({"clip": clip.name, "wall_s": round(time.perf_counter() - start, 2),
                         "cpu_s": round(time.process_time() - cpu, 2), "load_before": before,
                         "load_after": _load_avg()})
            print(json.dumps(rows[-1]), flush=True)
    walls = [r["wall_s"] for r in rows]
    result = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine_name(device),
              "panoworld": str(Path(panoworld.__file__).parent), "threads": torch.get_num_threads(),
              "size": [cfg.data.num_frames, cfg.data.height, cfg.data.width],
              "views_per_clip": cfg.samples.views_per_clip, "vae_runner": runner is not None,
              "encode_chunk": vae.chunk_lengths((cfg.samples.views_per_clip, 3, cfg.data.num_frames, cfg.data.height,
                                                 cfg.data.width))[0] if hasattr(vae, "chunk_lengths") else 4,
              "circular_longitude": bool(getattr(vae, "circular_longitude", False)), "clips": rows,
              "mean_s": round(sum(walls) / len(walls), 2), "best_s": min(walls)}
    print(json.dumps({k: v for k, v in result.items() if k != "clips"}))
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
