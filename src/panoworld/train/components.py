"""Component references of a training config: resolve, identify, load, and place them in model folders.

A reference is a local path, a Hugging Face hub id, ``component:<name>`` (a component under the weights root,
``panoworld weights``) or ``builtin:small`` (the small component of that slot shipped in
``panoworld/assets/small_model/<slot>/``). Slots: ``vae``, ``text_encoder``, ``image_encoder``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch

from panoworld.errors import MissingComponentError

__all__ = ["SLOTS", "BUILTIN", "resolve_reference", "identity", "load_vae", "load_text_encoder",
           "load_image_encoder", "folder_bytes", "place_component"]

SLOTS = ("vae", "text_encoder", "image_encoder")
BUILTIN = "builtin:small"
#: components.copy = "auto" copies folders smaller than this into every checkpoint.
AUTO_COPY_BYTES = 512 << 20


def builtin_path(slot: str) -> Path:
    """Folder of the shipped small component of ``slot``."""
    from panoworld.models.components.paths import small_model_folder

    return small_model_folder() / slot


def resolve_reference(reference: str, slot: str) -> str:
    """A reference -> a local path or hub id that the component loaders accept (MissingComponentError if absent)."""
    from panoworld.formats.model_folder import component_name
    from panoworld.models.components import resolve_component

    if reference == BUILTIN:
        path = builtin_path(slot)
        if not path.is_dir() or not any(path.iterdir()):
            raise MissingComponentError(f"the small {slot} is not installed at {path} (builtin:small); "
                                        f"reinstall panoworld or give components.{slot} a path")
        return str(path)
    name = component_name(reference)
    if name is not None:
        return resolve_component(name)
    path = Path(reference).expanduser()
    if path.exists():
        return str(path)
    from panoworld.hub import is_hub_id

    if is_hub_id(reference):
        return reference
    raise MissingComponentError(f"components.{slot}: nothing at {reference!r} (a path, hub id, component:<name> "
                                f"or {BUILTIN})")


def identity(reference: str, slot: str) -> str:
    """Short stable id of a component's weights (the reference plus a head/tail fingerprint of its files)."""
    from panoworld.pipelines.record import fingerprint

    resolved = resolve_reference(reference, slot)
    info = fingerprint(resolved)
    info.pop("source", None)
    payload = json.dumps({"reference": reference, "files": info}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return {"bf16": torch.bfloat16, "fp32": torch.float32}[name]


def load_vae(reference: str, device: torch.device, dtype: str = "auto"):
    """``VideoVAE`` from a reference, on ``device``."""
    from panoworld.models.components import VideoVAE

    return VideoVAE.from_pretrained(resolve_reference(reference, "vae"), device=device, dtype=_dtype(dtype, device))


def load_text_encoder(reference: str, device: torch.device, dtype: str = "auto"):
    """``TextEncoder`` from a reference, on ``device``."""
    from panoworld.models.components import TextEncoder

    return TextEncoder.from_pretrained(resolve_reference(reference, "text_encoder"), device=device,
                                       dtype=_dtype(dtype, device))


def load_image_encoder(reference: str, device: torch.device, dtype: str = "auto"):
    """``ImageEncoder`` from a reference, on ``device``."""
    from panoworld.models.components import ImageEncoder

    return ImageEncoder.from_pretrained(resolve_reference(reference, "image_encoder"), device=device,
                                        dtype=_dtype(dtype, device))


def folder_bytes(path: Path) -> int:
    """Total size of the files under ``path`` (a file's own size)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _link_or_copy_tree(src: Path, dst: Path) -> None:
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


def place_component(reference: str, slot: str, folder: Path, copy: str) -> str:
    """The model-index reference of ``slot`` for a checkpoint being written in ``folder``.

    The component is hard-linked (or copied) into ``folder/<slot>`` when ``copy`` is "always", or "auto" and it is
    a local folder under 512 MiB. Otherwise a ``component:<name>`` reference or hub id is kept as is (not resolved:
    the 7B text encoder need not be present while training) and a local path is referenced by its absolute path.
    """
    from panoworld.hub import is_hub_id

    local = Path(reference).expanduser()
    unresolved = reference.startswith("component:") or (not local.exists() and is_hub_id(reference))
    if unresolved and copy != "always":
        return reference
    local = Path(resolve_reference(reference, slot))
    if local.is_dir() and (copy == "always" or (copy == "auto" and folder_bytes(local) < AUTO_COPY_BYTES)):
        _link_or_copy_tree(local, folder / slot)
        return slot
    return reference if unresolved else str(local.resolve())
