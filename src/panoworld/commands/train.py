"""``panoworld train``: train a PanoWorld transformer (``--config``), or precompute its cache (``train cache``)."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from panoworld.errors import InputError

from ._common import console, progress_bar

app = typer.Typer(
    help="Training. `panoworld train --config PRESET_OR_FILE [--set key=value ...]` trains (resuming the newest "
    "checkpoint in run.out_dir); `panoworld train cache --config ...` precomputes the latents, text embeddings and "
    "SigLIP tokens it reads. Presets: tiny-synth, lora-2b, full-2b (docs/train.md). Multi-GPU: "
    "`torchrun --nproc-per-node N -m panoworld train --config ...`.",
    invoke_without_command=True,
    no_args_is_help=True,
)

CONFIG_HELP = "A preset name (tiny-synth, lora-2b, full-2b) or a TOML file (docs/train.md lists every key)."
SET_HELP = ("Override one key, repeatable: --set optim.lr=1e-4 --set data.train=[{path='data/synth'}] "
            "(TOML values; units as in docs/train.md: sizes in pixels, angles in degrees, fps in frames/s).")


def _load(config: Optional[str], overrides: Optional[List[str]]):
    from panoworld.train.config import load_config

    if not config:
        raise InputError("give --config PRESET_OR_FILE (presets: tiny-synth, lora-2b, full-2b)")
    return load_config(config, overrides or [])


@app.callback()
def train(
    ctx: typer.Context,
    config: Optional[str] = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    overrides: Optional[List[str]] = typer.Option(None, "--set", help=SET_HELP),
    print_config: bool = typer.Option(False, "--print-config", help="Print the resolved config as JSON and exit."),
) -> None:
    """Train with flow matching plus depth and point-track supervision; writes checkpoints (PanoWorld model
    folders), metrics.jsonl, TensorBoard events and run.json into run.out_dir."""
    if ctx.invoked_subcommand is not None:
        return
    from panoworld.train.config import config_to_dict

    cfg = _load(config, overrides)
    if print_config:
        typer.echo(json.dumps(config_to_dict(cfg), indent=2))
        return
    from panoworld.train import train as run_training

    result = run_training(cfg)
    if result.checkpoint is not None:
        console.print(f"step {result.step}: checkpoint -> {result.checkpoint} (a model folder for "
                      f"`panoworld generate --model`)")


@app.command("cache")
def cache(
    config: Optional[str] = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    overrides: Optional[List[str]] = typer.Option(None, "--set", help=SET_HELP),
    device: str = typer.Option("auto", "--device", help="Torch device for the encoders: auto (GPU if present), "
                               "cpu, cuda, cuda:1 ..."),
) -> None:
    """Precompute VAE latents, Round-1 views, Round-2 proxies, SigLIP tokens, text embeddings and latent-grid
    geometry targets into data.cache_dir (resumable: finished clips with unchanged settings are skipped)."""
    from panoworld.train.cache import build_cache
    from panoworld.train.distributed import pick_device

    cfg = _load(config, overrides)
    with progress_bar("cache", None) as advance:
        state = {"done": 0}

        def report(done: int, total: int) -> None:
            advance(done - state["done"])
            state["done"] = done

        built = build_cache(cfg, device=pick_device(device), progress=report)
    counts = {k: len(v) for k, v in built.manifest["clips"].items()}
    console.print(f"cache ready: {counts.get('train', 0)} training and {counts.get('val', 0)} validation clips "
                  f"-> {built.root}")
