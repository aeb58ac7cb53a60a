"""An evaluation results folder (``panoworld eval infer / run``), version 1::

    <results>/
      <method>/<split>__<clip>/video.mp4          the method's output (ERP video at its native fps)
      <method>/<split>__<clip>/method_run.json    method-run record (``run_records``), written last = done
      <method>/<split>__<clip>/failed.json        why the clip failed (``job_record``; removed when it later succeeds)
      <method>/<split>__<clip>/depth/ ... meta.json   optional annotations of the output (``annotations``)
      <method>/<split>__<clip>/estimated/          annotations of the output made by ``eval run`` (``annotations``;
                                                  meta.json holds the annotators' settings and inputs keys)
      infer_summary.json                          status of every (method, clip) of the last ``eval infer``
      _work/<method>/<split>__<clip>/             scratch of a running method: input.png, input.mp4, caption.txt,
                                                  output.<ext>, command.log (removed after a success)
      _scores/<method>/<split>__<clip>.csv        that clip's metric rows
      _scores/<method>/<split>__<clip>.json       its score record (settings and inputs keys), written last = done
      _scores/<method>/_distributional.csv        Fréchet rows per bucket
      _features/<owner>/<backbone>/<clip>.<key>.npy   per-clip feature cache (``eval.metrics.FeatureCache``)
      results_long.csv                            every row, re-assembled after each scoring run
      eval_run.json                               the last ``eval run``: settings key, backbones used / left out

A report folder (``panoworld eval report``, :class:`ReportLayout`): ``summary_<grouping>.csv``, ``ranking.csv``,
``report.md``, ``report.tex`` and ``charts/<family>.png`` (one panel per headline metric).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from panoworld.errors import InputError

from .job_record import FAILURE_RECORD
from .run_records import LEGACY_METHOD_RUN_RECORD, METHOD_RUN_RECORD, read_method_run
from .testset import TestClip

__all__ = ["RESULTS_VERSION", "METHOD_VIDEO", "ResultsLayout", "ReportLayout", "WorkFiles", "result_dir",
           "feature_file", "method_run_complete", "record_files"]

RESULTS_VERSION = 1
METHOD_VIDEO = "video.mp4"
WORK_DIR = "_work"
ESTIMATED_DIR = "estimated"
SCORES_DIR = "_scores"
FEATURES_DIR = "_features"
DISTRIBUTIONAL_SCORES = "_distributional.csv"
LONG_CSV = "results_long.csv"
INFER_SUMMARY = "infer_summary.json"
SCORE_RUN = "eval_run.json"


@dataclass(frozen=True)
class ResultsLayout:
    """Paths of an evaluation results folder; ``clip`` arguments are a clip's folder name ``<split>__<name>``."""

    root: Path

    def clip_dir(self, method: str, clip: str) -> Path:
        return self.root / method / clip

    def video(self, method: str, clip: str) -> Path:
        return self.clip_dir(method, clip) / METHOD_VIDEO

    def estimated(self, method: str, clip: str) -> Path:
        """The annotation folder ``eval run`` makes from the method's video (when the method brings none)."""
        return self.clip_dir(method, clip) / ESTIMATED_DIR

    def failure(self, method: str, clip: str) -> Path:
        return self.clip_dir(method, clip) / FAILURE_RECORD

    def work_dir(self, method: str, clip: str) -> Path:
        return self.root / WORK_DIR / method / clip

    def scores(self, method: str, clip: str) -> Path:
        return self.root / SCORES_DIR / method / f"{clip}.csv"

    def score_record(self, method: str, clip: str) -> Path:
        return self.scores(method, clip).with_suffix(".json")

    def distributional(self, method: str) -> Path:
        return self.root / SCORES_DIR / method / DISTRIBUTIONAL_SCORES

    @property
    def features(self) -> Path:
        return self.root / FEATURES_DIR

    @property
    def long_csv(self) -> Path:
        return self.root / LONG_CSV

    @property
    def infer_summary(self) -> Path:
        return self.root / INFER_SUMMARY

    @property
    def score_run(self) -> Path:
        return self.root / SCORE_RUN


def feature_file(cache_root: str | os.PathLike, owner: str, backbone: str, clip: str, key: str | None) -> Path:
    """A cached feature array of one clip (``key=None``: the glob pattern of all its keys)."""
    return Path(cache_root) / owner / backbone / f"{clip}.{'*' if key is None else key}.npy"


@dataclass(frozen=True)
class ReportLayout:
    """Files of a report folder."""

    root: Path

    def summary(self, grouping: str) -> Path:
        return self.root / f"summary_{grouping}.csv"

    @property
    def ranking(self) -> Path:
        return self.root / "ranking.csv"

    @property
    def markdown(self) -> Path:
        return self.root / "report.md"

    @property
    def latex(self) -> Path:
        return self.root / "report.tex"

    @property
    def charts(self) -> Path:
        return self.root / "charts"

    def chart(self, metric: str) -> Path:
        """The bar chart of ``metric`` (``/`` and ``@`` made file-name safe)."""
        return self.charts / (metric.replace("/", "__").replace("@", "_at_") + ".png")


def result_dir(results: str | os.PathLike, method: str, clip: TestClip) -> Path:
    """``<results>/<method>/<split>__<clip>/``: where a method's output for a test clip lives."""
    return ResultsLayout(Path(results)).clip_dir(method, clip.dirname)


@dataclass(frozen=True)
class WorkFiles:
    """Files in a method's scratch folder that an external command template can name (docs/eval.md)."""

    root: Path

    @property
    def input_image(self) -> Path:
        return self.root / "input.png"

    @property
    def input_video(self) -> Path:
        return self.root / "input.mp4"

    @property
    def caption(self) -> Path:
        return self.root / "caption.txt"

    @property
    def log(self) -> Path:
        return self.root / "command.log"

    def output(self, suffix: str = ".mp4") -> Path:
        return self.root / f"output{suffix}"


def method_run_complete(folder: str | os.PathLike) -> bool:
    """A result folder is finished when its method-run record (written last) and its video exist."""
    folder = Path(folder)
    if not (folder / METHOD_VIDEO).is_file():
        return False
    try:
        return read_method_run(folder) is not None
    except InputError:
        return False


def record_files(folder: str | os.PathLike) -> list[Path]:
    """The files whose change makes a clip's scores stale: its video and method-run record (any name) that exist."""
    folder = Path(folder)
    names = (METHOD_VIDEO, METHOD_RUN_RECORD, LEGACY_METHOD_RUN_RECORD)
    return [folder / n for n in names if (folder / n).is_file()]
