"""Retrain the shipped small PanoWorld on one GPU: data, VAE, cache, transformer and the paper's ablation variants.

    python scripts/train_small_model.py --out runs/small                       # the recipe of docs/small_model.md
    python scripts/train_small_model.py --out runs/small --variants main       # the shipped model only

Stages (each resumes: rendered clips, VAE checkpoints, cached clips and training checkpoints are kept):

1. ``synth``: training clips at 128x256, 33 frames, every frame annotated (exact depth, 16x16 tracks), rendered by
   ``--workers`` processes as sub-splits ``synthtrainNN`` with seeds 1,000,000 + 10,000 NN (disjoint from every
   test and evaluation seed, which stay below 1,000,000; validation uses 2,000,000+).
2. ``vae``: the small VAE (``panoworld.train.vae``, circular longitude padding) on the GPU for ``--vae-minutes``
   (runs while stage 1 renders), exported with its latent mean/std; its round trip is scored on held-out clips.
   ``--vae FOLDER`` skips it and uses an exported VAE instead (e.g. the shipped one, to retrain only the DiT).
3. ``cache``: ``panoworld train cache`` of the ``tiny-synth`` preset with that VAE, shared by ``--cache-workers``
   processes (each limited to its share of the CPU cores: the clips' projections run on the CPU).
4. ``train``: one process per variant, all at once on the one GPU, for ``--train-minutes`` each
   (``run.max_minutes``): ``main`` (equirect RoPE, depth + track losses: the shipped model), ``linear`` (linear
   RoPE), ``nogeo`` (lambda_depth = lambda_track = 0), ``linear-nogeo``; and ``periodic`` (our longitude-periodic
   RoPE, docs/rope.md; not part of the paper's ablation). Same data, steps budget and seed. ``--variant-set
   periodic:model.init=FOLDER`` fine-tunes that one variant from a trained transformer instead of from scratch.
5. Each variant's last checkpoint is a model folder (``<out>/runs/<variant>/checkpoints/step_*``);
   ``--pack DIR`` also writes ``<variant>.tar`` (model_index.json + transformer/) and ``components.tar`` there;
   with ``--equal-steps`` every variant is packed at the largest checkpointed step all of them reached, so the
   ablation compares equal numbers of steps even when the geometry losses make some variants slower.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

VARIANTS = {
    "main": [],
    "linear": ["model.transformer.rope_type=linear"],
    "nogeo": ["loss.depth_weight=0", "loss.track_weight=0", "loss.rigidity_weight=0"],
    "linear-nogeo": ["model.transformer.rope_type=linear", "loss.depth_weight=0", "loss.track_weight=0",
                     "loss.rigidity_weight=0"],
    "periodic": ["model.transformer.rope_type=periodic"],
}
TRAIN_SEED = 1_000_000
VAL_SEED = 2_000_000
SPLIT_SEED_STRIDE = 10_000


def per_variant_overrides(items: list[str], variants: list[str]) -> dict[str, list[str]]:
    """``["periodic:model.init=F", ...]`` -> ``{"periodic": ["model.init=F"]}``; every name must be a chosen variant."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, override = item.partition(":")
        if not sep or "=" not in override:
            raise SystemExit(f"--variant-set {item!r}: expected VARIANT:KEY=VALUE")
        if name not in variants:
            raise SystemExit(f"--variant-set {item!r}: {name!r} is not among --variants {','.join(variants)}")
        out.setdefault(name, []).append(override)
    return out


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def synth_commands(root: Path, workers: int, clips: int, val_clips: int) -> list[list[str]]:
    """One ``panoworld synth`` command per training sub-split, plus the validation split."""
    per = -(-clips // workers)
    common = ["--frames", "33", "--size", "128x256", "--ann-frames", "0", "--grid", "16", "--threads", "1"]
    cmds = [[sys.executable, "-m", "panoworld", "synth", "--out", str(root / f"train{i:02d}"),
             "--clips", str(min(per, clips - i * per)), "--seed", str(TRAIN_SEED + SPLIT_SEED_STRIDE * i),
             "--split-name", f"synthtrain{i:02d}", *common] for i in range(workers) if clips - i * per > 0]
    cmds.append([sys.executable, "-m", "panoworld", "synth", "--out", str(root / "val"), "--clips", str(val_clips),
                 "--seed", str(VAL_SEED), "--split-name", "synthval", *common])
    return cmds


def run_all(cmds: list[list[str]], *, env: dict, logs: Path, name: str) -> None:
    """Start every command at once (logs ``<logs>/<name>NN.log``); raise if any fails (with its log's tail)."""
    procs = []
    for i, cmd in enumerate(cmds):
        out = open(logs / f"{name}{i:02d}.log", "w")
        procs.append((subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env), out, i))
    failed = []
    for proc, out, i in procs:
        if proc.wait() != 0:
            failed.append(i)
        out.close()
    if failed:
        tail = (logs / f"{name}{failed[0]:02d}.log").read_text()[-2000:]
        raise SystemExit(f"{len(failed)} command(s) failed, first: {' '.join(cmds[failed[0]])}\n{tail}")


