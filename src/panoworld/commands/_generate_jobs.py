"""Jobs of ``panoworld generate``: prompt files, batch tables (CSV / JSONL) and writing one clip's outputs."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from panoworld.errors import InputError
from panoworld.formats.run_records import GENERATION_OUTPUTS, GENERATION_RECORD, write_generation_record
from panoworld.io import read_image, write_video

__all__ = ["Job", "read_prompt_file", "read_batch", "write_outputs", "preview_frames", "RUN_RECORD"]

#: Written last: its presence marks a finished clip (batch mode skips those).
RUN_RECORD = GENERATION_RECORD
NUMERIC_FIELDS = {"seed": int, "yaw": float, "pitch": float, "roll": float, "fov": float}


@dataclass
class Job:
    """One clip: the input image, prompts, output folder and per-clip overrides of the run settings."""

    image: Path
    prompt: str
    pano_prompt: str | None
    out: Path
    overrides: dict = field(default_factory=dict)

    def load_image(self) -> torch.Tensor:
        """(3, H, W) [0, 1]; raises ``InputError`` for an unreadable file."""
        return read_image(self.image)


def read_prompt_file(path: Path) -> tuple[str, str | None]:
    """(prompt, pano_prompt) from a ``.txt`` (the whole text is the prompt) or ``.json`` with those keys."""
    if not path.is_file():
        raise InputError(f"prompt file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or not isinstance(data.get("prompt"), str) or not data["prompt"].strip():
            raise InputError(f"{path}: expected a JSON object with a non-empty 'prompt' (and optional 'pano_prompt')")
        pano = data.get("pano_prompt")
        return data["prompt"].strip(), (pano.strip() if isinstance(pano, str) and pano.strip() else None)
    if path.suffix.lower() != ".txt":
        raise InputError(f"{path}: prompt files must be .txt or .json")
    if not text.strip():
        raise InputError(f"{path}: the prompt file is empty")
    return text.strip(), None


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise InputError(f"batch file not found: {path}")
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            return [dict(row) for row in csv.DictReader(fh)]
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    raise InputError(f"{path}:{number}: not a JSON object") from None
        return rows
    raise InputError(f"{path}: batch files must be .csv or .jsonl")


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "item"


def read_batch(path: Path, out_root: Path) -> list[Job]:
    """Jobs of a CSV (header row) or JSONL table; every problem is reported before anything runs.

    Columns: ``image`` (required, relative to the table's folder), ``prompt`` or ``prompt_file`` (required),
    optional ``pano_prompt``, ``id`` (output sub-folder; default: image stem + row number), ``seed``, ``yaw``,
    ``pitch``, ``roll`` (degrees) and ``fov`` (degrees).
    """
    jobs, seen = [], set()
    for number, row in enumerate(_rows(path), start=1):
        where = f"{path} row {number}"
        if not isinstance(row, dict) or not str(row.get("image") or "").strip():
            raise InputError(f"{where}: missing the 'image' column")
        image = (path.parent / str(row["image"]).strip()).expanduser()
        if not image.is_file():
            raise InputError(f"{where}: image not found: {image}")
        prompt, pano = (str(row.get("prompt") or "").strip(), str(row.get("pano_prompt") or "").strip() or None)
        if row.get("prompt_file"):
            prompt, file_pano = read_prompt_file(path.parent / str(row["prompt_file"]).strip())
            pano = pano or file_pano
        prompt = prompt or (pano or "")
        if not prompt:
            raise InputError(f"{where}: needs a 'prompt', 'pano_prompt' or 'prompt_file'")
        overrides = {}
        for key, kind in NUMERIC_FIELDS.items():
            value = row.get(key)
            if value not in (None, ""):
                try:
                    overrides[key] = kind(value)
                except (TypeError, ValueError):
                    raise InputError(f"{where}: {key} must be a number, got {value!r}") from None
        job_id = _safe_id(str(row.get("id") or f"{image.stem}_{number:04d}"))
        if job_id in seen:
            raise InputError(f"{where}: duplicate id {job_id!r}")
        seen.add(job_id)
        jobs.append(Job(image=image, prompt=prompt, pano_prompt=pano, out=out_root / job_id, overrides=overrides))
    if not jobs:
        raise InputError(f"{path}: no rows")
    return jobs


def preview_frames(perspective: torch.Tensor, erp: torch.Tensor) -> torch.Tensor:
    """Side-by-side preview: the perspective input scaled to the ERP height, then the ERP video.

    Args:
        perspective: (1 or T, 3, h, w) in [0, 1] (a still image is repeated).
        erp: (T, 3, H, W) in [0, 1].

    Returns:
        (T, 3, H, w' + W) with w' = the even width keeping the input's aspect.
    """
    height = erp.shape[-2]
    width = max(2, int(round(perspective.shape[-1] * height / perspective.shape[-2] / 2)) * 2)
    left = F.interpolate(perspective.float(), size=(height, width), mode="bilinear", align_corners=False,
                         antialias=True).clamp(0, 1)
    left = left.expand(erp.shape[0], -1, -1, -1) if left.shape[0] == 1 else left
    return torch.cat([left, erp], dim=-1)


def write_outputs(out: Path, result, *, fps: float, record: dict) -> dict:
    """Write pano.mp4 (ERP, spherical metadata), preview.mp4, round1.mp4 (chained) and run.json (last)."""
    names = GENERATION_OUTPUTS
    files = {"video": str(write_video(out / names["video"], result.video, fps, spherical=True))}
    files["preview"] = str(write_video(out / names["preview"], preview_frames(result.perspective, result.video), fps))
    if result.round1 is not None:
        files["round1"] = str(write_video(out / names["round1"], result.round1, fps, spherical=True))
    write_generation_record(out, dict(record, outputs=files))
    return files
