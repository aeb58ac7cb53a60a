"""Reading released checkpoints and strict name mapping helpers shared by the DAP and CoTracker3 loaders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import torch

from panoworld.errors import InputError, MissingComponentError
from panoworld.weights import WEIGHTS_ENV, weights_root

__all__ = ["CheckpointKeyError", "read_state_dict", "strip_prefix", "check_complete", "weights_path"]


class CheckpointKeyError(InputError):
    """A checkpoint's parameter names or shapes do not match the architecture (names the offending key)."""


def weights_path(explicit: str | os.PathLike | None, relative: str, *, source: str) -> Path:
    """Resolve a weights file: ``explicit`` or ``<weights root>/<relative>`` (``$PANOWORLD_WEIGHTS``, else
    ``./weights``); raise a clear error naming the file and where to get it if it is absent."""
    path = Path(explicit) if explicit is not None else weights_root() / relative
    if not path.is_file():
        hint = "" if explicit is not None else f" (or set {WEIGHTS_ENV} to the folder holding {relative})"
        raise MissingComponentError(f"weights file {path} not found; download it from {source} and put it there{hint}")
    return path


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a tensor state dict from ``.pth``/``.pt`` (``weights_only=True``) or ``.safetensors``.

    A dict wrapping the tensors under ``model`` or ``state_dict`` is unwrapped.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors come in many types
        raise InputError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from None
    for key in ("model", "state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"checkpoint {path} does not hold a tensor state dict")
    return dict(obj)


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str = "module.") -> dict[str, torch.Tensor]:
    """Remove a leading ``prefix`` (DataParallel's ``module.``) from every key that has it."""
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state.items()}


def check_complete(
    converted: Mapping[str, torch.Tensor], module: torch.nn.Module, origin: Mapping[str, str], label: str
) -> None:
    """Raise :class:`CheckpointKeyError` unless ``converted`` fills every parameter/buffer of ``module`` exactly.

    ``origin`` maps our names back to the checkpoint names so that errors name the released key.
    """
    expected = module.state_dict()
    for name, tensor in expected.items():
        if name not in converted:
            raise CheckpointKeyError(f"{label} checkpoint is missing key {origin.get(name, name)!r}")
        if tuple(converted[name].shape) != tuple(tensor.shape):
            raise CheckpointKeyError(
                f"{label} checkpoint key {origin.get(name, name)!r} has shape {tuple(converted[name].shape)}, "
                f"expected {tuple(tensor.shape)}"
            )
    for name in converted:
        if name not in expected:
            raise CheckpointKeyError(f"{label} checkpoint has unexpected key {origin.get(name, name)!r}")
