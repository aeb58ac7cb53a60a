"""Video reading and writing with PyAV.

At the API, frames are (T, C, H, W) float tensors in [0, 1] (uint8 0..255 on request); on disk, H.264 yuv420p MP4 at an
exact frame rate with every frame kept. Reading streams in chunks so long videos need not fit
in memory; writing goes to a temporary file that is renamed into place when complete.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from panoworld.errors import InputError

from .atomic import atomic_path
from .image import to_uint8
from .spherical import inject_spherical_metadata

__all__ = ["VideoInfo", "probe_video", "iter_video", "read_video", "VideoWriter", "write_video"]


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds: size in pixels, exact frame rate, frame count, duration in seconds."""

    width: int
    height: int
    fps: Fraction
    num_frames: int
    duration: float


def _open(path: str | os.PathLike):
    import av

    p = Path(path)
    if not p.is_file():
        raise InputError(f"video not found: {p}")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"cannot read video {p}: {type(exc).__name__}") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"cannot read video {p}: it has no video stream")
    return container


def probe_video(path: str | os.PathLike, *, count_frames: bool = False) -> VideoInfo:
    """Read a video's header. ``count_frames=True`` decodes packets to count frames exactly."""
    import av

    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = Fraction(stream.average_rate or stream.guessed_rate or 0)
        n = int(stream.frames or 0)
        if count_frames or n == 0:
            n = 0
            try:
                for packet in container.demux(stream):
                    if packet.size:
                        n += 1
            except av.error.FFmpegError as exc:
                raise InputError(f"cannot read video {path}: corrupt stream ({type(exc).__name__})") from None
        duration = float(n / fps) if fps else 0.0
        return VideoInfo(stream.codec_context.width, stream.codec_context.height, fps, n, duration)
    finally:
        container.close()


def _frames_to_tensor(frames: list[np.ndarray], dtype: torch.dtype) -> torch.Tensor:
    raw = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)
    if dtype == torch.uint8:
        return raw
    return raw.to(dtype).div_(255.0)


def iter_video(
    path: str | os.PathLike,
    *,
    chunk_size: int = 16,
    frame_indices: Iterable[int] | None = None,
    dtype: torch.dtype = torch.float32,
) -> Iterator[torch.Tensor]:
    """Stream a video as (t, 3, H, W) chunks of at most ``chunk_size`` frames.

    ``frame_indices`` keeps only those (sorted, 0-based decode-order) frames. ``dtype`` float gives values in
    [0, 1]; ``torch.uint8`` gives the decoded 0..255 values without a conversion (for pass-through work such as
    clip cutting, where converting every pixel twice costs as much as encoding).
    """
    import av

    wanted = None if frame_indices is None else sorted(set(int(i) for i in frame_indices))
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        buf: list[np.ndarray] = []
        pointer = 0
        try:
            for index, frame in enumerate(container.decode(stream)):
                if wanted is not None:
                    if pointer >= len(wanted):
                        break
                    if index != wanted[pointer]:
                        continue
                    pointer += 1
                buf.append(frame.to_ndarray(format="rgb24"))
                if len(buf) == chunk_size:
                    yield _frames_to_tensor(buf, dtype)
                    buf = []
        except av.error.FFmpegError as exc:
            raise InputError(f"cannot read video {path}: corrupt stream ({type(exc).__name__})") from None
        if buf:
            yield _frames_to_tensor(buf, dtype)
    finally:
        container.close()


def read_video(path: str | os.PathLike, *, frame_indices: Iterable[int] | None = None) -> torch.Tensor:
    """Read a whole video (or the given frame indices) as a (T, 3, H, W) float tensor in [0, 1]."""
    chunks = list(iter_video(path, frame_indices=frame_indices))
    if not chunks:
        raise InputError(f"cannot read video {path}: no frames decoded")
    return torch.cat(chunks)


