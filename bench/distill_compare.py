"""Benchmark: a teacher and its few-step student on a held-out synth split, with the eval harness (CPU).

For each model (``<out>/teacher``, ``<out>/student``): ``eval infer`` of method ``panoworld`` with that model
folder (each with its own sampler: the teacher's many-step UniPC with CFG, the student's few steps without CFG;
the folder's resolution and length), ``eval run`` (seam, temporal and visual full-reference metrics, and the depth
head's prediction against the synth depth; networks that are not installed are left out, as `eval run` does).
Then one long CSV with the methods named ``teacher`` and ``student``, ``eval report`` on it (tables with 95 % CIs
in ``<out>/report/report.md``), and a summary: each metric's mean per model, and the CPU generation seconds per
clip (median over clips; the first clip also loads the model) with the student's speed-up.

    panoworld synth --out data/synth-heldout --clips 16 --frames 33 --size 128x256 --seed 4000 \\
        --ann-frames 0 --grid 16 --split-name heldout
    python bench/distill_compare.py --teacher runs/tiny-synth --student models/panoworld-small-4step \\
        --master data/synth-heldout/master.csv --out results/distill-small --out-md docs/benchmarks.md

Re-running resumes (finished clips are skipped, as in ``eval infer`` / ``eval run``).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import statistics
import sys
from pathlib import Path

import torch
from _common import append_markdown, machine_name

from panoworld.errors import InputError

LABELS = ("teacher", "student")
METHOD = "panoworld"


def model_folder(reference: str) -> str:
    """A model folder, or a training run folder's newest checkpoint."""
    from panoworld.train.distill import resolve_teacher

    return resolve_teacher(reference)


def run_model(label: str, folder: str, clips, out: Path, device: str, say) -> Path:
    """Generate and score one model's results; returns its long CSV."""
    from panoworld.eval.align import AlignConfig
    from panoworld.eval.evaluate import evaluate
    from panoworld.eval.infer import infer_methods
    from panoworld.eval.score import ScoreConfig

    results = out / label
    report = infer_methods(clips, results, [METHOD], runner_config={METHOD: {"weights": folder}}, device=device,
                           say=say)
    if report.failed:
        name, reason = next(iter(report.failed.items()))
        raise InputError(f"{label}: {len(report.failed)} clip(s) failed, first {name}: {reason}")
    frames = min(c.n_frames for c in clips)  # the clips' own length on their own clock
    cfg = ScoreConfig(align=AlignConfig(frames, clips[0].fps or 16.0), min_bucket=2, device=device)
    sources = {name: None for name in ("lpips", "clip", "inception", "video", "autoencoder")}
    evaluate(results, [METHOD], clips, clips, cfg, sources=sources, caption_style="medium",
             out=results / "results_long.csv", say=say)
    return results / "results_long.csv"


def merge(csvs: dict[str, Path], target: Path) -> list[dict]:
    """One long CSV of both models, method renamed to the model's label."""
    rows = []
    for label, path in csvs.items():
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows.append({**row, "method": label})
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def summarise(rows: list[dict]) -> dict:
    """{metric: {label: mean over clips}} of the per-clip rows, plus cost/seconds medians."""
    per: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        if not row["clip_id"] or row["bucket"]:
            continue
        try:
            value = float(row["value"])
        except ValueError:
            continue
        if value == value:
            per.setdefault(row["metric"], {}).setdefault(row["method"], []).append(value)
    out = {metric: {label: statistics.fmean(v) for label, v in values.items()} for metric, values in per.items()}
    seconds = per.get("cost/seconds", {})
    out["cost/seconds_median"] = {label: statistics.median(v) for label, v in seconds.items()}
    return out


def markdown(summary: dict, args, device: str) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    med = summary.get("cost/seconds_median", {})
    speed = med["teacher"] / med["student"] if med.get("student") else float("nan")
    lines = [f"\n### `bench/distill_compare.py` on {machine_name(device)} ({stamp})\n",
             f"Command: `python bench/distill_compare.py --teacher {args.teacher} --student {args.student} --master "
             f"{args.master} --out {args.out}`; torch {torch.__version__}. CPU generation: teacher "
             f"{med.get('teacher', float('nan')):.2f} s, student {med.get('student', float('nan')):.2f} s per clip "
             f"(median), student {speed:.1f}x faster. CIs: `{args.out}/report/report.md`.\n",
             "| metric | teacher | student |", "|---|---|---|"]
    for metric in sorted(summary):
        values = summary[metric]
        if set(LABELS) <= set(values):
            lines.append(f"| {metric} | {values['teacher']:.4g} | {values['student']:.4g} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", required=True, help="teacher model folder or training run folder")
    parser.add_argument("--student", required=True, help="student model folder or distillation run folder")
    parser.add_argument("--master", required=True, help="held-out split's master.csv")
    parser.add_argument("--out", required=True, help="results folder (one sub-folder per model, report/)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu for the CPU generation time)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from panoworld.eval.report import write_report
    from panoworld.formats.testset import read_master

    try:
        clips = read_master(Path(args.master))
        out = Path(args.out)
        folders = {"teacher": model_folder(args.teacher), "student": model_folder(args.student)}
        csvs = {label: run_model(label, folders[label], clips, out, args.device, print) for label in LABELS}
        rows = merge(csvs, out / "results_long.csv")
        write_report(out / "results_long.csv", out / "report", methods=list(LABELS), charts=False)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = summarise(rows)
    (out / "summary.json").write_text(json.dumps({"models": folders, "summary": summary}, indent=2) + "\n")
    text = markdown(summary, args, args.device)
    print(text)
    if args.out_md:
        append_markdown(args.out_md, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
