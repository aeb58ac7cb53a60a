"""Held-out evaluation of the shipped small PanoWorld and the paper's ablation (equirect vs linear RoPE x geometry
losses on vs off) on exact synthetic ground truth, with ``panoworld synth`` and ``panoworld eval`` only.

    python bench/small_ablation.py --out runs/small_eval --variants-root ABLATION_DIR --jobs 2 \\
        --sheet docs/images/small_contact_sheet.png --out-md small_eval.md

``ABLATION_DIR`` holds one model folder per variant (``main``, ``linear``, ``nogeo``, ``linear-nogeo``), as
``scripts/train_small_model.py --pack`` writes them (``<variant>.tar`` + ``components.tar``). Stages (each resumes:
``panoworld synth`` and ``panoworld eval`` keep finished clips):

1. ``synth``: the held-out split ``smallheldout``: ``--clips`` clips, 128x256, 33 frames at 16 fps, every frame
   annotated (exact depth, 16x16 tracks, camera), split seed ``--seed`` (default 4,000,000: outside training
   1,000,000-1,999,999, validation 2,000,000-2,999,999, ``bench/fast_quality.py``'s 3,000,000+ and every test
   seed, which stay below 1,000,000). Scene seeds are drawn from the split
   seed; the stage checks that none of them is a scene of the training or validation splits.
2. ``infer``: ``panoworld eval infer`` of the shipped model (``--model``, default settings) with ``oracle``,
   ``static``, ``fov-only`` on every clip, and of each variant on the first ``--ablation-clips`` clips with
   ``--ablation-steps`` steps and ``--ablation-frames`` frames (the same for all four); up to ``--jobs`` processes
   at once (the shipped model in ``--jobs`` shards).
3. ``score``: ``panoworld eval run`` (``--jobs`` at once) with no learned network (``--annotate none``: depth
   comes from the model's depth head; tracks and camera need the annotators and are NaN with the reason) on a
   clock of the videos' own length, then ``panoworld eval report`` for the shipped model and for the four
   variants together.
4. ``summary``: the headline numbers (seam discontinuity ratio to the GT's, depth-head AbsRel after median
   alignment, full-reference metrics vs ``fov-only``) and the ablation table, each mean +- 95 % CI (Student t
   over clips), written to ``<out>/summary.md`` (and appended to ``--out-md``); ``--sheet`` draws a contact sheet
   (input crop on the sphere, generated frames, ground-truth frames).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import mean_ci, ratio_of_means

VARIANTS = ("main", "linear", "nogeo", "linear-nogeo")
SPLIT = "smallheldout"
NO_NETWORKS = ["--lpips", "none", "--clip", "none", "--inception", "none", "--video-model", "none",
               "--autoencoder", "none", "--annotate", "none"]
#: (metric, title, format) of the ablation table.
ABLATION_METRICS = (("seam/discontinuity", "seam disc.", ".3f"), ("seam/discontinuity_gap", "seam disc. gap", ".3f"),
                    ("psnr/pole", "PSNR pole (dB)", ".2f"), ("ssim/pole", "SSIM pole", ".3f"),
                    ("depth/abs_rel/raw@median", "depth-head AbsRel@median", ".3f"),
                    ("depth/abs_rel/pole", "depth AbsRel pole", ".3f"),
                    ("consistency/depth_temporal_cv", "depth temporal CV", ".3f"),
                    ("temporal/flicker_gap", "flicker gap", ".4f"), ("temporal/motion_gap", "motion gap", ".4f"),
                    ("psnr/erp_sw", "PSNR sw (dB)", ".2f"), ("ssim/erp_sw", "SSIM sw", ".3f"))
#: Metric families reported as NaN with the reason when no variant has a value (they need the annotators).
NAN_FAMILIES = ("tracks/", "camera/", "temporal/warp_error")
VISUAL = ("psnr/erp", "psnr/erp_sw", "psnr/views", "psnr/pole", "ssim/erp", "ssim/erp_sw", "ssim/views", "ssim/pole")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def panoworld(*args: str, logfile: Path | None = None) -> None:
    """Run ``python -m panoworld ARGS`` (output to ``logfile`` when given); raise on failure."""
    cmd = [sys.executable, "-m", "panoworld", *args]
    log(" ".join(cmd))
    if logfile is None:
        code = subprocess.call(cmd)
    else:
        with open(logfile, "a") as fh:
            code = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if code != 0:
        raise SystemExit(f"failed (exit {code}): {' '.join(cmd)}" + (f"; log {logfile}" if logfile else ""))


def check_scene_seeds(clips: int, seed: int) -> None:
    """Fail when a held-out scene seed is also a scene of the training splits (up to 16 sub-splits of up to 32
    clips: ``scripts/train_small_model.py``'s 12 x 32 and 15 x 26 layouts, a split's first clips being those of a
    shorter one) or the validation splits or of the VAE's training and held-out scenes."""
    from panoworld.synth.dataset import plan_split

    held = {p.seed for p in plan_split(clips, seed)}
    train = {p.seed for i in range(16) for p in plan_split(32, 1_000_000 + 10_000 * i)}
    train |= {p.seed for p in plan_split(64, 2_000_000)}
    train |= set(range(1_000_000, 1_000_256)) | set(range(2_000_000, 2_000_064))  # the VAE's scenes (direct seeds)
    if held & train:
        raise SystemExit(f"held-out scene seeds {sorted(held & train)} are also training/validation scenes")
    log(f"{len(held)} held-out scene seeds, none among {len(train)} training/validation scenes")


