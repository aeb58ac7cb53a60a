"""On-disk cache of prompt embeddings: one safetensors file per (encoder identity, max length, text).

Layout: ``<cache_dir>/<key[:2]>/<key>.safetensors`` with one tensor ``prompt_embeds`` of shape (L, D) and the
text in the metadata. Files are written atomically (temporary file + rename), so a killed process never leaves
a truncated entry; a corrupt or mismatching entry is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from panoworld.io.atomic import atomic_path

__all__ = ["PromptCache", "fingerprint_module"]

_TENSOR = "prompt_embeds"


def fingerprint_module(module: torch.nn.Module, *, sample: int = 2048) -> str:
    """Cheap identity hash of a module's weights: names, shapes, dtypes and the first/last ``sample`` values.

    Hashing every value of a 7B model would take minutes; the sampled values change with any fine-tune or a
    different checkpoint, which is what a cache key needs.
    """
    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        flat = tensor.detach().reshape(-1)
        head = flat[:sample]
        tail = flat[-sample:] if flat.numel() > sample else flat[:0]
        h.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        for part in (head, tail):
            h.update(part.to("cpu", torch.float32).numpy().tobytes())
    return h.hexdigest()


class PromptCache:
    """Prompt-embedding cache rooted at ``cache_dir``, scoped to one encoder ``identity`` string."""

    def __init__(self, cache_dir: str | os.PathLike, identity: str) -> None:
        self.root = Path(cache_dir)
        self.identity = identity
        self.hits = 0
        self.misses = 0

    def key(self, text: str, max_length: int) -> str:
        """Hex sha256 of (encoder identity, max length, text)."""
        payload = json.dumps([self.identity, int(max_length), text], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def path(self, text: str, max_length: int) -> Path:
        """File that holds (or would hold) the embedding of ``text``."""
        key = self.key(text, max_length)
        return self.root / key[:2] / f"{key}.safetensors"

    def get(self, text: str, max_length: int) -> torch.Tensor | None:
        """Cached (L, D) embedding of ``text`` or None; counts hits and misses."""
        path = self.path(text, max_length)
        if path.is_file():
            try:
                tensor = load_file(str(path))[_TENSOR]
            except (SafetensorError, KeyError, OSError):
                tensor = None
            if tensor is not None and tensor.shape[0] == max_length:
                self.hits += 1
                return tensor
        self.misses += 1
        return None

    def put(self, text: str, max_length: int, embedding: torch.Tensor) -> Path:
        """Store the (L, D) embedding of ``text`` atomically; returns the file path."""
        path = self.path(text, max_length)
        with atomic_path(path) as tmp:
            save_file(
                {_TENSOR: embedding.detach().to("cpu").contiguous()},
                str(tmp),
                metadata={"text": text, "max_length": str(max_length)},
            )
        return path
