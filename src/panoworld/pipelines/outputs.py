"""What one generated clip leaves on disk (names: ``panoworld.formats.run_records.GENERATION_OUTPUTS``).

Files of ``<out>/`` (every one atomic):

==============  ===========================================================================
pano.mp4        the ERP video, spherical metadata
preview.mp4     the perspective input (scaled to the ERP height) beside the ERP video
round1.mp4      the Round-1 ERP video (chained runs only)
run.json        the generation record (``panoworld.formats.run_records.GenerationRecord``) with
                ``settings_key`` and ``inputs_key``; written last, its presence marks the clip done
failed.json     instead of run.json when the clip failed (``job_record.write_failure``)
==============  ===========================================================================
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from panoworld.formats.job_record import FAILURE_RECORD
from panoworld.formats.run_records import GENERATION_OUTPUTS, write_generation_record
from panoworld.io import write_video

__all__ = ["preview_frames", "write_outputs"]


def preview_frames(perspective: torch.Tensor, erp: torch.Tensor) -> torch.Tensor:
    """Side-by-side preview: the perspective input scaled to the ERP height, then the ERP video.

    Args:
        perspective: (1 or T, 3, h, w) in [0, 1] (a still image is repeated).
        erp: (T, 3, H, W) in [0, 1].

    Returns:
        (T, 3, H, w' + W) with w' = the even width keeping the input's aspect.
    """
    height = erp.shape[-2]
    width = max(2, int(round(perspective.shape[-1] * height / perspective.shape[-2] / 2)) * 2)
    left = F.interpolate(perspective.float(), size=(height, width), mode="bilinear", align_corners=False,
                         antialias=True).clamp(0, 1)
    left = left.expand(erp.shape[0], -1, -1, -1) if left.shape[0] == 1 else left
    return torch.cat([left, erp], dim=-1)


def write_outputs(out: Path, result, *, fps: float, record: dict, settings_key: str,
                  inputs_key: str | None = None) -> dict:
    """Write the videos of ``result`` (a ``GenerationResult``), then the generation record last; return the files."""
    names = GENERATION_OUTPUTS
    files = {"video": str(write_video(out / names["video"], result.video, fps, spherical=True))}
    files["preview"] = str(write_video(out / names["preview"], preview_frames(result.perspective, result.video), fps))
    if result.round1 is not None:
        files["round1"] = str(write_video(out / names["round1"], result.round1, fps, spherical=True))
    write_generation_record(out, dict(record, outputs=files, settings_key=settings_key, inputs_key=inputs_key))
    (out / FAILURE_RECORD).unlink(missing_ok=True)
    return files
