"""Benchmark: the depth head on the true world vs on the model's own generations (a synth split; CPU or GPU).

The eval harness scores the depth head's prediction made while *generating*: outside the input view the model
invents the layout, so that score mixes the head's accuracy with how far the generation agrees with an unseen
truth. This bench separates the two on the same clips, at the training cache's latent grid (solid-angle weighted,
sky excluded; AbsRel and delta1 of ``eval.metrics.depth``, raw metres and median-aligned):

- ``generated``: the head at the last evaluation of a generation from noise (UniPC on the Karras schedule,
  ``--steps`` steps, CFG ``--guidance``; the same Round-1 inputs as ``train.validation`` and inference);
- ``truth@t``: the head evaluated once on the clip's own latent noised to flow time t
  (``train.validation.head_depth_on_truth``); t = 0.0099 is the time of a generation's last evaluation.

The split is cached once with the model's own VAE, text and image encoders (``train.cache``, the ``tiny-synth``
preset's Round-1 view draw), so the head sees exactly the inputs it was trained on.

    python bench/head_depth.py --model src/panoworld/assets/small_model --split data/synth-heldout \\
        --out results/head_depth --clips 24

Per-clip rows go to ``<out>/rows.jsonl`` (a re-run skips finished clips; a different model or setting starts the
rows afresh), the table to ``<out>/summary.md`` (and ``--out-md``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import torch
from _common import append_markdown, machine_name, mean_ci

from panoworld.errors import InputError

METRICS = (("depth/abs_rel/raw@median", "AbsRel@median"), ("depth/delta1/raw@median", "δ1@median"),
           ("depth/abs_rel/raw", "AbsRel (metres)"))


def cache_config(model: Path, split: Path, out: Path):
    """The ``tiny-synth`` preset with the split as its only source and the model's own encoders."""
    from panoworld.train import load_config

    sets = [f"data.train=[{{path = '{split}'}}]", "data.val=[]", f"data.cache_dir={out / 'cache'}",
            "validation.every=0"]
    sets += [f"components.{slot}={(model / slot).resolve()}" for slot in ("vae", "text_encoder", "image_encoder")]
    return load_config("tiny-synth", sets)


def settings_key(args) -> str:
    """Identity of everything that changes a row (a changed one discards the old rows)."""
    from panoworld.pipelines.record import fingerprint

    weights = fingerprint(str(args.model / "transformer"))["sha256_head_tail"]
    return json.dumps({"model": weights[:16], "times": args.times, "steps": args.steps,
                       "guidance": args.guidance, "caption_style": args.caption_style}, sort_keys=True)


def clip_row(model, cache, name: str, index: int, args, negative, device) -> dict:
    """Scores of one clip: {"clip", "seconds", "<mode>/<metric>": value}."""
    from panoworld.eval.metrics.depth import DepthMetrics
    from panoworld.pipelines.guidance import GuidedDenoiser
    from panoworld.pipelines.sampler import sample
    from panoworld.pipelines.schedule import karras_flow_schedule
    from panoworld.train.validation import head_depth_on_truth, round1_inputs, score_head_depth

    start = time.perf_counter()
    entry = cache.entry(name)
    target = entry.depth()
    if target is None:
        raise InputError(f"clip {name} has no depth annotation in the cache")
    inputs, x0 = round1_inputs(entry, cache, args.caption_style, negative, index, device)
    row = {"clip": name}
    if args.steps > 0:
        denoiser = GuidedDenoiser(model, inputs, karras_flow_schedule(args.steps), guidance=args.guidance,
                                  compute_dtype=next(model.parameters()).dtype, want_depth=True)
        sample(denoiser, inputs.noise, denoiser.schedule)
        row.update({f"generated/{k}": v for k, v in score_head_depth(DepthMetrics(), denoiser.depth, target).items()})
    for t in args.times:
        depth = head_depth_on_truth(model, inputs, x0, t)
        row.update({f"truth@{t:g}/{k}": v for k, v in score_head_depth(DepthMetrics(), depth, target).items()})
    row["seconds"] = time.perf_counter() - start
    return row


