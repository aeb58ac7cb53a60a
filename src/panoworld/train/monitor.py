"""What a run reports: a progress bar (loss, it/s, ETA), ``metrics.jsonl``, TensorBoard events, the run record.

``metrics.jsonl``: one JSON object per logged step, ``{"step": s, "time": unix seconds, "<name>": value, ...}``
(``loss``, ``flow``, ``depth``, ``track``, ``rigidity``: means over the global batch; ``lr``, ``grad_norm``,
``samples_per_s``, ``val/<metric>``). On resume, lines past the resumed step are dropped first, so the file reads as
one uninterrupted run. TensorBoard events go to ``tensorboard/`` when the ``tensorboard`` package is installed
(``pip install 'panoworld[train]'``); without it they are skipped and the run record says so. The names and the
run record (``training_run.json``) are ``panoworld.formats.training``'s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from panoworld.formats.training import METRICS_LOG, TENSORBOARD_DIR, TrainingRecord
from panoworld.io.atomic import atomic_write_text

__all__ = ["MetricsLogger", "ProgressDisplay", "open_run_record"]


class MetricsLogger:
    """Appends metrics to ``metrics.jsonl`` and (optionally) TensorBoard."""

    def __init__(self, run_dir: Path, *, tensorboard: bool, resume_step: int = 0):
        self.path = Path(run_dir) / METRICS_LOG
        if self.path.is_file():
            kept = [line for line in self.path.read_text().splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= resume_step]
            atomic_write_text(self.path, "".join(f"{line}\n" for line in kept))
        self.writer = None
        self.tensorboard_note = "off"
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(Path(run_dir) / TENSORBOARD_DIR), purge_step=resume_step + 1)
                self.tensorboard_note = f"{TENSORBOARD_DIR}/"
            except ImportError:
                self.tensorboard_note = "skipped: the tensorboard package is not installed"

    def log(self, step: int, values: dict) -> None:
        record = {"step": int(step), "time": round(time.time(), 3), **values}
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class ProgressDisplay:
    """A rich progress bar on stderr: step, loss, it/s and ETA (hidden when disabled)."""

    def __init__(self, total: int, start: int, enabled: bool):
        self.progress = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]} it/s"),
                                 TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))
        self.task = self.progress.add_task("train", total=total, completed=start, loss="-", rate="-")
        self.progress.start()

    def update(self, step: int, loss: float | None = None, rate: float | None = None) -> None:
        if self.progress is None:
            return
        fields = {}
        if loss is not None:
            fields["loss"] = f"{loss:.4f}"
        if rate is not None:
            fields["rate"] = f"{rate:.2f}"
        self.progress.update(self.task, completed=step, **fields)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def open_run_record(run_dir: Path, content: dict, kind: str = "train") -> TrainingRecord:
    """The run record (``formats.training.TrainingRecord``) with this environment's library versions."""
    from panoworld.pipelines.record import library_versions

    return TrainingRecord(run_dir, content, kind=kind, libraries=library_versions())
