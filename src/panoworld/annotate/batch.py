"""Annotate many clips (``panoworld annotate``): clip discovery, settings-keyed resume, per-clip failure records.

Each clip's annotation folder (``panoworld.formats.annotations``) gets its ``meta.json`` written last
(:func:`~panoworld.annotate.pipeline.write_annotation`); it holds the settings key (frames, size, tracking options,
the networks' weights) and the inputs key (the source video's size and modification time); re-runs follow
:mod:`panoworld.formats.job_record`. A clip that fails gets ``failed.json`` in its folder and the others go on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from panoworld.errors import InputError
from panoworld.formats.annotations import META, is_complete
from panoworld.formats.job_record import Item, Report, plan_items, settings_key, source_fingerprint

__all__ = ["AnnotateSettings", "list_clips", "annotate_clips"]


@dataclass(frozen=True)
class AnnotateSettings:
    """What determines a clip's annotation (sizes in pixels).

    Attributes:
        frames: annotation frames per clip, evenly spaced in time (>= 2).
        size: (height, width) of the ERP frames (width = 2 x height).
        grid: tracks from a grid x grid grid of frame-0 queries.
        pad: circular padding per side for tracking, fraction of the width in [0, 1].
        iters: CoTracker refinement iterations.
        query_region: "erp" (each query once) or "padded" (over the padded frame, as the reference).
    """

    frames: int = 20
    size: tuple[int, int] = (512, 1024)
    grid: int = 30
    pad: float = 0.25
    iters: int = 6
    query_region: str = "erp"

    def validate(self) -> "AnnotateSettings":
        """Raise :class:`InputError` (one line) for an unusable setting; return ``self``."""
        height, width = self.size
        if width != 2 * height or height <= 0:
            raise InputError(f"--size must be an ERP size with width = 2 x height, got {height}x{width}")
        if self.query_region not in ("erp", "padded"):
            raise InputError(f"--query-region must be erp or padded, got {self.query_region!r}")
        if self.frames < 2 or self.grid < 1 or self.iters < 1 or not 0 <= self.pad <= 1:
            raise InputError("--frames must be >= 2, --grid and --iters >= 1, --pad in [0, 1]")
        return self


def list_clips(source: Path, split: str = "all") -> list[tuple[str, Path]]:
    """(name, video path) pairs of a clip source (``panoworld.formats.clips.find_clips``: a video, a folder of
    videos, a cut folder, a training package's ``split`` or a master.csv)."""
    from panoworld.formats.clips import find_clips

    if split not in ("all", "train", "val"):
        raise InputError(f"--split must be all, train or val, got {split!r}")
    return find_clips(source, split)


def annotate_clips(clips: list[tuple[str, Path]], output: Path, settings: AnnotateSettings, *, device: str = "auto",
                   depth_batch: int = 4, dap_weights: Path | None = None, cotracker_weights: Path | None = None,
                   tiny_random: bool = False, force: bool = False, advance: Callable[[int], None] | None = None,
                   say: Callable[[str], None] = print) -> Report:
    """Annotate every clip not finished with the same settings into ``output/<name>/``; see the module doc."""
    from .models import load_annotation_models, pick_device, weight_fingerprints
    from .pipeline import AnnotateOptions, annotate_frames, read_clip_frames, write_annotation

    settings = settings.validate()
    dev = pick_device(device)
    # a missing file is named (with where to get it) before any work
    weights, _ = weight_fingerprints(dap_weights, cotracker_weights, tiny_random=tiny_random)
    key = settings_key({**asdict(settings), "weights": weights})
    items = [Item(name, output / name / META, key, (name, video), inputs=_inputs(video)) for name, video in clips]
    plan = plan_items(items, force=force, complete=lambda item, _: is_complete(output / item.name))
    say(plan.summary("clip"))
    report = Report(skipped=[item.name for item in plan.done])
    if not plan.todo:
        return report
    dap, tracker = load_annotation_models(dev, dap_weights=dap_weights, cotracker_weights=cotracker_weights,
                                          tiny_random=tiny_random)
    options = AnnotateOptions(grid_size=settings.grid, pad_frac=settings.pad, iters=settings.iters,
                              depth_batch=depth_batch, query_region=settings.query_region)
    for item in plan.todo:
        name, video = item.payload
        try:
            clip, idx, fps = read_clip_frames(video, settings.frames, settings.size)
            ann = annotate_frames(clip, dap, tracker, options, frame_indices=idx)
            write_annotation(ann, output / name, {"source_video": str(video), "source_fps": fps,
                                                  "tiny_random": tiny_random, "settings_key": item.key,
                                                  "inputs_key": item.inputs})
            report.done.append(name)
        except Exception as exc:  # noqa: BLE001 - one failing clip must not stop the others; it is recorded
            say(f"{name}: FAILED ({report.fail(item, exc, output / name)})")
        if advance is not None:
            advance(1)
    return report


def _inputs(video: Path) -> str:
    try:
        identity = {k: v for k, v in source_fingerprint(video).items() if k != "path"}
    except OSError:
        identity = None  # a missing video fails when its turn comes, and is recorded then
    return settings_key({"video": identity})
