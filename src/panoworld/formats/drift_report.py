"""The drift report of a long video (``panoworld eval extension``), version 1::

    <out>/
      extension_report.json      everything below plus the layout of the rounds and where depth / tracks came from
      extension_per_second.csv   second, metric, value           (means over each second of video)
      extension_per_round.csv    round, metric, value            (means over each round's frames)
      extension_junctions.csv    junction, frame, time_s, boundary_jump, track_survival, track_survival_control
      plots/<metric>.png         the metric over time (one value per frame, junctions marked)

``extension_report.json`` (format ``panoworld-extension-report``)::

    {"format", "version", "created", "video", "fps", "frames", "size": [H, W],
     "layout": {"starts": [frame of each round's first frame], "overlap": frames cross-faded, "source": "..."},
     "metrics": {name: {"unit", "per_round": [...], "per_second": [...], "degradation_ratio": last / first round}},
     "junctions": [{"frame", "time_s", "boundary_jump", "track_survival", "track_survival_control"}],
     "depth": {"source": "...", "reason": "..."}, "tracks": {"source": "...", "reason": "..."}, "files": {...}}

Metric names are ``<family>/<name>`` (``/`` becomes ``_`` in plot file names). NaN is written as ``null`` (JSON) and
``nan`` (CSV); ``depth`` / ``tracks`` hold a ``reason`` when their values are NaN.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

from panoworld.errors import InputError
from panoworld.io.atomic import atomic_write_json, atomic_write_text

__all__ = ["EXTENSION_REPORT", "EXTENSION_FORMAT", "EXTENSION_VERSION", "EXTENSION_FILES", "plot_file", "json_ready",
           "write_extension_report", "read_extension_report"]

EXTENSION_REPORT = "extension_report.json"
EXTENSION_FORMAT = "panoworld-extension-report"
EXTENSION_VERSION = 1
EXTENSION_FILES = {"report": EXTENSION_REPORT, "per_second": "extension_per_second.csv",
                   "per_round": "extension_per_round.csv", "junctions": "extension_junctions.csv", "plots": "plots"}
JUNCTION_COLUMNS = ("junction", "frame", "time_s", "boundary_jump", "track_survival", "track_survival_control")


def plot_file(folder: str | os.PathLike, metric: str) -> Path:
    """Where the plot of ``metric`` goes."""
    return Path(folder) / EXTENSION_FILES["plots"] / f"{metric.replace('/', '_')}.png"


def json_ready(value):
    """``value`` (nested dicts, lists, tuples) with every non-finite float as None, for strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def _fmt(value) -> str:
    return "nan" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.6g}" \
        if isinstance(value, float) else str(value)


def _csv(header, rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_fmt(v) for v in row] for row in rows])
    return buf.getvalue()


def write_extension_report(folder: str | os.PathLike, report: dict) -> dict:
    """Write the CSVs, then ``extension_report.json`` last (atomically); return the files written by kind."""
    folder = Path(folder)
    metrics = report["metrics"]
    per_second = [(s, name, v) for name, m in metrics.items() for s, v in enumerate(m["per_second"])]
    per_round = [(r, name, v) for name, m in metrics.items() for r, v in enumerate(m["per_round"])]
    junctions = [[i] + [j.get(k) for k in JUNCTION_COLUMNS[1:]] for i, j in enumerate(report["junctions"])]
    files = {}
    for kind, header, rows in (("per_second", ("second", "metric", "value"), per_second),
                               ("per_round", ("round", "metric", "value"), per_round),
                               ("junctions", JUNCTION_COLUMNS, junctions)):
        files[kind] = str(atomic_write_text(folder / EXTENSION_FILES[kind], _csv(header, rows)))
    files["report"] = str(folder / EXTENSION_REPORT)
    data = {"format": EXTENSION_FORMAT, "version": EXTENSION_VERSION, **report,
            "files": {**report.get("files", {}), **files}}
    atomic_write_json(folder / EXTENSION_REPORT, json_ready(data))
    return files


def read_extension_report(folder: str | os.PathLike) -> dict:
    """The report of ``folder`` (raises :class:`InputError` for a missing, unreadable or newer one)."""
    path = Path(folder) / EXTENSION_REPORT
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: no readable extension report ({exc})") from None
    if data.get("format") != EXTENSION_FORMAT:
        raise InputError(f"{path} is not an extension report")
    if int(data.get("version", 0)) > EXTENSION_VERSION:
        raise InputError(f"{path}: version {data['version']} is newer than this panoworld understands; upgrade")
    return data