def train_vae_stage(out: Path, minutes: float, device: str, workers: int, scenes: int = 256,
                    eval_clips: int = 8) -> Path:
    """Train, export and score the small VAE; returns the exported folder."""
    import torch

    from panoworld.models.components import VideoVAE
    from panoworld.train.vae import VAETrainConfig, evaluate_vae, export_vae, heldout_clips, train_vae

    folder = out / "components" / "vae"
    cfg = VAETrainConfig(out_dir=str(out / "vae_run"), device=device, scenes=scenes, clip_frames=9, frames=5,
                         crop_height=0, batch_size=8, image_batch_size=32, steps=6000, lr=1e-3, warmup=200,
                         checkpoint_every=1000, log_every=100, render_workers=workers,
                         time_limit_s=60.0 * minutes)
    train_vae(cfg, log=lambda line: log(f"vae: {line}"))
    export_vae(cfg, folder)
    vae = VideoVAE.from_pretrained(folder, device=device, dtype=torch.float32)
    scores = evaluate_vae(vae, heldout_clips(eval_clips, frames=33))
    (out / "vae_eval.json").write_text(json.dumps(scores, indent=2) + "\n")
    log(f"vae: held-out round trip {scores}")
    return folder


def preset_overrides(out: Path, data_root: Path, vae: Path, splits: int = 0) -> list[str]:
    """``--set`` values shared by the cache and every variant (``splits`` > 0: only the first that many
    training sub-splits)."""
    train = sorted(p for p in data_root.glob("train*") if p.is_dir())[: splits or None]
    paths = ",".join(f'{{path = "{p}"}}' for p in train)
    return [f"data.train=[{paths}]", f'data.val=[{{path = "{data_root / "val"}"}}]',
            f"data.cache_dir={out / 'cache'}", f"components.vae={vae}", "validation.every=0",
            "model.export_dtype=bfloat16"]


def python_stage(code: str, args: list[str]) -> list[str]:
    return [sys.executable, "-c", code, *args]


CACHE_CODE = """
import sys, torch
from panoworld.train import load_config, build_cache
cfg = load_config("tiny-synth", sys.argv[3:])
i, n = int(sys.argv[1]), int(sys.argv[2])
build_cache(cfg, device=torch.device("cuda" if torch.cuda.is_available() else "cpu"),
            shard=None if n == 0 else (i, n))
"""

TRAIN_CODE = """
import sys
from panoworld.train import load_config, train
result = train(load_config("tiny-synth", sys.argv[1:]))
print("finished", result.step, result.checkpoint, flush=True)
"""


