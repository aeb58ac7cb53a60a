"""What one generated clip leaves on disk (names: ``panoworld.formats.run_records.GENERATION_OUTPUTS``).

Files of ``<out>/`` (every one atomic):

==============  ===========================================================================
pano.mp4        the ERP video (every round of a long video, cross-faded), spherical metadata
preview.mp4     the perspective input (scaled to the ERP height) beside the ERP video
depth.npz       models with a depth head: ``depth`` (T, H/8, W/8) float16 metres (range along the ray, the
                head's grid, one map per video frame) and ``frame_indices`` (T,) (docs/view.md layout)
round1.mp4      the Round-1 ERP video (chained runs only)
depth_dap.npz   with ``--annotate depth``: DAP depth of the generated video (``pipelines.annotate_outputs``)
tracks.npz      with ``--annotate tracks``: CoTracker3 tracks of the generated video (same module)
run.json        the generation record (``panoworld.formats.run_records.GenerationRecord``) with
                ``settings_key`` and ``inputs_key``; written last, its presence marks the clip done
failed.json     instead of run.json when the clip failed (``job_record.write_failure``)
==============  ===========================================================================

The videos and the depth are streamed while the rounds are generated (:class:`ClipWriter`, a
:class:`~panoworld.pipelines.extend.FrameSink`): each file appears complete or not at all.
"""

from __future__ import annotations

import io
import zipfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from panoworld.formats.job_record import FAILURE_RECORD
from panoworld.formats.run_records import GENERATION_OUTPUTS, write_generation_record
from panoworld.io import VideoWriter, atomic_path, write_video

from .extend import FrameSink

__all__ = ["preview_frames", "ClipWriter", "write_outputs"]


def preview_frames(perspective: torch.Tensor, erp: torch.Tensor, start: int = 0) -> torch.Tensor:
    """Side-by-side preview: the perspective input scaled to the ERP height, then the ERP video.

    Args:
        perspective: (1 or P, 3, h, w) in [0, 1] (a still image is repeated; frame ``i`` of the ERP video uses
            perspective frame ``min(start + i, P - 1)``).
        erp: (T, 3, H, W) in [0, 1].
        start: index of ``erp``'s first frame in the whole video.

    Returns:
        (T, 3, H, w' + W) with w' = the even width keeping the input's aspect.
    """
    height = erp.shape[-2]
    width = max(2, int(round(perspective.shape[-1] * height / perspective.shape[-2] / 2)) * 2)
    index = (torch.arange(erp.shape[0]) + start).clamp_max(perspective.shape[0] - 1)
    left = F.interpolate(perspective[index.unique()].float(), size=(height, width), mode="bilinear",
                         align_corners=False, antialias=True).clamp(0, 1)
    left = left[torch.searchsorted(index.unique(), index)]
    return torch.cat([left, erp], dim=-1)


class _DepthNpz:
    """Streams (T, h, w) float16 depth frames into ``depth.npz`` (member ``depth``), ``frame_indices`` at the end.

    The array header needs the final shape, so ``total`` frames must be announced and written."""

    def __init__(self, path: Path, total: int, size: tuple[int, int], stack: ExitStack):
        self.total, self.count = int(total), 0
        tmp = stack.enter_context(atomic_path(path))
        self._zip = stack.enter_context(zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED))
        self._member = self._zip.open("depth.npy", "w", force_zip64=True)
        header = {"descr": np.dtype("<f2").str, "fortran_order": False, "shape": (self.total, *size)}
        np.lib.format.write_array_header_1_0(self._member, header)

    def write(self, depth: torch.Tensor) -> None:
        self._member.write(depth.float().numpy().astype("<f2").tobytes())
        self.count += int(depth.shape[0])

    def close(self, *, complete: bool = True) -> None:
        """Finish the file (``complete``: check the frame count, add ``frame_indices``), or just release it."""
        self._member.close()
        if not complete:
            return
        if self.count != self.total:
            raise RuntimeError(f"depth.npz got {self.count} frames, expected {self.total}")
        buf = io.BytesIO()
        np.save(buf, np.arange(self.total, dtype=np.int64))
        self._zip.writestr("frame_indices.npy", buf.getvalue())


class ClipWriter(FrameSink):
    """Streams ``pano.mp4``, ``preview.mp4`` and (with depth) ``depth.npz`` of one clip into ``out``.

    Use as a context manager around the generation; the files appear when the block exits without an error.

    Args:
        out: the clip's output folder.
        fps: frame rate of the videos.
        total_frames: frames the clip will have (the depth file's shape).
    """

    def __init__(self, out: Path, *, fps: float, total_frames: int):
        self.out, self.fps, self.total_frames = Path(out), fps, int(total_frames)
        self.files: dict[str, str] = {}
        self._stack: ExitStack | None = None
        self._depth: _DepthNpz | None = None
        self._perspective: torch.Tensor | None = None
        self._count = 0

    def __enter__(self) -> "ClipWriter":
        names = GENERATION_OUTPUTS
        self._stack = ExitStack()
        self._video = self._stack.enter_context(VideoWriter(self.out / names["video"], self.fps, spherical=True))
        self._preview = self._stack.enter_context(VideoWriter(self.out / names["preview"], self.fps))
        self.files = {"video": str(self.out / names["video"]), "preview": str(self.out / names["preview"])}
        return self

    def begin(self, perspective: torch.Tensor) -> None:
        self._perspective = perspective

    def write(self, frames: torch.Tensor, depth: torch.Tensor | None) -> None:
        self._video.write(frames)
        self._preview.write(preview_frames(self._perspective, frames, self._count))
        if depth is not None:
            if self._depth is None:
                path = self.out / GENERATION_OUTPUTS["depth"]
                self._depth = _DepthNpz(path, self.total_frames, tuple(depth.shape[-2:]), self._stack)
                self.files["depth"] = str(path)
            self._depth.write(depth)
        self._count += int(frames.shape[0])

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._depth is not None:
            try:
                self._depth.close(complete=exc_type is None)
            except BaseException as err:
                self._stack.__exit__(type(err), err, err.__traceback__)
                raise
        return self._stack.__exit__(exc_type, exc, tb)


def write_outputs(out: Path, result, *, fps: float, record: dict, settings_key: str, inputs_key: str | None = None,
                  streamed: dict | None = None) -> dict:
    """Write the Round-1 video of ``result`` (a ``GenerationResult``; chained runs), then the generation record
    last (``streamed``: the files a :class:`ClipWriter` already wrote); return the files."""
    files = dict(streamed or {})
    if result.round1 is not None:
        files["round1"] = str(write_video(out / GENERATION_OUTPUTS["round1"], result.round1, fps, spherical=True))
    write_generation_record(out, dict(record, outputs=files, settings_key=settings_key, inputs_key=inputs_key))
    (out / FAILURE_RECORD).unlink(missing_ok=True)
    return files
