"""Drift of a long video over its rounds (``panoworld eval extension``; reference ``eval_extension.py``, §6.7).

For any long ERP video (ours or another method's): per-frame colour statistics, sharpness, the seam metrics, pole
metrics and depth statistics (:mod:`.extension_stats`, :mod:`.extension_geometry`), averaged per second and per
round; at every junction between rounds a boundary-jump score and the survival of point tracks across it; the
degradation ratio last round / first round of every metric; one plot per metric over time. The report's files are
owned by :mod:`panoworld.formats.drift_report`.

Where the rounds are (:class:`RoundLayout`): a generation folder's ``run.json`` says it exactly
(``run_info.extension``, :mod:`panoworld.pipelines.timeline`); for other videos give the junction frames or a round
length in seconds; otherwise the video counts as one round (per-second drift only).

The video is read in chunks, so memory does not grow with its length; only one value per frame and metric is kept.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from panoworld.errors import InputError
from panoworld.formats.drift_report import plot_file, write_extension_report
from panoworld.formats.run_records import GENERATION_OUTPUTS, read_generation_record
from panoworld.io import iter_video, probe_video

from .extension_geometry import GeometrySettings, junction_track_survival, load_depth
from .extension_stats import (
    DEPTH_METRICS,
    FRAME_METRICS,
    FrameStatistics,
    boundary_jump,
    depth_round_cv,
    depth_statistics,
    window_means,
)
from .timeline_chart import line_chart

__all__ = ["RoundLayout", "resolve_video", "resolve_layout", "evaluate_extension", "run_extension_eval"]


@dataclass(frozen=True)
class RoundLayout:
    """First frame of every round (the first is 0), frames cross-faded at each junction, and where this came from."""

    starts: tuple[int, ...]
    overlap: int = 1
    source: str = "single round"

    def junctions(self) -> list[int]:
        return list(self.starts[1:])

    def bounds(self, frames: int) -> list[tuple[int, int]]:
        """[start, end) frames of every round."""
        ends = list(self.starts[1:]) + [frames]
        return [(s, e) for s, e in zip(self.starts, ends)]


def resolve_video(path: Path) -> tuple[Path, Path | None]:
    """(video file, generation folder or None): a folder must hold ``pano.mp4``; a file's folder counts when it
    holds a generation record."""
    path = Path(path)
    if path.is_dir():
        video = path / GENERATION_OUTPUTS["video"]
        if not video.is_file():
            raise InputError(f"{path}: no {GENERATION_OUTPUTS['video']} in this folder (give the video file)")
        return video, path
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    try:
        record = read_generation_record(path.parent)
    except InputError:
        record = None
    return path, (path.parent if record is not None else None)


def resolve_layout(frames: int, fps: float, folder: Path | None, *, junctions: list[int] | None = None,
                   round_seconds: float | None = None, overlap: int | None = None) -> RoundLayout:
    """The rounds of a ``frames``-frame video: given ``junctions`` (frames), a uniform ``round_seconds``, the
    generation record of ``folder``, or one round."""
    if junctions is not None and round_seconds is not None:
        raise InputError("give --junctions or --round-seconds, not both")
    if junctions is not None:
        if sorted(set(junctions)) != list(junctions) or not all(0 < j < frames for j in junctions):
            raise InputError(f"--junctions must be increasing frame indices in (0, {frames}), got {junctions}")
        return RoundLayout((0, *junctions), overlap or 1, "--junctions")
    if round_seconds is not None:
        stride = int(round(round_seconds * fps))
        if stride < 1:
            raise InputError(f"--round-seconds must be at least one frame, got {round_seconds}")
        return RoundLayout(tuple(range(0, frames, stride)), overlap or 1, f"--round-seconds {round_seconds:g}")
    extension = None
    if folder is not None:
        record = read_generation_record(folder)
        extension = (record.run_info or {}).get("extension") if record is not None else None
    if extension:
        starts = tuple(j for j in [0, *extension.get("junctions", [])] if j < frames)
        return RoundLayout(starts, overlap or int(extension.get("overlap", 1)), "run.json")
    return RoundLayout((0,), overlap or 1)


def _per_second(values: np.ndarray, at: np.ndarray, frames: int, fps: float) -> list[float]:
    seconds = max(1, int(math.ceil(frames / fps)))
    return window_means(values, at, [(int(round(s * fps)), int(round((s + 1) * fps))) for s in range(seconds)])


def _ratio(per_round: list[float]) -> float:
    first, last = per_round[0], per_round[-1]
    if len(per_round) < 2 or not (math.isfinite(first) and math.isfinite(last)) or first == 0:
        return math.nan
    return last / first


def evaluate_extension(video: Path, folder: Path | None, layout_args: dict | None = None,
                       geometry: GeometrySettings | None = None, *,
                       advance: Callable[[int], None] | None = None) -> tuple[dict, dict]:
    """(report, series): the drift report of ``video`` (see :mod:`panoworld.formats.drift_report`) and the
    per-frame series behind it (metric -> (times in s, values)) for the plots."""
    geometry = geometry or GeometrySettings()
    info = probe_video(video, count_frames=True)
    frames, fps = int(info.num_frames), float(info.fps)
    if frames < 2:
        raise InputError(f"{video}: a drift report needs at least 2 frames, the video has {frames}")
    layout = resolve_layout(frames, fps, folder, **(layout_args or {}))
    bounds = layout.bounds(frames)
    stats = FrameStatistics()
    for chunk in iter_video(video, chunk_size=8):
        stats.update(chunk)
        if advance is not None:
            advance(chunk.shape[0])
    at = np.arange(frames)
    series = {name: (at, np.asarray(values, np.float64)) for name, values in stats.values.items()}
    depth = load_depth(video, folder, geometry, frames=frames, fps=fps, depth_name=GENERATION_OUTPUTS["depth"],
                       advance=advance)
    if depth.depth is not None:
        series.update({name: (depth.frame_indices, values)
                       for name, values in depth_statistics(depth.depth, depth.frame_indices, fps).items()})
    else:
        series.update({name: (at[:0], np.zeros(0)) for name in DEPTH_METRICS})
    units = {**FRAME_METRICS, **DEPTH_METRICS, "depth/temporal_cv": "1 (median std/mean over time)"}
    metrics = {}
    for name, (index, values) in series.items():
        per_round = window_means(values, index, bounds)
        metrics[name] = {"unit": units[name], "per_round": per_round,
                         "per_second": _per_second(values, index, frames, fps), "degradation_ratio": _ratio(per_round)}
    cv = depth_round_cv(depth.depth, depth.frame_indices, bounds) if depth.depth is not None else \
        [math.nan] * len(bounds)
    metrics["depth/temporal_cv"] = {"unit": units["depth/temporal_cv"], "per_round": cv, "per_second": [],
                                    "degradation_ratio": _ratio(cv)}
    survival, control, track_source, track_reason = junction_track_survival(
        video, geometry, junctions=layout.junctions(), overlap=layout.overlap, bounds=bounds, frames=frames, fps=fps,
        advance=None) if layout.junctions() else ([], math.nan, "none", "one round: no junctions")
    change = series["motion/frame_change"][1]
    junctions = [{"frame": j, "time_s": j / fps, "boundary_jump": boundary_jump(change, j, layout.overlap, fps),
                  "track_survival": s, "track_survival_control": control}
                 for j, s in zip(layout.junctions(), survival)]
    report = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "video": str(video), "fps": fps, "frames": frames, "size": [info.height, info.width],
        "layout": {"starts": list(layout.starts), "overlap": layout.overlap, "source": layout.source},
        "metrics": metrics, "junctions": junctions,
        "depth": {"source": depth.source, "reason": depth.reason},
        "tracks": {"source": track_source, "reason": track_reason},
    }
    return report, {name: (np.asarray(index) / fps, values) for name, (index, values) in series.items()}


def run_extension_eval(path: Path, out: Path | None = None, layout_args: dict | None = None,
                       geometry: GeometrySettings | None = None, *,
                       advance: Callable[[int], None] | None = None) -> tuple[dict, Path]:
    """Evaluate ``path`` (a video or a generation folder) and write the report into ``out`` (default: the
    generation folder's ``extension/``, else ``<video stem>_extension/`` beside the video); return (report, out)."""
    video, folder = resolve_video(path)
    out = Path(out) if out is not None else (folder / "extension" if folder is not None and Path(path).is_dir()
                                             else video.parent / f"{video.stem}_extension")
    report, series = evaluate_extension(video, folder, layout_args, geometry, advance=advance)
    marks = [j["time_s"] for j in report["junctions"]]
    plots = {}
    for name, (times, values) in series.items():
        unit = report["metrics"][name]["unit"]
        target = plot_file(out, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        line_chart(target, name, times.tolist(), values.tolist(), markers=marks, subtitle=unit)
        plots[name] = str(target)
    report["files"] = {"plots": plots}
    report["files"].update(write_extension_report(out, report))
    return report, out