def summary(rows: list[dict], args) -> str:
    modes = (["generated"] if args.steps > 0 else []) + [f"truth@{t:g}" for t in args.times]
    lines = [f"#### Depth head: on the true world vs on its own generations ({len(rows)} clips)", "",
             "| head input | " + " | ".join(title for _, title in METRICS) + " |",
             "| --- |" + " --- |" * len(METRICS)]
    for mode in modes:
        cells = []
        for key, _ in METRICS:
            mean, ci, n = mean_ci(r[f"{mode}/{key}"] for r in rows if f"{mode}/{key}" in r)
            cells.append(f"{mean:.3f} ± {ci:.3f} ({n})" if n else "n/a")
        label = (f"generated ({args.steps} steps, CFG {args.guidance:g}, from noise)" if mode == "generated"
                 else f"clip's own latent at t = {mode.split('@')[1]}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if args.steps > 0 and args.times:
        t = f"truth@{args.times[0]:g}"
        key = METRICS[0][0]
        diff = mean_ci(r[f"generated/{key}"] - r[f"{t}/{key}"] for r in rows
                       if f"generated/{key}" in r and f"{t}/{key}" in r)
        lines += ["", f"Paired, generated − own latent at t = {args.times[0]:g}: AbsRel@median "
                      f"{diff[0]:+.3f} ± {diff[1]:.3f} ({diff[2]} clips)."]
    seconds = sorted(r["seconds"] for r in rows)
    lines += ["", f"Measured {datetime.date.today()} on {machine_name(args.device)} (median "
                  f"{seconds[len(seconds) // 2]:.1f} s a clip): `python bench/head_depth.py --model {args.model_arg} "
                  f"--split SPLIT --clips {args.clips} --times {','.join(f'{t:g}' for t in args.times)}`", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("src/panoworld/assets/small_model"),
                        help="a small-model folder (transformer/ with a depth head, vae/, text_encoder/, image_encoder/)")
    parser.add_argument("--split", type=Path, required=True, help="a panoworld synth split with depth annotations")
    parser.add_argument("--out", type=Path, required=True, help="work folder: cache/, rows.jsonl, summary.md")
    parser.add_argument("--clips", type=int, default=24, help="the first N clips of the split")
    parser.add_argument("--times", default="0.0099,0.1,0.3",
                        help="comma-separated flow times in (0, 1) at which the head sees the clip's own latent")
    parser.add_argument("--steps", type=int, default=15, help="sampling steps of the generated mode (0 = skip it)")
    parser.add_argument("--guidance", type=float, default=7.0, help="CFG weight of the generated mode")
    parser.add_argument("--caption-style", default="long", help="caption style of the text input (long/medium/short)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--out-md", type=Path, default=None, help="also append the table to this markdown file")
    args = parser.parse_args()
    try:
        args.times = [float(t) for t in args.times.split(",") if t.strip()]
    except ValueError:
        sys.exit(f"error: --times must be comma-separated numbers, got {args.times!r}")
    if any(not 0.0 < t < 1.0 for t in args.times) or args.clips < 1 or args.steps < 0:
        sys.exit("error: --times must lie in (0, 1), --clips >= 1, --steps >= 0")
    if not (args.model / "transformer").is_dir():
        sys.exit(f"error: {args.model} has no transformer/ folder")
    torch.set_num_threads(args.threads)
    try:
        run(args)
    except InputError as exc:
        sys.exit(f"error: {exc}")


def run(args) -> None:
    from panoworld.models import load_transformer
    from panoworld.train.cache import NEGATIVE, TrainCache, build_cache

    device = torch.device(args.device)
    args.model_arg = str(args.model)
    args.model, args.split, out = args.model.resolve(), args.split.resolve(), args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cfg = cache_config(args.model, args.split, out)
    build_cache(cfg, device=device, say=lambda line: print(f"cache: {line}", flush=True),
                progress=lambda done, total: print(f"cache: {done}/{total} clips", flush=True))
    cache = TrainCache.open(cfg)
    names = cache.names("train")[: args.clips]
    key = settings_key(args)
    rows_path = out / "rows.jsonl"
    rows = []
    if rows_path.is_file():
        kept = [json.loads(line) for line in rows_path.read_text().splitlines() if line.strip()]
        rows = [r for r in kept if r.get("settings") == key and r["clip"] in names]
    rows_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = {r["clip"] for r in rows}
    model = load_transformer(str(args.model / "transformer"), dtype=torch.float32).to(device).eval()
    if not getattr(model, "has_depth_head", False):
        raise InputError(f"{args.model}'s transformer has no depth head")
    negative = cache.text(NEGATIVE).float()[None].to(device)
    for index, name in enumerate(names):
        if name in done:
            continue
        row = dict(clip_row(model, cache, name, index, args, negative, device), settings=key)
        rows.append(row)
        with open(rows_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"[{len(rows)}/{len(names)}] {name}: " + ", ".join(
            f"{k.split('/')[0]} {v:.3f}" for k, v in row.items() if k.endswith("abs_rel/raw@median")), flush=True)
    text = summary(rows, args)
    (out / "summary.md").write_text(text)
    print(text)
    if args.out_md is not None:
        append_markdown(args.out_md, text)


if __name__ == "__main__":
    main()
