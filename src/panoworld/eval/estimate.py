"""Annotating methods' videos for the geometry metrics (``panoworld eval run``) with :mod:`panoworld.annotate`.

A method that brings no annotations (every generator; ``--annotate all``: every method), or only some (PanoWorld's
depth head: depth without tracks or camera; its own values are kept), is annotated from its video on the evaluation
clock: the clock frames at the GT's annotation times inside the window (frame 0 first;
without GT times ``frames`` evenly over the window), at the GT video size (rounded to a multiple of 16 rows),
tracks queried at the GT's query points (``query_points.npy``, else its tracks at frame 0; else a grid), so the
track metrics compare the same points. The folder ``<results>/<method>/<clip>/estimated/`` (an annotation folder,
``panoworld.formats.results.ResultsLayout.estimated``) caches it: its ``meta.json`` (written last) holds the
settings key (annotator weights and settings) and the inputs key (the video, the GT times and queries, the
clock); a matching folder is reused, so a killed run loses at most the clip in flight.

Without the networks' weights (their default locations empty) the geometry of such methods is NaN with the reason
and one warning names what to install; weights given explicitly must load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from panoworld.errors import InputError
from panoworld.formats.annotations import Annotations, has_annotations, is_complete, read_annotations
from panoworld.formats.job_record import read_record, settings_key, source_fingerprint
from panoworld.sphere import lonlat_to_pixel, pixel_to_lonlat, query_grid, resize_erp

from .align import AlignConfig

__all__ = ["ANNOTATE_MODES", "GEOMETRY_FILES", "EstimateSettings", "Estimator", "annotation_frames", "gt_queries"]

#: ``--annotate``: annotate the methods without annotations, every method, or none.
ANNOTATE_MODES = ("missing", "all", "none")
#: A method's own annotation files without which ``--annotate missing`` also annotates its video.
GEOMETRY_FILES = ("tracks_2d.npy", "camera_poses.npy")


@dataclass(frozen=True)
class EstimateSettings:
    """How methods' videos are annotated. ``grid`` / ``frames`` apply only where the GT has no query points /
    annotation times; ``pad`` (fraction of the width) and ``iters`` are the tracker's."""

    mode: str = "missing"
    dap_weights: str | None = None
    cotracker_weights: str | None = None
    tiny_random: bool = False
    grid: int = 30
    frames: int = 20
    pad: float = 0.25
    iters: int = 6
    depth_batch: int = 4

    def validate(self) -> "EstimateSettings":
        if self.mode not in ANNOTATE_MODES:
            raise InputError(f"--annotate must be one of {', '.join(ANNOTATE_MODES)}, got {self.mode!r}")
        return self


def annotation_frames(gt: Annotations | None, cfg: AlignConfig, frames: int) -> list[int]:
    """Clock frames to annotate: those nearest the GT's annotation times inside the window, with frame 0 first."""
    end = (cfg.n_frames - 0.5) / cfg.fps
    times = gt.times[gt.times <= end] if gt is not None and len(gt.times) else np.linspace(0, end, frames)
    clock = np.minimum(np.floor(np.asarray(times) * cfg.fps + 0.5).astype(int), cfg.n_frames - 1).tolist()
    return sorted(set([0, *clock]))


def gt_queries(gt: Annotations | None, size: tuple[int, int], grid: int) -> torch.Tensor:
    """(N, 2) frame-0 query points in pixels of an ERP of ``size``: the GT's query points, else its tracks at its
    first annotation frame, else a ``grid`` x ``grid`` grid."""
    if gt is not None and gt.query_points is not None:
        src = torch.as_tensor(gt.query_points, dtype=torch.float64)
    elif gt is not None and gt.tracks_2d is not None:
        src = torch.as_tensor(gt.tracks_2d[:, 0], dtype=torch.float64)
    else:
        return query_grid(*size, grid, dtype=torch.float64)
    lonlat = pixel_to_lonlat(src[:, 0], src[:, 1], *gt.size)
    return lonlat_to_pixel(lonlat, *size)


def _digest(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(array, np.float64)).tobytes()).hexdigest()


