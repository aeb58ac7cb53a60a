"""The on-disk readers the viewer relies on, behind one thin adapter.

Today they live in ``panoworld.eval`` (test sets, annotations) and in the generation command's file names; they
are moving to ``panoworld.formats``. Everything the viewer reads from another module goes through this file, so
re-pointing it is the only change that move needs.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from panoworld.eval.annotations import Annotations, has_annotations, load_annotations
from panoworld.eval.testset import Clip, read_master

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

#: Generation output folder (``panoworld generate --out``): the ERP video, Round 1 of a chained run, the record.
GENERATION_VIDEO = "pano.mp4"
GENERATION_ROUND1 = "round1.mp4"
RUN_RECORD = "run.json"
#: Eval results: ``<results>/<method>/<split>__<clip>/video.mp4`` and the long CSV of scores.
RESULT_VIDEO = "video.mp4"
RESULTS_LONG = "results_long.csv"
#: A test split: ``<split>/master.csv``.
MASTER = "master.csv"


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
