"""Load a PanoWorld transformer from a converted folder or an original checkpoint; write converted folders."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from panoworld.errors import InputError, MissingComponentError

from .conversion import ConversionReport, convert_state_dict, load_original_checkpoint, model_from_state_dict
from .transformer import PanoWorldTransformer

__all__ = ["RELEASE_FILE", "convert_checkpoint", "load_transformer", "save_converted"]

#: File name of the released PanoWorld EMA weights (original Cosmos ``net.*`` layout, bf16, ~4.6 GB).
RELEASE_FILE = "model_ema_bf16.pt"
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors")
_HOW_TO_GET = (
    f"get {RELEASE_FILE} from the PanoWorld release and put it (or a folder converted from it with "
    "`panoworld convert`) in $PANOWORLD_WEIGHTS/panoworld/"
)


def _missing(path: Path, what: str) -> MissingComponentError:
    return MissingComponentError(f"PanoWorld transformer: {what} at {path}; {_HOW_TO_GET}")


def _find_checkpoint(folder: Path) -> Path | None:
    if (folder / RELEASE_FILE).is_file():
        return folder / RELEASE_FILE
    files = sorted(p for p in folder.iterdir() if p.suffix in (".pt", ".pth") and p.is_file())
    if len(files) > 1:
        raise InputError(f"{folder} holds several checkpoints ({', '.join(p.name for p in files)}); pass one file")
    return files[0] if files else None


def _folder_overrides(config_path: Path) -> dict:
    """Config overrides that let a diffusers ``CosmosTransformer3DModel`` (Predict2.5) folder load as the base."""
    config = json.loads(config_path.read_text())
    if config.get("_class_name") != "CosmosTransformer3DModel":
        return {}
    if config.get("extra_pos_embed_type") or config.get("controlnet_block_every_n") or config.get("img_context_dim_in"):
        raise InputError(
            f"{config_path.parent}: only the Cosmos-Predict2.5 transformer layout is supported (no learnable "
            "position embedding, ControlNet or separate image query)"
        )
    return {"reference_channels": 0, "img_context_dim_in": None, "rope_type": "linear"}


def load_transformer(
    path: str | os.PathLike,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    rope_type: str | None = None,
) -> PanoWorldTransformer:
    """Load a ``PanoWorldTransformer`` for inference (eval mode).

    Args:
        path: a converted folder (``config.json`` + safetensors, or such a folder under ``transformer/``), an
            original checkpoint file (``.pt``/``.pth``/``.safetensors``, converted in memory), or a folder holding
            ``model_ema_bf16.pt``.
        device: where to put the model (default: stays on CPU).
        dtype: weight dtype (default: as stored).
        rope_type: override the RoPE variant ("linear", "equirect", "periodic"); default as stored / detected.

    Raises:
        MissingComponentError: nothing loadable at ``path`` (the message says what to download and where).
        ConversionError: an original checkpoint that does not match the layout (names the keys).
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise _missing(path, "nothing found")
    if path.is_dir():
        for folder in (path, path / "transformer"):
            if (folder / "config.json").is_file():
                overrides = _folder_overrides(folder / "config.json")
                if rope_type:
                    overrides["rope_type"] = rope_type
                model = PanoWorldTransformer.from_pretrained(folder, torch_dtype=dtype, **overrides)
                return model.to(device).eval() if device is not None else model.eval()
        checkpoint = _find_checkpoint(path)
        if checkpoint is None:
            raise _missing(path, f"no config.json and no {RELEASE_FILE}")
        path = checkpoint
    elif path.suffix not in CHECKPOINT_SUFFIXES:
        raise InputError(f"{path}: expected a folder or a {'/'.join(CHECKPOINT_SUFFIXES)} checkpoint")
    config, state, _ = convert_state_dict(load_original_checkpoint(path), rope_type=rope_type, dtype=dtype)
    model = model_from_state_dict(config, state)
    return model.to(device).eval() if device is not None else model


def save_converted(
    model: PanoWorldTransformer, out_dir: str | os.PathLike, *, report: dict | None = None, force: bool = False
) -> Path:
    """Write ``model`` as a diffusers-style folder (``config.json`` + safetensors) atomically.

    The folder is written beside ``out_dir`` under a temporary name and renamed into place, so an interrupted
    conversion leaves no partial folder. ``report`` is stored as ``conversion.json``. An existing non-empty
    ``out_dir`` is replaced only with ``force``.
    """
    out = Path(out_dir).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise InputError(f"{out} already exists; pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        if report is not None:
            (tmp / "conversion.json").write_text(json.dumps(report, indent=2) + "\n")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def convert_checkpoint(
    src: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    variant: str = "auto",
    rope_type: str | None = None,
    dtype: torch.dtype | None = None,
    ema: bool = True,
    force: bool = False,
) -> ConversionReport:
    """Convert an original checkpoint file to a diffusers-style folder; see ``convert_state_dict``."""
    src = Path(src).expanduser()
    if src.is_dir():
        found = _find_checkpoint(src)
        if found is None:
            raise _missing(src, f"no {RELEASE_FILE} or other .pt checkpoint")
        src = found
    out = Path(out_dir).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise InputError(f"{out} already exists; pass --force to replace it")
    config, state, report = convert_state_dict(
        load_original_checkpoint(src), variant=variant, rope_type=rope_type, dtype=dtype, ema=ema
    )
    model = model_from_state_dict(config, state)
    info = report.as_dict() | {"source": src.name, "rope_type": config["rope_type"]}
    save_converted(model, out, report=info, force=force)
    return report
