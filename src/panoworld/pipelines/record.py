"""What a generation record holds: cheap weight fingerprints, library versions, the device; the record itself.

The record's schema, file name and writer are :mod:`panoworld.formats.run_records` (``GenerationRecord``).

Hashing multi-GB weights fully would cost minutes per run, so a file's fingerprint is its size, mtime and the
SHA-256 of its first and last MiB (``sha256_head_tail``). That identifies a download or conversion reliably
in practice (two different weight files of equal size almost surely differ in their first/last MiB) but it
is not a full content hash; ``panoworld`` never uses it for security.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

from panoworld.formats.run_records import GenerationRecord

__all__ = ["fingerprint", "library_versions", "device_description", "run_record"]

MIB = 1 << 20
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt", ".json", ".model", ".txt")


def _file_fingerprint(path: Path) -> dict:
    stat = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        digest.update(fh.read(MIB))
        if stat.st_size > 2 * MIB:
            fh.seek(stat.st_size - MIB)
            digest.update(fh.read(MIB))
    return {"size": stat.st_size, "mtime": int(stat.st_mtime), "sha256_head_tail": digest.hexdigest()}


def fingerprint(path_or_id: str) -> dict:
    """Fingerprint of a weights file or folder (its weight/config files combined); a hub id is recorded as is."""
    path = Path(path_or_id).expanduser()
    if not path.exists():
        return {"source": str(path_or_id), "kind": "hub id or missing"}
    if path.is_file():
        return {"source": str(path.resolve()), "kind": "file", **_file_fingerprint(path)}
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    combined, total = hashlib.sha256(), 0
    for file in files:
        info = _file_fingerprint(file)
        total += info["size"]
        combined.update(f"{file.relative_to(path)}:{info['size']}:{info['sha256_head_tail']}\n".encode())
    return {"source": str(path.resolve()), "kind": "folder", "files": len(files), "size": total,
            "sha256_head_tail": combined.hexdigest()}


def library_versions() -> dict:
    """Versions of Python and the libraries a generation depends on."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform(), "torch": torch.__version__}
    for name in ("panoworld", "diffusers", "transformers", "numpy", "av", "safetensors"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "unknown")
        except ImportError:
            versions[name] = None
    versions["cuda"] = torch.version.cuda
    return versions


def device_description(device: torch.device) -> str:
    """Human-readable compute device."""
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({os.cpu_count()} cores)"


def run_record(*, arguments: dict, config: dict, models: dict, timings: dict, info: dict, outputs: dict,
               device: torch.device, peak_memory_gib: float | None, settings_key: str | None = None) -> dict:
    """The generation record of one clip as JSON (``panoworld.formats.run_records.GenerationRecord``); ``timings``
    in seconds, ``settings_key`` from ``panoworld.formats.run_records.settings_key`` (optional)."""
    return GenerationRecord(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        arguments=arguments,
        config=config,
        models=models,
        libraries=library_versions(),
        device=device_description(device),
        timings_s={k: round(v, 3) for k, v in timings.items()},
        peak_gpu_memory_gib=peak_memory_gib,
        run_info=info,
        outputs=outputs,
        settings_key=settings_key,
    ).to_json()
