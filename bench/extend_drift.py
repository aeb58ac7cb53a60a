"""The drift report of a long video of a model: ``panoworld generate --seconds S`` then ``panoworld eval extension``,
summarised as Markdown (the table of docs/generate.md, "Long videos").

    python bench/extend_drift.py --model src/panoworld/assets/small_model --seconds 20 --out results/long_small \\
        --out-md results/long_small/drift.md                 # the small model, CPU, a few minutes

Steps (the video is made again on every run, ``--force``):

1. ``panoworld generate`` of the bundled sample room (``assets/sample_room_persp.png``, its medium caption, the
   model's own resolution, length, sampler and step count) for ``--seconds`` with ``--seed`` into ``<out>/video``;
2. ``panoworld eval extension <out>/video`` (rounds from its ``run.json``, depth from its ``depth.npz``; no
   annotators unless ``--annotate``) into ``<out>/video/extension``;
3. a summary: generation seconds, frames and rounds; per round the colour, sharpness, seam, pole and depth
   metrics; per junction the boundary-jump score (about 1 = invisible, well above 1 = a visible cut); the
   degradation ratio last / first round of every metric. Printed, written to ``<out>/drift_summary.md`` and
   ``--out-md`` (appended) when given.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from importlib import resources
from pathlib import Path

#: Metrics of the per-round table: (report name, column title, format).
TABLE = (("colour/luma_mean", "luma mean", ".3f"), ("sharpness/laplacian", "sharpness", ".3g"),
         ("seam/discontinuity", "seam disc.", ".3g"), ("poles/sharpness_ratio", "pole sharpness ratio", ".3f"),
         ("depth/mean_m", "depth mean (m)", ".3f"))


def _fmt(value, spec: str) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else format(value, spec)


def generate(model: str, out: Path, seconds: float, seed: int, device: str, prompt: str | None) -> float:
    """Run ``panoworld generate`` in this process; returns its wall seconds."""
    from panoworld.cli import main as cli

    assets = resources.files("panoworld") / "assets"
    meta = json.loads((assets / "sample_room.json").read_text())
    text = prompt or meta["captions"]["medium"]
    start = time.perf_counter()
    code = cli(["generate", str(assets / "sample_room_persp.png"), "-p", text, "--model", model, "--seconds",
                str(seconds), "--seed", str(seed), "--device", device, "--out", str(out), "--force"])
    if code != 0:
        raise SystemExit(f"panoworld generate failed (exit {code})")
    return time.perf_counter() - start


def summary(report: dict, meta: dict) -> str:
    """Markdown of the drift report ``report`` (``formats.drift_report``) and the run ``meta``."""
    m = report["metrics"]
    rounds = len(m["colour/luma_mean"]["per_round"])
    lines = [f"\n### Drift of a {meta['seconds']:g} s video: {meta['model_name']} ({meta['date']})\n",
             f"`{meta['command']}` on {meta['machine']}: {report['frames']} frames at {report['fps']:g} fps, "
             f"{rounds} rounds (junctions at frames {', '.join(str(j['frame']) for j in report['junctions'])}), "
             f"generated in {meta['generate_s']:.1f} s (model load included); depth: {report['depth']['source']}.\n",
             "| round | " + " | ".join(title for _, title, _ in TABLE) + " |",
             "| --- |" + " --- |" * len(TABLE)]
    for r in range(rounds):
        lines.append(f"| {r + 1} | " + " | ".join(_fmt(m[name]["per_round"][r], spec) for name, _, spec in TABLE)
                     + " |")
    lines.append("| last / first | " + " | ".join(_fmt(m[name]["degradation_ratio"], ".3f") for name, _, _ in TABLE)
                 + " |")
    jumps = ", ".join(f"{j['time_s']:.2f} s: {_fmt(j['boundary_jump'], '.2f')}" for j in report["junctions"])
    lines += ["", f"Boundary jump at each junction (about 1 = invisible): {jumps or 'none (one round)'}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder (e.g. src/panoworld/assets/small_model)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (video/, drift_summary.md)")
    parser.add_argument("--seconds", type=float, default=20.0, help="video length, seconds")
    parser.add_argument("--seed", type=int, default=0, help="generation seed")
    parser.add_argument("--device", default="cpu", help="torch device of the generation, e.g. cpu or cuda")
    parser.add_argument("--prompt", default=None, help="prompt [default: the sample room's medium caption]")
    parser.add_argument("--annotate", action="store_true", help="run the DAP / CoTracker3 annotators when installed")
    parser.add_argument("--out-md", default=None, help="append the summary to this Markdown file")
    args = parser.parse_args(argv)
    import datetime

    import torch

    from panoworld.eval.extension import run_extension_eval
    from panoworld.eval.extension_geometry import GeometrySettings
    from panoworld.io.atomic import atomic_write_text

    video = args.out / "video"
    seconds = generate(args.model, video, args.seconds, args.seed, args.device, args.prompt)
    report, _ = run_extension_eval(video, geometry=GeometrySettings(annotate=args.annotate, device=args.device))
    machine = f"{torch.cuda.get_device_name()}" if args.device.startswith("cuda") else \
        f"CPU ({torch.get_num_threads()} threads)"
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "model_name": Path(args.model).name, "seconds": args.seconds, "generate_s": seconds, "machine": machine,
            "command": " ".join(["python bench/extend_drift.py", *(argv if argv is not None else sys.argv[1:])])}
    text = summary(report, meta)
    print(text)
    atomic_write_text(args.out / "drift_summary.md", text)
    if args.out_md:
        with open(args.out_md, "a", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