@functools.lru_cache(maxsize=1)
def _x264_cpu_options() -> dict[str, str]:
    """x264 options that keep its output a function of the frames alone.

    On CPUs with AVX-512, x264's AVX-512 kernels made the bitstream depend on what was in memory before: the
    same frames encoded several times in one process gave different files (and decoded pixels differing by up
    to 14/255), while the AVX2 kernels give identical files at the same speed (measured: 93 frames of 512x1024
    in 5.6 s either way). Any CPU with AVX-512 also has everything x264's AVX2 level needs.
    """
    return {"x264-params": "asm=AVX2"} if torch.backends.cpu.get_cpu_capability().startswith("AVX512") else {}


class VideoWriter:
    """Streaming H.264 (yuv420p) MP4 writer with an exact frame rate, written atomically.

    Use as a context manager; frames are added with :meth:`write` as (t, C, H, W) or (C, H, W)
    float tensors in [0, 1] (C = 3, or 1 for gray). The file appears at ``path`` only when the
    block exits without an exception. ``spherical=True`` marks it as a 360-degree ERP video.

    Args:
        path: output ``.mp4`` path.
        fps: frames per second (int, float or Fraction; kept exactly as a rational).
        crf: x264 constant rate factor (0 = lossless luma, 18 = visually lossless, 23 = default).
        spherical: add Spherical Video V1 and V2 metadata (equirectangular).
    """

    def __init__(self, path: str | os.PathLike, fps: float | Fraction, *, crf: int = 18, spherical: bool = False):
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(1001 * 1000)
        self.crf = int(crf)
        self.spherical = spherical
        self.num_frames = 0
        self._atomic = None
        self._container = None
        self._stream = None

    def __enter__(self) -> "VideoWriter":
        import av

        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._container = av.open(str(tmp), mode="w", format="mp4")
        return self

    def _ensure_stream(self, height: int, width: int) -> None:
        if self._stream is not None:
            if (height, width) != (self._stream.height, self._stream.width):
                raise ValueError(f"frame size changed from {self._stream.height}x{self._stream.width} to {height}x{width}")
            return
        if height % 2 or width % 2:
            raise ValueError(f"H.264 yuv420p needs even frame sizes, got {height}x{width}")
        stream = self._container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = 1 / self.fps
        stream.options = {"crf": str(self.crf), "preset": "medium", **_x264_cpu_options()}
        self._stream = stream

    def write(self, frames: torch.Tensor) -> None:
        """Append (t, C, H, W) or (C, H, W) frames: float in [0, 1], or uint8 0..255 (written as they are)."""
        import av

        if frames.dim() == 3:
            frames = frames[None]
        if frames.dim() != 4 or frames.shape[1] not in (1, 3):
            raise ValueError(f"expected (T, 3, H, W) frames, got {tuple(frames.shape)}")
        if frames.shape[1] == 1:
            frames = frames.expand(-1, 3, -1, -1)
        self._ensure_stream(int(frames.shape[2]), int(frames.shape[3]))
        pixels = frames.movedim(-3, -1).cpu().numpy() if frames.dtype == torch.uint8 else to_uint8(frames)
        for arr in pixels:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
            frame.pts = self.num_frames
            frame.time_base = 1 / self.fps
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
            self.num_frames += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                if self._stream is None:
                    raise ValueError(f"no frames were written to {self.path}")
                for packet in self._stream.encode():
                    self._container.mux(packet)
            self._container.close()
            if exc_type is None and self.spherical:
                inject_spherical_metadata(self._atomic_tmp_path())
        except BaseException as err:
            self._atomic.__exit__(type(err), err, err.__traceback__)
            raise
        self._atomic.__exit__(exc_type, exc, tb)

    def _atomic_tmp_path(self) -> Path:
        return Path(self._container.name)


def write_video(
    path: str | os.PathLike, frames: torch.Tensor, fps: float | Fraction, *, crf: int = 18, spherical: bool = False
) -> Path:
    """Write (T, C, H, W) float [0, 1] frames as an H.264 MP4 atomically; return the path."""
    with VideoWriter(path, fps, crf=crf, spherical=spherical) as writer:
        writer.write(frames)
    return Path(path)
