"""Quality cost of the fast switches: ``--fast`` vs exact generation of the same held-out inputs, on a trained model.

For ``--inputs`` synthetic worlds (``panoworld.synth`` scenes with seeds ``--seed-start + i``, indoor and outdoor
alternating; the input photo is the perspective view of the first frame at a yaw that varies per world, the prompt
the scene's short caption) every variant generates with the same seed and settings as the exact run, and is
compared with it:

* PSNR (dB; squared error weighted by solid angle) and SSIM (window wrapped around the seam), per frame, averaged;
* the seam: the discontinuity score (``eval.metrics.panorama``) of the fast video minus the exact one's;
* depth, when the model has a depth head: mean ``|log d_fast - log d_exact|`` (≈ relative depth change);
* the evaluations the step cache reused, and the wall time relative to the exact run on the same device.

Variants: every set in ``--fast`` (switches joined by ``+``), cache sets once per ``--thresholds`` value.
The defaults keep the inputs away from the seeds the small model's training draws (1,000,000 + i for training
worlds, 2,000,000 + i for the VAE's held-out clips).

Usage (the small model): ``python bench/fast_quality.py --model MODEL_FOLDER --inputs 12 --out-md
docs/benchmarks.md``; the test suite runs it on a tiny random model folder.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
from _common import Budget, append_markdown, machine_name, parse_hw

from panoworld.eval.metrics.panorama import discontinuity_score
from panoworld.eval.metrics.visual import psnr, ssim
from panoworld.pipelines import PanoWorldPipeline
from panoworld.pipelines.config import fast_settings
from panoworld.sphere import erp_to_perspective, solid_angle_weights
from panoworld.synth import make_scene, render_clip

SEED_START = 3_000_000


def synth_inputs(count: int, seed_start: int, *, render_size: tuple[int, int], persp: tuple[int, int],
                 fov: float) -> list[dict]:
    """Held-out inputs: {name, image (3, h, w) in [0, 1], prompt, seed}."""
    out = []
    for i in range(count):
        seed, kind = seed_start + i, ("indoor", "outdoor")[i % 2]
        clip = render_clip(make_scene(seed, kind, "static"), frames=1, size=render_size)
        yaw = (i * 137.5) % 360.0 - 180.0
        image = erp_to_perspective(clip.frames[0], fov_x=fov, yaw=yaw, size=persp).clamp(0, 1)
        out.append({"name": f"{kind}-{seed}", "image": image, "prompt": clip.captions["short"], "seed": seed})
    return out


def variants(fast: str, thresholds: list[float]) -> list[tuple[str, dict]]:
    """(label, GenerationConfig values) of every fast variant."""
    out = []
    for combo in (c for c in fast.split(",") if c):
        switches = combo.replace("+", ",")
        if "cache" in combo.split("+"):
            out += [(f"{combo} @ {t:g}", fast_settings(switches, t)) for t in thresholds]
        else:
            out.append((combo, fast_settings(switches)))
    return out


def compare(fast, exact) -> dict:
    """Metrics of one fast result against the exact result of the same input."""
    video, ref = fast.video.float(), exact.video.float()
    weights = solid_angle_weights(video.shape[-2], video.shape[-1]).to(video)
    row = {"psnr_db": float(psnr(video, ref, weights).mean()), "ssim": float(ssim(video, ref).mean()),
           "seam_discontinuity_change": discontinuity_score(video) - discontinuity_score(ref),
           "cache_reused": sum(v for k, v in fast.info.items() if k.endswith("_cache_reused"))}
    if fast.depth is not None and exact.depth is not None:
        ok = torch.isfinite(fast.depth) & torch.isfinite(exact.depth) & (fast.depth > 0) & (exact.depth > 0)
        row["depth_abs_log_ratio"] = float((fast.depth[ok].log() - exact.depth[ok].log()).abs().mean())
    return row


def summarize(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "—"
    mean = statistics.fmean(finite)
    spread = statistics.pstdev(finite) if len(finite) > 1 else 0.0
    return f"{mean:.4g} ± {spread:.2g}"


def full_size_estimate(bench: dict, reused: float, fp8: bool) -> float | None:
    """Seconds of a full-size 35-step single round on the card of a ``bench/generate.py`` JSON with ``reused``
    evaluations reused: the exact round minus its sampling, plus (36 - reused) full and ``reused`` reused
    evaluations at that run's measured step times (compiled when it compiled)."""
    cases = bench.get("cases", {})
    steps = cases.get("steps", {})
    exact = next((r for r in cases.get("single", {}).get("rows", []) if r.get("steps") == 35), None)
    kind = "compiled" if "step_compiled_bf16_s" in steps else "eager"
    full, reuse = steps.get(f"step_{kind}_{'fp8' if fp8 else 'bf16'}_s"), steps.get("step_reused_s")
    if exact is None or full is None or reuse is None:
        return None
    return exact["total_s"] - exact["sampling_s"] + (36 - reused) * full + reused * reuse


def _inputs(meta: dict) -> str:
    asked = meta.get("inputs_asked", meta["inputs"])
    return str(meta["inputs"]) if asked == meta["inputs"] else f"{meta['inputs']} (of {asked} asked; budget)"