def stage_synth(args) -> Path:
    check_scene_seeds(args.clips, args.seed)
    data = args.out / "data"
    panoworld("synth", "--out", str(data), "--clips", str(args.clips), "--frames", "33", "--size", "128x256",
              "--ann-frames", "0", "--grid", "16", "--seed", str(args.seed), "--split-name", SPLIT,
              "--threads", str(args.threads))
    with open(data / "master.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    subset = data / f"master_first{args.ablation_clips}.csv"
    with open(subset, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[:args.ablation_clips])
    return data


def _variant_config(args, variant: str) -> Path:
    path = args.out / "ablation" / f"{variant}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[panoworld]\nweights = "{(args.variants_root / variant).resolve()}"\n'
                    f"num_steps = {args.ablation_steps}\nnum_frames = {args.ablation_frames}\n")
    return path


def stage_infer(args) -> None:
    data, logs = args.out / "data", args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    master = str(data / "master.csv")
    jobs = [("infer", "--master", master, "--results", str(args.out / "shipped"), "--methods",
             "oracle,static,fov-only")]
    jobs += [("infer", "--master", master, "--results", str(args.out / "shipped"), "--methods", "panoworld",
              "--model", args.model, "--shard", f"{i}/{args.jobs}") for i in range(args.jobs)]
    subset = str(data / f"master_first{args.ablation_clips}.csv")
    jobs += [("infer", "--master", subset, "--results", str(args.out / "ablation" / v), "--methods", "panoworld",
              "--runner-config", str(_variant_config(args, v))) for v in args.variants]
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda i: panoworld("eval", *jobs[i], "--device", args.device,
                                          logfile=logs / f"infer{i:02d}.log"), range(len(jobs))))


