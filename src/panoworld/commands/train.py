"""``panoworld train``: train a PanoWorld transformer (``--config``), precompute its cache (``train cache``), or
distil it into a few-step student (``train distill``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from panoworld.errors import InputError

from ._common import parse_shard, progress_bar, say
from ._options import APP_SETTINGS, check_writable

__all__ = ["app"]

app = typer.Typer(
    help="Training. `panoworld train --config PRESET_OR_FILE [--set key=value ...]` trains (resuming the newest "
    "checkpoint in run.out_dir); `panoworld train cache --config ...` precomputes the latents, text embeddings and "
    "SigLIP tokens it reads; `panoworld train distill --config ...` distils a teacher into a few-step student. "
    "Presets: tiny-synth, lora-2b, full-2b; distill-small, distill-2b (docs/train.md). Multi-GPU: "
    "`torchrun --nproc-per-node N -m panoworld train [distill] --config ...`.",
    invoke_without_command=True,
    no_args_is_help=True,
    **APP_SETTINGS,
)

CONFIG_HELP = ("A preset name (tiny-synth, lora-2b, full-2b; distill-small, distill-2b for `train distill`) or a "
               "TOML file (docs/train.md lists every key).")
SET_HELP = ("Override one key, repeatable: --set optim.lr=1e-4 --set data.train=[{path='data/synth'}] "
            "(TOML values, finite numbers; units as in docs/train.md: sizes in pixels, angles in degrees, fps in "
            "frames/s).")


def _load(config: Optional[str], overrides: Optional[List[str]], writable: str | None = None, distill=None):
    """The validated config; with ``writable`` ("run.out_dir" or "data.cache_dir") that folder is probed too;
    ``distill`` True / False: the config must / must not be a distillation config (None: either)."""
    from panoworld.train.distill_config import load_any_config

    if not config:
        raise InputError("give --config PRESET_OR_FILE (presets: tiny-synth, lora-2b, full-2b, distill-small, ...)")
    cfg = load_any_config(config, overrides or [])
    is_distill = hasattr(cfg, "distill")
    if distill is not None and distill != is_distill:
        raise InputError(f"--config {config} is {'a distillation' if is_distill else 'a training'} config; run "
                         f"`panoworld train {'distill ' if is_distill else ''}--config {config}`")
    if writable is not None:
        section, key = writable.split(".")
        try:
            check_writable(Path(getattr(getattr(cfg, section), key)), folder=True)
        except InputError as exc:
            raise InputError(f"config {writable}: {exc}") from None
    return cfg


CONFIG = typer.Option(None, "--config", "-c", help=CONFIG_HELP)
SET = typer.Option(None, "--set", help=SET_HELP)
PRINT = typer.Option(False, "--print-config", help="Print the resolved config as JSON and exit.")


def _run(config: Optional[str], overrides: Optional[List[str]], print_config: bool, distill: bool) -> None:
    cfg = _load(config, overrides, None if print_config else "run.out_dir", distill=distill)
    if print_config:
        from panoworld.train.config import config_to_dict

        return typer.echo(json.dumps(config_to_dict(cfg), indent=2))
    if distill:
        from panoworld.train.distill import distill as run
    else:
        from panoworld.train import train as run
    result = run(cfg)
    if result.checkpoint is not None:
        say(f"step {result.step}: checkpoint -> {result.checkpoint} (a model folder for `panoworld generate --model`)")


@app.callback()
def train(ctx: typer.Context, config: Optional[str] = CONFIG, overrides: Optional[List[str]] = SET,
          print_config: bool = PRINT) -> None:
    """Train with flow matching plus depth and point-track supervision; writes checkpoints (PanoWorld model
    folders), metrics.jsonl, TensorBoard events and training_run.json into run.out_dir."""
    if ctx.invoked_subcommand is None:
        _run(config, overrides, print_config, distill=False)


@app.command("distill")
def distill(config: Optional[str] = CONFIG, overrides: Optional[List[str]] = SET,
            max_minutes: Optional[float] = typer.Option(None, "--max-minutes", min=0.0, help="Wall-clock budget of "
                                                        "this session in minutes: stop with a checkpoint after it "
                                                        "(= --set run.max_minutes=M; 0 = none)."),
            print_config: bool = PRINT) -> None:
    """Distil the teacher (model.init) into a few-step student (DMD2: student, critic, CFG folded into the teacher);
    checkpoints are model folders with the few-step sampler; resumes like `panoworld train`."""
    extra = [f"run.max_minutes={max_minutes}"] if max_minutes is not None else []
    _run(config, [*(overrides or []), *extra], print_config, distill=True)


@app.command("cache")
def cache(config: Optional[str] = CONFIG, overrides: Optional[List[str]] = SET,
          device: str = typer.Option("auto", "--device", help="Torch device for the encoders: auto (GPU if "
                                     "present), cpu, cuda, cuda:1 ..."),
          force: bool = typer.Option(False, "--force", help="Redo every clip, also those already cached (needed "
                                     "when cached clips were made with other settings)."),
          shard: str = typer.Option("0/1", "--shard", help="Cache only share i of n (i/n, 0-based) of the clip list, "
                                    "e.g. n processes on one GPU; a share writes no manifest: run once more without "
                                    "--shard to write it (every clip then found done).")) -> None:
    """Precompute VAE latents, Round-1 views, Round-2 proxies, SigLIP tokens, text embeddings and latent-grid
    geometry targets into data.cache_dir. Resumable: clips cached with the same settings and inputs are skipped,
    clips whose video, annotations or captions changed are redone; a clip that fails is reported, the others go
    on (exit code 1). Under `torchrun --nproc-per-node N -m panoworld train cache ...` each process (GPU) caches
    its share of the clips; `--shard i/n` does the same for n processes started by hand."""
    index, count = parse_shard(shard)
    cfg = _load(config, overrides, "data.cache_dir")
    from panoworld.parallel.sharding import cache_on_ranks  # each torchrun process caches its share

    with progress_bar("cache", None) as advance:
        state = {"done": 0}

        def report(done: int, total: int) -> None:
            advance(done - state["done"])
            state["done"] = done

        built = cache_on_ranks(cfg, device, force=force, progress=report, say=say,
                               shard=None if count == 1 else (index, count))
    if built is None:
        say(f"cache: share {index}/{count} done; run `panoworld train cache` without --shard once every share is "
            "done to write the manifest")
        return
    counts = {k: len(v) for k, v in built.manifest["clips"].items()}
    say(f"cache ready: {counts.get('train', 0)} training and {counts.get('val', 0)} validation clips -> {built.root}")
