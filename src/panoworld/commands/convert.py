"""``panoworld convert``: original Cosmos / PanoWorld checkpoint -> diffusers-style PanoWorldTransformer folder."""

from __future__ import annotations

from pathlib import Path

import typer

from panoworld.errors import InputError

from ._common import progress_bar, say
from ._options import output_dir

DTYPES = {"keep": None, "bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def convert(
    src: Path = typer.Argument(
        ..., help="Original checkpoint (.pt/.pth with or without a model/state_dict wrapper and net./net_ema. "
        "prefix, or .safetensors), or a folder holding model_ema_bf16.pt.", show_default=False, exists=True
    ),
    out_dir: Path = typer.Argument(..., help="Output folder (config.json + safetensors + conversion.json).",
                                   show_default=False, callback=output_dir),
    variant: str = typer.Option("auto", "--variant", help="auto (as detected from the tensors), base, or panoworld "
                                "(widens a base Cosmos-Predict2.5 checkpoint: zero reference columns, v_img = 0)."),
    rope: str = typer.Option(None, "--rope", help="RoPE stored in the config: linear, equirect or periodic "
                             "(default: equirect for PanoWorld, linear for base).", show_default=False),
    dtype: str = typer.Option("keep", "--dtype", help="Weight dtype: keep (bit-identical), bf16, fp16 or fp32."),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="With both net_ema. and net. copies, take the EMA one."),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty OUT_DIR."),
) -> None:
    """Convert an original PanoWorld / Cosmos-Predict2.5 DiT checkpoint (strict: every key mapped or named)."""
    if dtype not in DTYPES:
        raise InputError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    import torch

    from panoworld.models.loading import convert_checkpoint
    from panoworld.models.rope import ROPE_TYPES

    if rope is not None and rope not in ROPE_TYPES:
        raise InputError(f"--rope must be one of {', '.join(ROPE_TYPES)}, got {rope!r}")
    torch_dtype = getattr(torch, DTYPES[dtype]) if DTYPES[dtype] else None
    with progress_bar("convert", 1) as advance:
        report = convert_checkpoint(
            src, out_dir, variant=variant, rope_type=rope, dtype=torch_dtype, ema=ema, force=force
        )
        advance()
    say(
        f"wrote {out_dir}: {report.mapped} tensors, {report.source_variant} -> {report.target_variant}, "
        f"{len(report.dropped)} training-only keys dropped"
    )