def stage_score(args) -> None:
    """``eval run`` of the shipped model and of every variant (``--jobs`` at once), then the two reports."""
    data, logs = args.out / "data", args.out / "logs"
    shipped = args.out / "shipped"
    subset = str(data / f"master_first{args.ablation_clips}.csv")
    runs = [(("--master", str(data / "master.csv"), "--results", str(shipped), "--methods",
              "panoworld,oracle,static,fov-only", "--frames", "33"), logs / "run_shipped.log")]
    runs += [(("--master", subset, "--results", str(args.out / "ablation" / v), "--methods", "panoworld", "--frames",
               str(args.ablation_frames)), logs / f"run_{v}.log") for v in args.variants]
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda run: panoworld("eval", "run", *run[0], "--device", args.device, *NO_NETWORKS,
                                            logfile=run[1]), runs))
    panoworld("eval", "report", "--in", str(shipped / "results_long.csv"), "--out", str(shipped / "report"),
              "--methods", "panoworld,oracle,static,fov-only", logfile=logs / "report_shipped.log")
    rows, fields = [], None
    for v in args.variants:
        with open(args.out / "ablation" / v / "results_long.csv", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames
            rows += [{**r, "method": v} for r in reader]
    if fields is None:
        return
    combined = args.out / "ablation" / "results_long.csv"
    with open(combined, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    panoworld("eval", "report", "--in", str(combined), "--out", str(args.out / "ablation" / "report"),
              "--methods", ",".join(args.variants), logfile=logs / "report_ablation.log")


def per_clip(long_csv: Path, notes: dict | None = None) -> dict:
    """{(method, metric): {clip_id: value}} of the per-clip rows of a long CSV (finite values only); the notes of
    the NaN rows go into ``notes`` {metric: note} when given."""
    out: dict = {}
    with open(long_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            if not r["clip_id"]:
                continue
            value = float(r["value"]) if r["value"] not in ("", "nan", "NaN") else math.nan
            if math.isfinite(value):
                out.setdefault((r["method"], r["metric"]), {})[r["clip_id"]] = value
            elif notes is not None and r["note"]:
                notes[r["metric"]] = r["note"]
    return out


def _ratio_cell(stat: tuple[float, float, float, int]) -> str:
    ratio, lo, hi, n = stat
    if n == 0:
        return "n/a"
    return f"{ratio:.3f} [{lo:.3f}, {hi:.3f}] ({n})" if math.isfinite(lo) else f"{ratio:.3f} ({n})"


def rolled_discontinuity(video, turns: int = 8) -> list[float]:
    """Seam discontinuity of a (T, 3, H, W) ERP video rolled by k/turns of a turn, k = 1 … turns-1: what a generator
    whose seam is like any other column boundary, but whose content there differs from the truth's, would score."""
    import torch

    from panoworld.eval.metrics.panorama import discontinuity_score

    width = video.shape[-1]
    return [discontinuity_score(torch.roll(video, k * width // turns, dims=-1)) for k in range(1, turns)]


def seam_null(results: Path, clips: list[str]) -> dict[str, list[float]]:
    """{clip id: rolled_discontinuity of its ground-truth video} from the ``oracle`` method's videos of an ``eval
    infer`` results folder; empty when any video is missing."""
    from panoworld.formats.results import ResultsLayout
    from panoworld.formats.testset import clip_dirname, parse_clip_id
    from panoworld.io import read_video

    layout = ResultsLayout(results)
    paths = {c: layout.video("oracle", clip_dirname(*parse_clip_id(c))) for c in clips}
    if not paths or not all(p.is_file() for p in paths.values()):
        return {}
    return {c: rolled_discontinuity(read_video(p)) for c, p in paths.items()}


def _cell(stat: tuple[float, float, int], spec: str) -> str:
    mean, ci, n = stat
    if n == 0:
        return "n/a"
    return f"{mean:{spec}} ± {ci:{spec.lstrip('+')}} ({n})" if math.isfinite(ci) else f"{mean:{spec}} ({n})"


def summary(args) -> str:
    shipped = per_clip(args.out / "shipped" / "results_long.csv")
    clips = set(shipped.get(("panoworld", "seam/discontinuity"), {}))
    shipped = {k: {c: v for c, v in d.items() if c in clips} for k, d in shipped.items()}
    lines = [f"\n### Held-out synthetic split (seeds from {args.seed:,}; 128x256, 33 frames; {len(clips)} clips "
             "generated)\n", "Mean ± 95 % CI over clips (n clips), every method on the clips the shipped model "
             "generated; `panoworld` = the shipped small model at its defaults (15 steps, single round).\n"]
    seam_p, seam_g = shipped.get(("panoworld", "seam/discontinuity"), {}), shipped.get(("oracle",
                                                                                        "seam/discontinuity"), {})
    paired = [c for c in seam_p if c in seam_g and seam_g[c] > 0]
    ratio = mean_ci(seam_p[c] / seam_g[c] for c in paired)
    depth = mean_ci(shipped.get(("panoworld", "depth/abs_rel/raw@median"), {}).values())
    lines += [f"- seam discontinuity, generated ÷ ground truth's (goal 0.8–1.25): {_cell(ratio, '.3f')}",
              "- the same as one ratio of the split's means (paired bootstrap 95 % interval): "
              + _ratio_cell(ratio_of_means([seam_p[c] for c in paired], [seam_g[c] for c in paired]))]
    null = seam_null(args.out / "shipped", paired)
    if null:
        rolled = {c: sum(null[c]) / len(null[c]) for c in paired}
        per_clip_null = mean_ci(rolled[c] / seam_g[c] for c in paired)
        split_null = ratio_of_means([rolled[c] for c in paired], [seam_g[c] for c in paired])
        lines.append("- a seamless generator with other content at the seam (each ground truth rolled by 1/8 … 7/8 "
                     f"turn, `seam_null`): per clip {_cell(per_clip_null, '.3f')}, ratio of means "
                     f"{_ratio_cell(split_null)}")
    lines += [
              f"- depth from the head vs exact depth, AbsRel after median alignment (goal ≤ 0.20): "
              f"{_cell(depth, '.3f')}", "",
              "| metric | panoworld | fov-only | oracle | static | panoworld − fov-only (paired) |",
              "| --- | --- | --- | --- | --- | --- |"]
    for metric in VISUAL:
        cells = [_cell(mean_ci(shipped.get((m, metric), {}).values()), ".3f")
                 for m in ("panoworld", "fov-only", "oracle", "static")]
        p, f = shipped.get(("panoworld", metric), {}), shipped.get(("fov-only", metric), {})
        diff = mean_ci(p[c] - f[c] for c in p if c in f)
        lines.append(f"| {metric} | " + " | ".join(cells) + f" | {_cell(diff, '+.3f')} |")
    if not args.variants:
        return "\n".join(lines + [""])
    notes: dict = {}
    abl = per_clip(args.out / "ablation" / "results_long.csv", notes)
    lines += ["", f"### Ablation ({args.ablation_clips} clips, {args.ablation_frames} frames, {args.ablation_steps} "
              f"sampling steps for all {len(args.variants)})\n",
              "| variant | " + " | ".join(t for _, t, _ in ABLATION_METRICS) + " |",
              "| --- |" + " --- |" * len(ABLATION_METRICS)]
    for v in args.variants:
        lines.append(f"| {v} | " + " | ".join(_cell(mean_ci(abl.get((v, m), {}).values()), spec)
                                             for m, _, spec in ABLATION_METRICS) + " |")
    missing = sorted(m for m in notes if m.startswith(NAN_FAMILIES) and not any((v, m) in abl for v in args.variants))
    if missing:
        lines += ["", f"NaN for every variant: {', '.join(missing)} ({notes[missing[0]]})."]
    lines.append("")
    return "\n".join(lines)


def _header(labels: list[str], step: int, width: int, height: int = 14):
    """(3, height, width) white strip with ``labels`` at every ``step`` pixels (Pillow's default font)."""
    import numpy as np
    import torch
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, label in enumerate(labels):
        draw.text((i * step + 3, 1), label, fill="black")
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 255


def contact_sheet(args, path: Path, rows: int = 4, frames=(0, 16, 32)) -> None:
    """Input (the crop on the sphere, fov-only's frame 0), generated and ground-truth frames of the first clips."""
    import torch

    from panoworld.io import read_video, write_image

    shipped = args.out / "shipped"
    lines = []
    done = sorted(p.name for p in (shipped / "panoworld").iterdir() if (p / "method_run.json").is_file())
    for clip in done[:rows]:
        crop = read_video(shipped / "fov-only" / clip / "video.mp4", frame_indices=[0])
        gen = read_video(shipped / "panoworld" / clip / "video.mp4", frame_indices=list(frames))
        gt = read_video(shipped / "oracle" / clip / "video.mp4", frame_indices=list(frames))
        tiles = [crop[0], *gen, *gt]
        gap = torch.ones(3, tiles[0].shape[1], 4)
        lines.append(torch.cat([t for tile in tiles for t in (tile, gap)][:-1], dim=2))
    sep = torch.ones(3, 4, lines[0].shape[2])
    sheet = torch.cat([_header(["input", *(f"generated {f / 16:.1f} s" for f in frames),
                                *(f"ground truth {f / 16:.1f} s" for f in frames)], tiles[0].shape[2] + 4,
                               lines[0].shape[2]), *[t for line in lines for t in (line, sep)][:-1]], dim=1)
    write_image(path, sheet)
    log(f"contact sheet {path}: rows = clips; columns = input, generated frames {frames}, ground truth {frames}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="work folder (data/, shipped/, ablation/, logs/)")
    parser.add_argument("--variants-root", type=Path, required=True, help="folder of the four variant model folders")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of variants [all four]")
    parser.add_argument("--model", default="small", help="the evaluated shipped model (folder or 'small') [small]")
    parser.add_argument("--clips", type=int, default=24, help="held-out clips [24]")
    parser.add_argument("--seed", type=int, default=4_000_000, help="split seed of the held-out split [4000000]")
    parser.add_argument("--ablation-clips", type=int, default=24, help="first clips used for the ablation [24]")
    parser.add_argument("--ablation-steps", type=int, default=15, help="sampling steps of the variants [15]")
    parser.add_argument("--ablation-frames", type=int, default=33, help="frames (4k+1) of the variants [33]")
    parser.add_argument("--jobs", type=int, default=1, help="generation processes at once [1]")
    parser.add_argument("--device", default="cpu", help="torch device of generation and scoring, e.g. cuda [cpu]")
    parser.add_argument("--threads", type=int, default=2, help="render threads of panoworld synth [2]")
    parser.add_argument("--stages", default="synth,infer,score,summary", help="comma list of stages [all]")
    parser.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG to write (summary stage)")
    parser.add_argument("--out-md", type=Path, default=None, help="append the summary Markdown to this file")
    args = parser.parse_args(argv)
    args.variants = [v for v in args.variants.split(",") if v]
    if set(args.variants) - set(VARIANTS) or not 0 < args.ablation_clips <= args.clips or args.jobs < 1:
        parser.error(f"--variants from {', '.join(VARIANTS)}; 0 < --ablation-clips <= --clips; --jobs >= 1")
    stages = args.stages.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    if "synth" in stages:
        stage_synth(args)
    if "infer" in stages:
        stage_infer(args)
    if "score" in stages:
        stage_score(args)
    if "summary" in stages:
        text = summary(args)
        print(text)
        (args.out / "summary.md").write_text(text)
        (args.out / "summary.json").write_text(json.dumps(vars(args), default=str, indent=1))
        if args.out_md:
            with open(args.out_md, "a", encoding="utf-8") as fh:
                fh.write(text)
        if args.sheet:
            contact_sheet(args, args.sheet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
