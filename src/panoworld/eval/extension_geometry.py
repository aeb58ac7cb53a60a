"""Depth and track survival of a long video for ``panoworld eval extension``: from files when there are some, else
from the annotators (DAP, CoTracker3) when their weights are installed, else NaN with the reason.

Depth: ``--depth FILE`` or the generation folder's ``depth.npz`` (``depth`` (K, h, w) metres, optional
``frame_indices`` / ``times``: the viewer's layout, docs/view.md), else DAP on frames sampled at ``depth_fps``.
Tracks: ``--tracks FILE`` (viewer layout: ``tracks_2d`` (N, M, 2), ``visibility`` (N, M), optional
``frame_indices`` / ``times``), else CoTracker3 on a window around every junction (and, as a control, a window of
the same length inside every round).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from panoworld.errors import InputError, MissingComponentError
from .align import read_frames_at
from .extension_stats import track_survival

__all__ = ["GeometrySettings", "DepthFrames", "load_depth", "junction_track_survival"]


@dataclass
class GeometrySettings:
    """Where depth and tracks come from and how the annotators run (sizes in pixels, rates in frames/s)."""

    depth: Path | None = None
    tracks: Path | None = None
    annotate: bool = True
    device: str = "cpu"
    depth_fps: float = 4.0
    depth_size: tuple[int, int] = (512, 1024)
    track_size: tuple[int, int] = (256, 512)
    track_grid: int = 16
    track_reach_s: float = 0.5
    models: dict = field(default_factory=dict)  # "dap" / "cotracker": already loaded networks (tests, reuse)


@dataclass
class DepthFrames:
    """(K, h, w) range in metres at video frames ``frame_indices`` (K,), or None with ``reason``."""

    depth: np.ndarray | None
    frame_indices: np.ndarray | None
    source: str
    reason: str = ""


def _npz_indices(npz, count: int, fps: float) -> np.ndarray:
    if "frame_indices" in npz:
        return np.asarray(npz["frame_indices"], np.int64)[:count]
    if "times" in npz:
        return np.round(np.asarray(npz["times"], np.float64)[:count] * fps).astype(np.int64)
    return np.arange(count)


def _annotator(name: str, settings: GeometrySettings):
    """The loaded DAP ("dap") or CoTracker3 ("cotracker") network on the settings' device, or an error string."""
    if name in settings.models:
        return settings.models[name]
    if not settings.annotate:
        return "annotators disabled (--no-annotate)"
    from panoworld.annotate.checkpoints import read_state_dict, weights_path
    from panoworld.annotate.models import COTRACKER_FILE, COTRACKER_SOURCE, DAP_FILE, DAP_SOURCE, pick_device

    file, source = (DAP_FILE, DAP_SOURCE) if name == "dap" else (COTRACKER_FILE, COTRACKER_SOURCE)
    try:
        state = read_state_dict(weights_path(None, file, source=source))
    except MissingComponentError as exc:
        return f"annotator not installed: {exc}"
    if name == "dap":
        from panoworld.annotate.dap_keys import load_dap as load
    else:
        from panoworld.annotate.cotracker_keys import load_cotracker as load
    settings.models[name] = load(state).to(pick_device(settings.device)).eval()
    return settings.models[name]


def load_depth(video: Path, folder: Path | None, settings: GeometrySettings, *, frames: int, fps: float,
               depth_name: str, advance: Callable[[int], None] | None = None) -> DepthFrames:
    """Depth of the video (see the module docstring); ``depth_name`` is the generation folder's depth file name."""
    path = settings.depth or (folder / depth_name if folder is not None else None)
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                depth = np.asarray(npz["depth"], np.float32)
                if depth.ndim != 3:
                    raise ValueError("'depth' must be (T, H, W)")
                return DepthFrames(depth, _npz_indices(npz, len(depth), fps), f"{path.name} (range in metres)")
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: unreadable depth file ({exc})") from None
    if settings.depth is not None:
        raise InputError(f"depth file not found: {settings.depth}")
    dap = _annotator("dap", settings)
    if isinstance(dap, str):
        return DepthFrames(None, None, "none", f"no {depth_name} beside the video and {dap}")
    step = max(1.0, fps / settings.depth_fps)
    indices = sorted({min(frames - 1, int(round(k * step))) for k in range(int(math.ceil(frames / step)))})
    maps = []
    for start in range(0, len(indices), 8):
        chunk = indices[start:start + 8]
        pixels = read_frames_at(video, chunk, settings.depth_size)
        maps.append(dap.predict(pixels)[0].numpy())
        if advance is not None:
            advance(len(chunk))
    return DepthFrames(np.concatenate(maps), np.asarray(indices), f"DAP annotator at {settings.depth_fps:g} fps")


def _windows(junctions: list[int], overlap: int, bounds: list[tuple[int, int]], frames: int,
             reach: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """[first, last] frame windows across every junction, and control windows of the same length inside rounds."""
    across = [(max(0, j - reach), min(frames - 1, j + overlap - 1 + reach)) for j in junctions]
    length = max((b - a for a, b in across), default=2 * reach)
    control = []
    for start, end in bounds:
        mid = (start + end) // 2
        a, b = mid - length // 2, mid - length // 2 + length
        if a >= 0 and b < frames and b > a and all(b < x or a > y for x, y in across):
            control.append((a, b))
    return across, control


def junction_track_survival(video: Path, settings: GeometrySettings, *, junctions: list[int], overlap: int,
                            bounds: list[tuple[int, int]], frames: int, fps: float,
                            advance: Callable[[int], None] | None = None) -> tuple[list[float], float, str, str]:
    """(survival per junction, mean control survival, source, reason): the fraction of tracks visible at the start
    of a window around the junction that are still visible at its end; the control uses windows inside rounds."""
    nan = [math.nan] * len(junctions)
    across, control = _windows(junctions, overlap, bounds, frames, max(1, int(round(settings.track_reach_s * fps))))
    if settings.tracks is not None:
        if not settings.tracks.is_file():
            raise InputError(f"tracks file not found: {settings.tracks}")
        with np.load(settings.tracks, allow_pickle=False) as npz:
            if "visibility" not in npz:
                raise InputError(f"{settings.tracks} must hold 'visibility' (N, T)")
            vis = np.asarray(npz["visibility"])
            at = _npz_indices(npz, vis.shape[1], fps)

        def survive(a: int, b: int) -> float:
            ia, ib = int(np.abs(at - a).argmin()), int(np.abs(at - b).argmin())
            return track_survival(vis, ia, ib) if ib > ia else math.nan

        source, reason = f"{settings.tracks.name}", ""
    else:
        tracker = _annotator("cotracker", settings)
        if isinstance(tracker, str):
            return nan, math.nan, "none", tracker
        from panoworld.annotate.tracking import track_erp

        def survive(a: int, b: int) -> float:
            pixels = read_frames_at(video, list(range(a, b + 1)), settings.track_size)
            _, visibility = track_erp(tracker, pixels, grid_size=settings.track_grid)
            if advance is not None:
                advance(1)
            return float((visibility[:, -1] > 0.5).float().mean())  # every query point lives at the window start

        source, reason = f"CoTracker3 annotator, grid {settings.track_grid}", ""
    survival = [survive(a, b) for a, b in across]
    controls = [v for v in (survive(a, b) for a, b in control) if math.isfinite(v)]
    return survival, (float(np.mean(controls)) if controls else math.nan), source, reason

