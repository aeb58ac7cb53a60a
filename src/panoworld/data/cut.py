"""Cut long 360-degree videos into fixed-length ERP clips with exact frame boundaries.

One source video is decoded once, as a stream (never whole in memory); output frames are chosen
by :class:`~panoworld.data.timing.OutputClock` (nearest-in-time at the target fps), optionally
resized to a fixed ERP size with seam wrap-around, optionally split at shot cuts, checked by the ERP
filters and re-encoded (H.264) clip by clip. Every clip file is written atomically; a clip that
fails a filter is discarded before it appears. The result of a video is a record (JSON) listing the
kept clips and the dropped ones with their reasons.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import torch

from panoworld.errors import InputError
from panoworld.formats.clips import CUT_CLIPS_DIR, cut_clip_name
from panoworld.io import VideoWriter, iter_video, probe_video
from panoworld.sphere import resize_erp

from .filters import ClipStats, FilterConfig, aspect_reason
from .shots import ShotDetector
from .timing import OutputClock, clip_frame_count, source_index

__all__ = ["CutOptions", "cut_video"]


@dataclass(frozen=True)
class CutOptions:
    """How to cut.

    Args:
        clip_seconds: clip length in seconds (rounded to whole frames at the output fps).
        fps: output frame rate; None keeps the source rate.
        size: (height, width) to resize every frame to (W = 2H), None keeps the source size.
        shot_threshold: histogram distance in (0, 1] that marks a shot cut; None disables splitting.
        crf: x264 quality of the re-encoded clips.
        chunk: most frames decoded per step (memory vs speed; capped at 256 MiB of float frames).
        filters: ERP filter thresholds.
    """

    clip_seconds: float = 5.0
    fps: Fraction | None = None
    size: tuple[int, int] | None = None
    shot_threshold: float | None = None
    crf: int = 18
    chunk: int = 16
    filters: FilterConfig = field(default_factory=FilterConfig)

    def key(self) -> dict:
        """The options that change the output (used to decide whether a finished video must be redone)."""
        return {
            "clip_seconds": self.clip_seconds,
            "fps": None if self.fps is None else str(self.fps),
            "size": None if self.size is None else list(self.size),
            "shot_threshold": self.shot_threshold,
            "crf": self.crf,
            "filters": self.filters.to_dict(),
        }


class _Discard(Exception):
    """Raised into a clip writer to throw the clip away."""


class _ClipAssembler:
    """Collects output frames into clips of exactly ``n`` frames and writes or drops each one."""

    def __init__(self, out_dir: Path, video_id: str, n: int, fps: Fraction, opts: CutOptions):
        self.out_dir, self.video_id, self.n, self.fps, self.opts = out_dir, video_id, n, fps, opts
        self.entries: list[dict] = []
        self.index = 0
        self._writer: VideoWriter | None = None
        self._stats: ClipStats | None = None
        self._start_out = 0
        self._sources: list[int] = []

    def _open(self, start_out: int) -> None:
        path = self.out_dir / CUT_CLIPS_DIR / cut_clip_name(self.video_id, self.index)
        self._writer = VideoWriter(path, self.fps, crf=self.opts.crf, spherical=True).__enter__()
        self._stats = ClipStats(self.opts.filters.black_level)
        self._start_out = start_out
        self._sources = []

    def _entry(self, status: str, reason: str | None, frames: int) -> dict:
        name = cut_clip_name(self.video_id, self.index)
        return {
            "clip": name if status == "kept" else None,
            "path": f"{CUT_CLIPS_DIR}/{name}" if status == "kept" else None,
            "clip_index": self.index,
            "status": status,
            "reason": reason,
            "num_frames": frames,
            "fps": str(self.fps),
            "start_s": round(float(Fraction(self._start_out) / self.fps), 6),
            "duration_s": round(float(Fraction(frames) / self.fps), 6),
            "first_source_frame": self._sources[0] if self._sources else None,
            "last_source_frame": self._sources[-1] if self._sources else None,
            "stats": self._stats.summary() if self._stats else {},
        }

    def _close(self, reason: str | None) -> None:
        writer, self._writer = self._writer, None
        frames = writer.num_frames
        if reason is None:
            writer.__exit__(None, None, None)
            self.entries.append(self._entry("kept", None, frames))
        else:
            writer.__exit__(_Discard, _Discard(), None)
            self.entries.append(self._entry("dropped", reason, frames))
        self.index += 1

    def cut(self, reason: str) -> None:
        """End the clip in progress early (shot cut or end of video): it is dropped with ``reason``."""
        if self._writer is not None:
            if self._writer.num_frames:
                self._close(reason)
            else:
                self._writer.__exit__(_Discard, _Discard(), None)
                self._writer = None

    def add(self, frames: torch.Tensor, sources: list[int], first_out: int) -> None:
        """Append consecutive output frames (their source indices and the first one's output index)."""
        k = 0
        while k < frames.shape[0]:
            if self._writer is None:
                self._open(first_out + k)
            take = min(self.n - self._writer.num_frames, frames.shape[0] - k)
            part = frames[k : k + take]
            self._writer.write(part)
            self._stats.update(part)
            self._sources.extend(sources[k : k + take])
            k += take
            if self._writer.num_frames == self.n:
                self._close(self._stats.reason(self.opts.filters))

    def abort(self) -> None:
        """Throw away a clip in progress after an error."""
        if self._writer is not None:
            self._writer.__exit__(_Discard, _Discard(), None)
            self._writer = None


@contextlib.contextmanager
def _torch_threads(n: int):
    """Run torch ops with ``n`` intra-op threads (the codec threads need the cores), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cut_video(src: Path, out_dir: Path, video_id: str, opts: CutOptions) -> dict:
    """Cut one video; return its record ``{"source", "video_id", ..., "clips": [entry, ...]}``.

    An unreadable or non-ERP video yields a record with a single dropped entry and its reason.
    The per-frame tensor work is small next to decoding and x264 encoding, so it runs on one torch
    thread (more threads only contend with the codec's own threads).
    """
    with _torch_threads(1):
        return _cut_video(src, out_dir, video_id, opts)


def _cut_video(src: Path, out_dir: Path, video_id: str, opts: CutOptions) -> dict:
    record: dict = {"source": str(src), "video_id": video_id}
    try:
        info = probe_video(src)
    except InputError as exc:
        record["clips"] = [_video_drop("unreadable", str(exc))]
        return record
    record.update(source_width=info.width, source_height=info.height, source_fps=str(info.fps),
                  source_frames=info.num_frames)
    reason = aspect_reason(info.height, info.width, opts.filters)
    size = opts.size
    if size is None and (info.width % 2 or info.height % 2):
        size = (info.height // 2 * 2, info.width // 2 * 2)
    if reason is not None or not info.fps:
        record["clips"] = [_video_drop(reason or "unreadable", "no frame rate" if reason is None else None)]
        return record
    fps_out = opts.fps or info.fps
    n = clip_frame_count(opts.clip_seconds, fps_out)
    out_h, out_w = size if size is not None else (info.height, info.width)
    record.update(fps=str(fps_out), clip_frames=n, width=out_w, height=out_h)
    clock = OutputClock(info.fps, fps_out)
    shots = ShotDetector(opts.shot_threshold) if opts.shot_threshold else None
    asm = _ClipAssembler(out_dir, video_id, n, fps_out, opts)
    wanted = _needed_sources(src, info.fps, fps_out) if fps_out < info.fps else None
    seen = 0  # decoded-and-converted frames so far
    try:
        for chunk in iter_video(src, chunk_size=_chunk_frames(opts.chunk, info.height, info.width),
                                frame_indices=wanted, dtype=torch.uint8):
            if wanted is None:
                indices = list(range(seen, seen + chunk.shape[0]))
            else:
                indices = wanted[seen : seen + chunk.shape[0]]
            picks: list[int] = []
            sources: list[int] = []
            for k, index in enumerate(indices):
                repeat = clock.take(index)
                picks.extend([k] * repeat)
                sources.extend([index] * repeat)
            first_out = clock.next_out - len(picks)
            seen += chunk.shape[0]
            if not picks:
                continue
            frames = chunk if picks == list(range(chunk.shape[0])) else chunk[picks]
            if size is not None and tuple(frames.shape[-2:]) != tuple(size):
                frames = resize_erp(frames.float().div_(255.0), size)
            cuts = shots.update(frames) if shots is not None else []
            bounds = [0, *cuts, len(picks)]
            for a, b in zip(bounds[:-1], bounds[1:]):
                if a > 0:
                    asm.cut("shot_boundary")
                if b > a:
                    asm.add(frames[a:b], sources[a:b], first_out + a)
        asm.cut("short_tail")
    except BaseException as exc:
        asm.abort()
        if isinstance(exc, InputError):
            record["clips"] = asm.entries + [_video_drop("unreadable", str(exc))]
            return record
        raise
    record["clips"] = asm.entries
    return record


def _needed_sources(src: Path, fps_in: Fraction, fps_out: Fraction) -> list[int]:
    """Source frames that some output frame shows (down-sampling: the others are decoded but never converted)."""
    total = probe_video(src, count_frames=True).num_frames
    needed, j = [], 0
    while (index := source_index(j, fps_in, fps_out)) < total:
        if not needed or needed[-1] != index:
            needed.append(index)
        j += 1
    return needed


#: Bytes of decoded float frames held at once per video (a 3840x1920 source gets 2-frame chunks).
CHUNK_BYTES = 256 * 2**20


def _chunk_frames(limit: int, height: int, width: int) -> int:
    """Frames per decode step: at most ``limit`` and at most :data:`CHUNK_BYTES` of float32 RGB."""
    return max(1, min(int(limit), CHUNK_BYTES // (height * width * 3 * 4)))


def _video_drop(reason: str, detail: str | None) -> dict:
    return {"clip": None, "path": None, "clip_index": None, "status": "dropped", "reason": reason,
            "detail": detail, "num_frames": 0}
