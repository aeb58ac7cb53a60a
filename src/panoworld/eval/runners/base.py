"""The method registry: what each method is given (input parity), how it is called, what it returns.

Input parity (reference §9.4 / §10, orientation fixed): every image-conditioned method receives the same
upright 90-degree perspective crop of GT frame 0 at yaw 0 (only its pixel size follows the method's native
input), captions of the requested style, and nothing else from the GT. Only ``oracle`` sees the GT video.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from panoworld.errors import InputError
from panoworld.formats.results import METHOD_VIDEO, WorkFiles
from panoworld.formats.run_records import MethodRunRecord, remove_method_run, write_method_run
from panoworld.formats.testset import TestClip
from panoworld.io import probe_video, read_video, write_image
from panoworld.sphere import erp_to_perspective

__all__ = ["MethodSpec", "RunRequest", "REGISTRY", "register", "run_method"]


@dataclass
class RunRequest:
    """One clip to generate: where to write, and the method's user configuration (a dict)."""

    clip: TestClip
    out_dir: Path
    work_dir: Path
    spec: "MethodSpec"
    config: dict = field(default_factory=dict)
    device: str = "cpu"
    seed: int = 0

    @property
    def video_path(self) -> Path:
        return self.out_dir / METHOD_VIDEO

    @property
    def work_files(self) -> WorkFiles:
        """Scratch files a method may write (and an external command template may name)."""
        return WorkFiles(self.work_dir)

    def gt_frame0(self) -> torch.Tensor:
        """(3, H, W) GT ERP frame 0 in [0, 1]."""
        return read_video(self.clip.video_path, frame_indices=[0])[0]

    def input_crop(self) -> torch.Tensor:
        """(3, h, w) the upright perspective input: fov ``spec.crop_fov`` (degrees), yaw 0, pitch 0."""
        h, w = self.spec.crop_size
        return erp_to_perspective(self.gt_frame0(), fov_x=self.spec.crop_fov, size=(h, w)).clamp(0, 1)

    def write_input_image(self) -> Path:
        path = self.work_files.input_image
        write_image(path, self.input_crop())
        return path


@dataclass(frozen=True)
class MethodSpec:
    """A method: ``run(request)`` must leave ``request.video_path``; the fields document its I/O contract.

    ``native_fps`` is the true frame rate of its output (it overrides a wrong container header when
    scoring); ``native_size`` (H, W) and ``num_frames`` its native output; ``crop_size`` the perspective
    input size (None: not image-conditioned); ``input_kind``: ``perspective``, ``text``, ``gt`` or ``none``.
    """

    name: str
    description: str
    input_kind: str
    run: Callable[[RunRequest], None] = field(repr=False, compare=False)
    native_fps: float | None = None
    native_size: tuple[int, int] | None = None
    num_frames: int | None = None
    crop_size: tuple[int, int] | None = (480, 640)
    crop_fov: float = 90.0
    caption_style: str = "medium"
    uses_caption: bool = True


REGISTRY: dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    REGISTRY[spec.name] = spec
    return spec


def run_method(spec: MethodSpec, request: RunRequest, settings_key: str | None = None,
               inputs_key: str | None = None) -> dict:
    """Run one clip; write its method-run record (method, fps, sizes, seconds, the settings and inputs keys of
    ``panoworld.formats.job_record``) last as the completion marker.

    Returns the record as written (``panoworld.formats.run_records``)."""
    request.out_dir.mkdir(parents=True, exist_ok=True)
    request.work_dir.mkdir(parents=True, exist_ok=True)
    remove_method_run(request.out_dir)
    start = time.perf_counter()
    spec.run(request)
    if not request.video_path.is_file():
        raise InputError(f"method {spec.name} produced no video for {request.clip.clip_id} at {request.video_path}")
    info = probe_video(request.video_path)
    record = MethodRunRecord(
        method=spec.name,
        clip_id=request.clip.clip_id,
        input_kind=spec.input_kind,
        native_fps=spec.native_fps or float(info.fps),
        container_fps=float(info.fps),
        size=[info.height, info.width],
        num_frames=info.num_frames,
        seconds=round(time.perf_counter() - start, 3),
        seed=request.seed,
        spec={k: v for k, v in asdict(spec).items() if k not in ("run",)},
        settings_key=settings_key,
        inputs_key=inputs_key,
    )
    write_method_run(request.out_dir, record)
    shutil.rmtree(request.work_dir, ignore_errors=True)
    return record.to_json()
