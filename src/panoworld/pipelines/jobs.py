"""Generation jobs: prompt files and batch tables (CSV / JSONL), validated whole before anything runs.

A batch table has a header row (CSV) or one JSON object per line (JSONL). Columns: ``image`` (required, relative
to the table's folder), ``prompt`` or ``prompt_file`` (one of the prompts is required), optional ``pano_prompt``,
``id`` (output sub-folder; default: image stem + row number), and per-row overrides ``seed``, ``yaw``, ``pitch``,
``roll`` (degrees) and ``fov`` (degrees). Every row is checked (image decodable, numbers finite and in range via
:meth:`GenerationConfig.validate`) and all problems are reported in one line before the first row runs.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from panoworld.errors import InputError, PanoworldError

from .config import GenerationConfig

__all__ = ["Job", "read_prompt_file", "read_batch", "single_job", "check_jobs", "OVERRIDE_FIELDS"]

#: Batch-table column -> GenerationConfig field (and how the cell is parsed).
OVERRIDE_FIELDS = {"seed": ("seed", int), "yaw": ("yaw", float), "pitch": ("pitch", float), "roll": ("roll", float),
                   "fov": ("fov_x", float)}


@dataclass
class Job:
    """One clip: the input image, prompts, output folder, per-clip overrides and (once checked) its settings."""

    image: Path
    prompt: str
    pano_prompt: str | None
    out: Path
    overrides: dict = field(default_factory=dict)
    where: str = ""
    config: GenerationConfig | None = None

    @property
    def name(self) -> str:
        return self.out.name

    def load_image(self):
        """(3, H, W) [0, 1]; raises ``InputError`` for an unreadable file."""
        from panoworld.io import read_image

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


def single_job(image: Path, prompt: str | None, pano_prompt: str | None, prompt_file: Path | None,
               out: Path) -> Job:
    """The job of a single-image run (prompts from the options or a prompt file)."""
    if prompt_file is not None:
        file_prompt, file_pano = read_prompt_file(prompt_file)
        prompt, pano_prompt = prompt or file_prompt, pano_prompt or file_pano
    if not prompt and not pano_prompt:
        raise InputError("missing --prompt / --pano-prompt (or --prompt-file)")
    return Job(image=image, prompt=prompt or pano_prompt, pano_prompt=pano_prompt, out=out, where=str(image))


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


def _number(key: str, kind: type, value) -> int | float:
    try:
        number = kind(value) if kind is float else int(str(value).strip())
    except (TypeError, ValueError):
        raise InputError(f"{key} must be {'an integer' if kind is int else 'a number'}, got {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise InputError(f"{key} must be a finite number, got {value!r}")
    return number


def _job(path: Path, number: int, row, out_root: Path) -> Job:
    if not isinstance(row, dict) or not str(row.get("image") or "").strip():
        raise InputError("missing the 'image' column")
    image = (path.parent / str(row["image"]).strip()).expanduser()
    if not image.is_file():
        raise InputError(f"image not found: {image}")
    prompt, pano = (str(row.get("prompt") or "").strip(), str(row.get("pano_prompt") or "").strip() or None)
    if row.get("prompt_file"):
        prompt, file_pano = read_prompt_file(path.parent / str(row["prompt_file"]).strip())
        pano = pano or file_pano
    prompt = prompt or (pano or "")
    if not prompt:
        raise InputError("needs a 'prompt', 'pano_prompt' or 'prompt_file'")
    overrides = {name: _number(key, kind, row[key]) for key, (name, kind) in OVERRIDE_FIELDS.items()
                 if row.get(key) not in (None, "")}
    job_id = _safe_id(str(row.get("id") or f"{image.stem}_{number:04d}"))
    return Job(image=image, prompt=prompt, pano_prompt=pano, out=out_root / job_id, overrides=overrides,
               where=f"row {number}")


def read_batch(path: Path, out_root: Path, base: GenerationConfig | None = None) -> list[Job]:
    """Jobs of a CSV or JSONL table (see the module docstring). With ``base`` every job is also checked
    (:func:`check_jobs`); all problems of all rows are raised together, in one line."""
    jobs, problems, seen = [], [], set()
    for number, row in enumerate(_rows(path), start=1):
        try:
            job = _job(path, number, row, out_root)
            if job.name in seen:
                raise InputError(f"duplicate id {job.name!r}")
            seen.add(job.name)
            jobs.append(job)
        except PanoworldError as exc:
            problems.append(f"row {number}: {exc}")
    if not jobs and not problems:
        raise InputError(f"{path}: no rows")
    if base is not None:
        return check_jobs(jobs, base, problems=problems, where=str(path))
    if problems:
        raise InputError(f"{path}: {len(problems)} bad row(s): " + "; ".join(problems))
    return jobs


def check_jobs(jobs: list[Job], base: GenerationConfig, *, check_images: bool = True, problems=(),
               where: str = "") -> list[Job]:
    """Set each job's validated settings (``base`` with its overrides) and, with ``check_images``, decode its
    image once. All problems (with earlier ``problems``) are raised together in one line, before anything runs."""
    problems = list(problems)
    for job in jobs:
        try:
            job.config = base.replace(**job.overrides)
            if check_images:
                job.load_image()
        except PanoworldError as exc:
            problems.append(f"{job.where}: {exc}" if job.where and job.where not in str(exc) else str(exc))
    if problems:
        prefix = f"{where}: " if where else ""
        raise InputError(f"{prefix}{len(problems)} bad job(s): " + "; ".join(sorted(problems, key=_row_order)))
    return jobs


def _row_order(problem: str) -> tuple:
    match = re.match(r"row (\d+):", problem)
    return (int(match.group(1)) if match else 0, problem)