def equal_step_checkpoints(out: Path, variants: list[str]) -> dict[str, Path]:
    """Each variant's checkpoint at the largest step that every variant reached (empty if there is none)."""
    from panoworld.train.checkpoint import complete_checkpoints

    steps = {name: complete_checkpoints(out / "runs" / name) for name in variants}
    common = set.intersection(*(set(s) for s in steps.values())) if steps else set()
    if not common:
        return {}
    step = max(common)
    log(f"pack: equal steps, every variant at step {step} (reached: "
        + ", ".join(f"{n} {max(s, default=0)}" for n, s in steps.items()) + ")")
    return {name: steps[name][step] for name in variants}


def pack(out: Path, variants: list[str], dest: Path, *, equal_steps: bool = False) -> None:
    """``<variant>.tar`` (model_index.json with portable provenance paths + transformer/) per trained variant, and
    ``components.tar`` (the exported VAE, its held-out scores, every log and metrics file) into ``dest``; whatever
    exists (after a failure too). ``equal_steps``: every variant's checkpoint at the largest step all reached
    (none packed if there is no such step), else each one's latest."""
    from panoworld.formats.model_folder import portable_paths, read_model_index
    from panoworld.train.checkpoint import find_latest

    dest.mkdir(parents=True, exist_ok=True)
    chosen = equal_step_checkpoints(out, variants) if equal_steps else {}
    for name in variants:
        if equal_steps:
            ckpt = chosen.get(name)
        else:
            ckpt = find_latest(out / "runs" / name) if (out / "runs" / name).is_dir() else None
        if ckpt is None:
            log(f"pack: {name} has no checkpoint")
            continue
        index = read_model_index(ckpt)
        index.provenance = portable_paths(index.provenance)
        data = (json.dumps(index.to_json(), indent=2) + "\n").encode()
        with tarfile.open(dest / f"{name}.tar", "w") as tar:
            info = tarfile.TarInfo(f"{name}/model_index.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(ckpt / "transformer", arcname=f"{name}/transformer")
    with tarfile.open(dest / "components.tar", "w") as tar:
        for path in (out / "components" / "vae", out / "vae_eval.json", out / "logs"):
            if path.exists():
                tar.add(path, arcname=f"components/{path.name}")
        for name in variants:
            for path in sorted((out / "runs" / name).glob("*.json*")) if (out / "runs" / name).is_dir() else []:
                tar.add(path, arcname=f"logs/{name}/{path.name}")
    log(f"pack: wrote {sorted(p.name for p in dest.iterdir())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="work folder (data, VAE, cache, runs)")
    parser.add_argument("--clips", type=int, default=384, help="training clips")
    parser.add_argument("--val-clips", type=int, default=8, help="validation clips")
    parser.add_argument("--workers", type=int, default=12, help="synth processes (CPU cores)")
    parser.add_argument("--vae-minutes", type=float, default=2.5, help="VAE training budget, minutes")
    parser.add_argument("--vae", type=Path, default=None,
                        help="use this exported VAE folder instead of training one (stage 2 is skipped)")
    parser.add_argument("--vae-scenes", type=int, default=256, help="VAE training scenes (9 frames each)")
    parser.add_argument("--vae-eval-clips", type=int, default=8, help="held-out clips scoring the VAE round trip")
    parser.add_argument("--cache-workers", type=int, default=8, help="cache processes sharing the GPU")
    parser.add_argument("--train-minutes", type=float, default=4.0, help="training budget per variant, minutes")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--max-steps", type=int, default=6000, help="run.max_steps (the LR schedule's length)")
    parser.add_argument("--checkpoint-every", type=int, default=100000, help="run.checkpoint_every of each variant")
    parser.add_argument("--train-splits", type=int, default=0, help="train on the first N sub-splits (0 = all)")
    parser.add_argument("--reuse", action="store_true", help="skip stages 1-2 when their outputs exist")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="extra preset overrides k=v")
    parser.add_argument("--variant-set", dest="variant_extra", action="append", default=[], metavar="VARIANT:K=V",
                        help="an override for one variant only, applied last (e.g. periodic:model.init=FOLDER to "
                             "fine-tune that variant from a trained transformer, nogeo:run.max_steps=800)")
    parser.add_argument("--budget-minutes", type=float, default=0.0,
                        help="wall-clock budget of the whole script (0 = none): training is shortened to end 1 minute "
                             "before it, so packing still happens")
    parser.add_argument("--pack", type=Path, default=None, help="also write the tar files into this folder")
    parser.add_argument("--equal-steps", action="store_true",
                        help="pack every variant at the largest checkpointed step all of them reached (the ablation "
                             "at equal steps; use with a small --checkpoint-every and --set run.keep_checkpoints=N)")
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    args.per_variant = per_variant_overrides(args.variant_extra, variants)
    import torch

    args.started = time.monotonic()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out, data_root = args.out.resolve(), args.out.resolve() / "data"
    (out / "logs").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")

    if args.reuse and (out / "components" / "vae" / "config.json").is_file() and (data_root / "val").is_dir():
        log("reusing the rendered clips and the exported VAE of an earlier run (--reuse)")
        try:
            train_stages(args, out, data_root, out / "components" / "vae", variants, env)
        finally:
            if args.pack:
                pack(out, variants, args.pack, equal_steps=args.equal_steps)
        return
    log(f"stage 1+2: synth ({args.clips} clips, {args.workers} workers) while the VAE trains on {device}")
    synth = [subprocess.Popen(cmd, stdout=open(out / "logs" / f"synth{i:02d}.log", "w"), stderr=subprocess.STDOUT,
                              env=env) for i, cmd in enumerate(synth_commands(data_root, args.workers, args.clips,
                                                                              args.val_clips))]
    if args.vae is not None:
        vae = out / "components" / "vae"
        if not (args.vae / "config.json").is_file():
            raise SystemExit(f"--vae {args.vae}: not an exported VAE folder (no config.json)")
        shutil.rmtree(vae, ignore_errors=True)
        shutil.copytree(args.vae, vae)
        log(f"stage 2 skipped: using the VAE of {args.vae}")
    else:
        vae = train_vae_stage(out, args.vae_minutes, device, workers=max(2, 16 - args.workers),
                              scenes=args.vae_scenes, eval_clips=args.vae_eval_clips)
    log("stage 2 done; waiting for synth")
    if any(p.wait() != 0 for p in synth):
        raise SystemExit(f"synth failed; see {out / 'logs'}")
    try:
        train_stages(args, out, data_root, vae, variants, env)
    finally:
        if args.pack:
            pack(out, variants, args.pack, equal_steps=args.equal_steps)
    log("done")


def train_stages(args, out: Path, data_root: Path, vae: Path, variants: list[str], env: dict) -> None:
    """Stages 3 (cache, sharded, then joined) and 4 (every variant at once)."""
    log("stage 3: cache")
    common = preset_overrides(out, data_root, vae, args.train_splits) + args.extra
    shards = max(1, args.cache_workers)
    threads = str(max(1, (os.cpu_count() or 1) // shards))
    shard_env = dict(env, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    run_all([python_stage(CACHE_CODE, [str(i), str(shards), *common]) for i in range(shards)], env=shard_env,
            logs=out / "logs", name="cache")
    log("stage 3: shards done; joining")
    run_all([python_stage(CACHE_CODE, ["0", "0", *common])], env=env, logs=out / "logs", name="cache_join")
    if args.budget_minutes:
        left = args.budget_minutes - (time.monotonic() - args.started) / 60.0 - 1.0
        args.train_minutes = max(0.5, min(args.train_minutes, left))
    log(f"stage 4: train {variants} for {args.train_minutes:.2f} min each")
    cmds = []
    for name in variants:
        cmds.append(python_stage(TRAIN_CODE, [*common, *VARIANTS[name], f"run.out_dir={out / 'runs' / name}",
                                              f"run.max_minutes={args.train_minutes}", f"run.max_steps={args.max_steps}",
                                              f"run.checkpoint_every={args.checkpoint_every}", "logging.progress=false",
                                              *args.per_variant.get(name, [])]))
    run_all(cmds, env=env, logs=out / "logs", name="train_")


if __name__ == "__main__":
    main()
