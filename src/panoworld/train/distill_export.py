"""Export a checkpoint (or a run's newest one) as a stand-alone PanoWorld model folder: everything but
``training_state/``, copied into a temporary sibling and renamed, so the destination is complete or absent; the
absolute paths in its provenance become relative to the run's own layout (``portable_paths``).

    python -m panoworld.train.distill_export runs/distill-small models/panoworld-small-4step --max-mb 16

Prints one JSON line: the folder, its sampler, the transformer weights' size (MB = 10^6 bytes), its largest file
and the whole folder's size. ``--max-mb`` fails (exit 2) when the transformer weights or any file is larger.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from panoworld.errors import InputError
from panoworld.formats.model_folder import is_model_folder, portable_paths, read_model_index, write_model_index
from panoworld.formats.training import TRAINING_STATE

__all__ = ["export_model_folder"]


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def export_model_folder(source: str | Path, dest: str | Path, *, max_mb: float | None = None) -> dict:
    """Copy the model folder of ``source`` (a checkpoint, or a run folder = its newest checkpoint) to ``dest``
    (replaced when present); returns a summary dict."""
    from .checkpoint import find_latest

    source, dest = Path(source), Path(dest)
    folder = source if is_model_folder(source) else find_latest(source)
    if folder is None or not is_model_folder(folder):
        raise InputError(f"{source}: neither a model folder nor a training run folder with a checkpoint")
    weights = sorted((folder / "transformer").glob("*.safetensors"))
    weight_bytes = sum(p.stat().st_size for p in weights)
    if max_mb is not None and weight_bytes > max_mb * 1e6:
        raise InputError(f"{folder}: the transformer weights are {weight_bytes / 1e6:.1f} MB, over --max-mb {max_mb} "
                         "(set model.export_dtype=bfloat16)")
    files = [p for p in folder.rglob("*") if p.is_file() and TRAINING_STATE not in p.relative_to(folder).parts]
    largest = max(files, key=lambda p: p.stat().st_size)
    if max_mb is not None and largest.stat().st_size > max_mb * 1e6:
        raise InputError(f"{largest}: {largest.stat().st_size / 1e6:.1f} MB, over --max-mb {max_mb}")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder, tmp, ignore=shutil.ignore_patterns(TRAINING_STATE))
    index = read_model_index(tmp)  # a stand-alone folder: its provenance names no directory of this machine
    index.provenance = portable_paths(index.provenance)
    write_model_index(tmp, index)
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    sampler = read_model_index(dest).sampler
    return {"model": str(dest), "from": str(folder), "sampler": sampler.kind, "steps": sampler.num_steps,
            "transformer_mb": round(weight_bytes / 1e6, 2), "largest_file_mb": round(largest.stat().st_size / 1e6, 2),
            "folder_mb": round(_size(dest) / 1e6, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="checkpoint folder, or training run folder (its newest checkpoint)")
    parser.add_argument("dest", help="destination model folder (replaced)")
    parser.add_argument("--max-mb", type=float, default=None, help="largest allowed transformer weights and file, MB")
    args = parser.parse_args(argv)
    try:
        print(json.dumps(export_model_folder(args.source, args.dest, max_mb=args.max_mb)))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
