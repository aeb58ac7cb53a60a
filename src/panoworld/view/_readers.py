"""The on-disk contracts the viewer reads, all from ``panoworld.formats`` (one adapter, so the viewer's modules
name no dataset file)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from panoworld.formats.annotations import Annotations, has_annotations
from panoworld.formats.annotations import read_annotations as load_annotations
from panoworld.formats.results import LONG_CSV as RESULTS_LONG
from panoworld.formats.results import METHOD_VIDEO as RESULT_VIDEO
from panoworld.formats.run_records import GENERATION_OUTPUTS
from panoworld.formats.run_records import GENERATION_RECORD as RUN_RECORD
from panoworld.formats.testset import MASTER_CSV as MASTER
from panoworld.formats.testset import TestClip as Clip
from panoworld.formats.testset import read_master

__all__ = [
    "Annotations",
    "Clip",
    "GENERATION_VIDEO",
    "GENERATION_ROUND1",
    "RESULTS_LONG",
    "RESULT_VIDEO",
    "RUN_RECORD",
    "MASTER",
    "has_annotations",
    "load_annotations",
    "read_json",
    "read_long_csv",
    "read_master",
]

#: Generation output folder (``panoworld generate --out``): the ERP video and Round 1 of a chained run.
GENERATION_VIDEO = GENERATION_OUTPUTS["video"]
GENERATION_ROUND1 = GENERATION_OUTPUTS["round1"]


def read_json(path: str | os.PathLike) -> dict:
    """A JSON object from ``path``; {} when the file is absent."""
    p = Path(path)
    if not p.is_file():
        return {}
    data = json.loads(p.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def read_long_csv(path: str | os.PathLike) -> list[dict]:
    """Rows of an eval long CSV (columns ``method, clip_id, split, …, bucket, metric, value``)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