def render_markdown(meta: dict, table: dict, bench: dict | None = None) -> str:
    lines = ["", f"### Fast-mode quality: {meta['model']} on {meta['device']} ({meta['date']})", "",
             f"`{meta['command']}` — {_inputs(meta)} held-out synthetic worlds (seeds {meta['seed_start']} …), "
             f"{meta['steps']} steps, each fast run against the exact run of the same input and seed (mean ± std "
             "over the inputs; PSNR / SSIM of identical videos would be capped / 1).", "",
             "| variant | evaluations reused | PSNR vs exact (dB) | SSIM vs exact | seam discontinuity change | "
             f"depth mean abs log ratio | time / exact ({meta['device']}) | full-size round on "
             f"{(bench or {}).get('meta', {}).get('device', '—')} (estimate) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, rows in table.items():
        col = lambda key: summarize([r[key] for r in rows if key in r])  # noqa: E731
        reused = statistics.fmean([r["cache_reused"] for r in rows]) if rows else 0.0
        estimate = full_size_estimate(bench or {}, reused * 35 / max(1, meta["steps"]), "fp8" in label)
        lines.append(f"| {label} | {col('cache_reused')} | {col('psnr_db')} | {col('ssim')} | "
                     f"{col('seam_discontinuity_change')} | {col('depth_abs_log_ratio')} | {col('time_ratio')} | "
                     f"{'—' if estimate is None else f'{estimate:.1f} s'} |")
    if bench:
        lines += ["", "The estimate takes the exact full-size round of that `bench/generate.py` run and replaces its "
                  "sampling by the measured full and reused evaluation times at this reuse count (scaled to 36 "
                  "evaluations)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder or weights root (as `generate --model`); "
                        "required unless --from-json")
    parser.add_argument("--device", default=None, help="torch device (default cuda if available, else cpu)")
    parser.add_argument("--inputs", type=int, default=12, help="held-out synthetic inputs (>= 12 for the docs)")
    parser.add_argument("--seed-start", type=int, default=SEED_START, help="scene seed of the first input")
    parser.add_argument("--fast", default="cache,fp8,cache+fp8", help="comma list of switch sets (cache, fp8; "
                        "join with + to combine)")
    parser.add_argument("--thresholds", default="0.05,0.08,0.12", help="cache thresholds to compare")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the model's)")
    parser.add_argument("--chained", action="store_true", help="two rounds (compares the final videos)")
    parser.add_argument("--render-size", default="512x1024", help="ERP size the inputs are rendered at (HxW)")
    parser.add_argument("--fov", type=float, default=90.0, help="horizontal field of view of the input, degrees")
    parser.add_argument("--compile", action="store_true", help="torch.compile the transformer blocks")
    parser.add_argument("--bench-json", default=None, help="a `bench/generate.py --out-json` file: estimate the "
                        "full-size round time on its card at the reuse counts measured here")
    parser.add_argument("--budget-s", type=float, default=None, help="wall-clock budget in seconds (from the "
                        "start, loading included): no input after the first starts unless one more (at the mean "
                        "time per input so far) fits; the table says how many inputs ran")
    parser.add_argument("--out-json", default=None, help="write every per-input row here (after every input)")
    parser.add_argument("--out-md", default=None, help="append the summary table to this Markdown file")
    parser.add_argument("--from-json", default=None, help="only render this saved --out-json file (with "
                        "--bench-json, --out-md)")
    args = parser.parse_args(argv)
    bench = json.loads(Path(args.bench_json).read_text()) if args.bench_json else None
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        return _emit(render_markdown(saved["meta"], saved["rows"], bench), args.out_md)
    if args.model is None:
        parser.error("give --model MODEL_FOLDER (or --from-json)")
    budget = Budget(args.budget_s)
    thresholds = [float(t) for t in args.thresholds.split(",") if t]
    pipe = PanoWorldPipeline.from_pretrained(args.model, device=args.device, compile=args.compile)
    overrides = {"num_steps": args.steps, "chained": args.chained, "fov_x": args.fov}
    base = pipe.source.generation_config(**overrides)
    inputs = synth_inputs(args.inputs, args.seed_start, render_size=parse_hw(args.render_size),
                          persp=(base.persp_height, base.persp_width), fov=args.fov)
    table: dict[str, list[dict]] = {label: [] for label, _ in variants(args.fast, thresholds)}
    meta = {"model": args.model, "device": machine_name(pipe.device), "inputs": 0, "inputs_asked": args.inputs,
            "seed_start": args.seed_start, "steps": base.num_steps, "date": datetime.datetime.now(
                datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "command": "python bench/fast_quality.py " +
            " ".join(sys.argv[1:] if argv is None else argv)}
    pipe(inputs[0]["image"], inputs[0]["prompt"], None, base.replace(num_steps=1, chained=False))  # warm-up
    setup_s = budget.elapsed()
    for done, item in enumerate(inputs):
        if done and not budget.fits((budget.elapsed() - setup_s) / done):
            print(json.dumps({"stopped": f"budget: {done} of {args.inputs} inputs"}), flush=True)
            break
        cfg = base.replace(seed=item["seed"] % 2**32)
        start = time.perf_counter()
        exact = pipe(item["image"], item["prompt"], None, cfg)
        exact_s = time.perf_counter() - start
        for label, values in variants(args.fast, thresholds):
            start = time.perf_counter()
            fast = pipe(item["image"], item["prompt"], None, cfg.replace(**values))
            row = {"input": item["name"], **compare(fast, exact), "time_ratio": (time.perf_counter() - start) / exact_s}
            table[label].append(row)
            print(json.dumps({label: row}), flush=True)
        meta["inputs"] = done + 1
        if args.out_json:  # after every input: a run stopped from outside keeps what it measured
            Path(args.out_json).write_text(json.dumps({"meta": meta, "rows": table}, indent=1))
    _emit(render_markdown(meta, table, bench), args.out_md)


def _emit(markdown: str, out_md: str | None) -> None:
    print(markdown)
    if out_md:
        append_markdown(out_md, markdown)


if __name__ == "__main__":
    main()