class Estimator:
    """Annotates methods' clock videos (see the module docstring); the networks load on first use."""

    def __init__(self, settings: EstimateSettings, device: str = "cpu", *, networks: tuple | None = None):
        """``networks``: (DAP model, CoTracker3 model) on ``device`` to use instead of loading weights (benchmarks
        with full-size random networks); the settings key then records only their configurations."""
        from panoworld.annotate.models import weight_fingerprints

        self.settings = settings.validate()
        self.device = device
        self.unavailable = self.install_hint = ""
        self._models = networks
        weights: dict = {"tiny_random": True}
        if networks is not None:
            weights = {"given": [net.config.to_dict() for net in networks]}
        elif settings.mode != "none":
            weights, missing = weight_fingerprints(settings.dap_weights, settings.cotracker_weights,
                                                   tiny_random=settings.tiny_random, required=False)
            if missing:
                self.unavailable = ("the annotation networks are not installed ("
                                    + ", ".join(f"$PANOWORLD_WEIGHTS/{file}" for file, _, _ in missing) + ")")
                self.install_hint = ("; ".join(f"{file} from {source} (or {flag})" for file, source, flag in missing)
                                     + ": see docs/annotate.md")
        fields = ("grid", "frames", "pad", "iters")
        self.key = settings_key({"weights": weights, **{f: getattr(settings, f) for f in fields}})

    @property
    def enabled(self) -> bool:
        return self.settings.mode != "none"

    def wanted(self, own_folder: Path) -> bool:
        """Whether a method's video is annotated: always with ``--annotate all``, never with ``none``; with
        ``missing`` when the method's folder ``own_folder`` brings no annotations or not all of
        :data:`GEOMETRY_FILES` (PanoWorld's depth head gives depth only: tracks and camera then come from the
        annotation, the method's own values are kept where it has them)."""
        if self.settings.mode != "missing":
            return self.settings.mode == "all"
        return not has_annotations(own_folder) or not all((Path(own_folder) / f).is_file() for f in GEOMETRY_FILES)

    def why_not(self, has_own: bool) -> str:
        """Why a method's geometry rows are NaN (``has_own``: it brought annotations, unused with --annotate all
        or lacking tracks or camera with --annotate missing)."""
        if self.settings.mode == "none":
            return "the method brings no annotations and --annotate none was given"
        if has_own:
            if self.settings.mode == "all":
                return f"--annotate all and {self.unavailable}"
            return f"the method's annotations lack tracks or camera and {self.unavailable}"
        return f"the method brings no annotations and {self.unavailable}"

    def _networks(self):
        if self._models is None:
            from panoworld.annotate.models import load_annotation_models, pick_device

            s = self.settings
            self._models = load_annotation_models(pick_device(self.device), dap_weights=s.dap_weights,
                                                  cotracker_weights=s.cotracker_weights, tiny_random=s.tiny_random)
        return self._models

    def annotations(self, folder: Path, video_path: Path, clock: torch.Tensor, source_index: list[int],
                    fps: float, gt: Annotations | None, cfg: AlignConfig,
                    on_compute: Callable[[], None] | None = None) -> Annotations:
        """The cached annotation folder of a method's clock video (``clock`` (T, 3, H, W), frame ``i`` showing
        source frame ``source_index[i]`` of a video at ``fps``), made first when missing or out of date."""
        from panoworld.annotate.dap import dap_erp_size
        from panoworld.annotate.pipeline import AnnotateOptions, annotate_frames, write_annotation

        s = self.settings
        picks = annotation_frames(gt, cfg, s.frames)
        size = dap_erp_size(clock.shape[-2])
        queries = gt_queries(gt, size, s.grid)
        sources = [source_index[i] for i in picks]
        times = [float(v) / fps for v in sources]
        video_id = {k: v for k, v in source_fingerprint(video_path).items() if k != "path"}
        inputs = settings_key({"video": video_id, "frames": sources, "fps": fps, "queries": _digest(queries),
                               "size": list(size)})
        record = read_record(folder / "meta.json") or {}
        if not (is_complete(folder) and record.get("settings_key") == self.key and record.get("inputs_key") == inputs):
            if on_compute is not None:
                on_compute()
            frames = clock[picks]
            if tuple(frames.shape[-2:]) != size:
                frames = resize_erp(frames, size)
            dap, tracker = self._networks()
            options = AnnotateOptions(grid_size=s.grid, pad_frac=s.pad, iters=s.iters, depth_batch=s.depth_batch,
                                      queries=queries.float())
            ann = annotate_frames(frames.float(), dap, tracker, options, frame_indices=sources)
            write_annotation(ann, folder, {"source": "panoworld eval run (panoworld.annotate)",
                                           "frame_times_s": times, "tiny_random": s.tiny_random,
                                           "settings_key": self.key, "inputs_key": inputs})
        return read_annotations(folder, video_fps=fps)
