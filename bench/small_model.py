"""Wall time of one clip of the shipped small PanoWorld (``panoworld-small``) at its own size, on the CPU or a GPU.

    python bench/small_model.py --device cpu --repeats 2 --out-json small.json --out-md small.md

The model folder (default: the one shipped in the package) is loaded once (timed), then each case generates the
bundled sample room (``assets/sample_room_persp.png`` with its captions) at the model's defaults (128x256,
33 frames, its sampler's 15 steps with CFG): ``single`` (one round) and ``chained`` (``--chained``, two rounds),
``--repeats`` times each, seed 0. Next to every number the machine's 1-minute load average
(``os.getloadavg``) before and after the call is recorded: on a shared box a high load inflates the wall time, so
the best of the repeats and its load are what the Markdown reports, with the process's CPU seconds (all its
threads; on an idle machine the wall time approaches CPU seconds / threads). Per-stage seconds (text, SigLIP, sampling,
VAE) come from the pipeline's own timer. JSON is written after every case.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from importlib import resources
from pathlib import Path

from _common import append_markdown, machine_name

CASES = {"single": {"chained": False}, "chained": {"chained": True}}


def _load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def sample_inputs():
    """(image (3, H, W) in [0, 1], perspective prompt, 360-degree prompt) of the bundled sample room."""
    from panoworld.io import read_image

    assets = resources.files("panoworld") / "assets"
    meta = json.loads((assets / "sample_room.json").read_text())
    image = read_image(str(assets / "sample_room_persp.png"))
    return image, meta["captions"]["long"], meta["captions"]["medium"]


def run_case(pipe, inputs, chained: bool, seed: int) -> dict:
    """One timed generation: wall seconds, CPU seconds of this process (all its threads), load average
    before/after, the pipeline's stage timings."""
    image, prompt, pano = inputs
    config = pipe.source.generation_config(chained=chained, seed=seed)
    before = _load_avg()
    start, cpu = time.perf_counter(), time.process_time()
    result = pipe(image, prompt, pano, config=config)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_before": before, "load_after": _load_avg(),
            "frames": int(result.video.shape[0]), "size": list(result.video.shape[-2:]),
            "steps": config.num_steps, "stages_s": {k: round(v, 2) for k, v in result.timings.items()}}


def _seconds(value) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def markdown(results: dict) -> str:
    """The docs/benchmarks.md section of ``results``."""
    meta = results["meta"]
    lines = [f"\n### Small model on {meta['machine']} ({meta['date']})\n",
             f"`{meta['command']}`; model `{meta['model']}` loaded in {meta['load_s']:.1f} s (load average "
             f"{meta['load_avg_at_load']:.1f}); {meta['cpus']} CPUs on the machine. Sample room, seed 0, the "
             "model's defaults. Load average = 1-minute average before / after the call (a shared box: the best "
             "repeat is the number to quote).\n",
             "| case | frames | size | steps | best wall | its CPU time | repeats (load before/after) | sampling | "
             "VAE (conditioning + decode) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, runs in results["cases"].items():
        best = min(runs, key=lambda r: r["wall_s"])
        stages = best["stages_s"]
        sampling = sum(v for k, v in stages.items() if k.endswith("_sampling"))
        vae = sum(v for k, v in stages.items() if k.endswith(("_conditioning", "_decode")))
        reps = ", ".join(f"{r['wall_s']:.1f} s ({r['load_before']:.1f}/{r['load_after']:.1f})" for r in runs)
        lines.append(f"| {name} | {best['frames']} | {best['size'][0]}x{best['size'][1]} | {best['steps']} | "
                     f"{best['wall_s']:.1f} s | {_seconds(best.get('cpu_s'))} | {reps} | {sampling:.1f} s | "
                     f"{vae:.1f} s |")
    lines += ["", "Stages of the best single round (s): "
              + ", ".join(f"{k} {v:.2f}" for k, v in min(results["cases"]["single"],
                                                         key=lambda r: r["wall_s"])["stages_s"].items()), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="small", help="model folder, or 'small' (the shipped one) [small]")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda [cpu]")
    parser.add_argument("--cases", default="single,chained", help="comma list of single, chained [both]")
    parser.add_argument("--repeats", type=int, default=1, help="timed generations per case [1]")
    parser.add_argument("--seed", type=int, default=0, help="generation seed [0]")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads [torch's default]")
    parser.add_argument("--out-json", type=Path, default=None, help="write the results here (after every case)")
    parser.add_argument("--out-md", type=Path, default=None, help="append the Markdown section to this file")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if not cases or set(cases) - set(CASES) or args.repeats < 1:
        parser.error(f"--cases takes a comma list of {', '.join(CASES)}; --repeats >= 1")
    import torch

    from panoworld.io.atomic import atomic_write_text
    from panoworld.pipelines import PanoWorldPipeline

    if args.threads:
        torch.set_num_threads(args.threads)
    load_avg = _load_avg()
    start = time.perf_counter()
    pipe = PanoWorldPipeline.from_pretrained(args.model, device=args.device)
    results = {"meta": {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_name(args.device), "cpus": os.cpu_count(), "model": args.model,
        "load_s": round(time.perf_counter() - start, 2), "load_avg_at_load": load_avg,
        "command": " ".join(["python bench/small_model.py", *(argv if argv is not None else sys.argv[1:])])},
        "cases": {}}
    inputs = sample_inputs()
    for name in cases:
        for _ in range(args.repeats):
            run = run_case(pipe, inputs, CASES[name]["chained"], args.seed)
            results["cases"].setdefault(name, []).append(run)
            print(json.dumps({"case": name, **run}), flush=True)
            if args.out_json:
                atomic_write_text(args.out_json, json.dumps(results, indent=1))
    text = markdown(results) if "single" in results["cases"] else json.dumps(results["cases"])
    print(text)
    if args.out_md:
        append_markdown(args.out_md, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
