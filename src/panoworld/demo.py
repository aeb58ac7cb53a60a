"""The quick start on bundled sample data (no weights, no network): what ``panoworld demo`` runs."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Callable

import torch

from panoworld import sphere
from panoworld.errors import InputError
from panoworld.io import VideoWriter, read_image, write_image

__all__ = ["SAMPLE_PERSPECTIVE", "SAMPLE_ERP", "SAMPLE_META", "tour_angles", "run_demo", "sample_job",
           "run_demo_generation"]

SAMPLE_PERSPECTIVE = "sample_room_persp.png"
SAMPLE_ERP = "sample_room_erp.png"
SAMPLE_META = "sample_room.json"


def _asset(name: str) -> Path:
    path = Path(str(resources.files("panoworld") / "assets" / name))
    if not path.is_file():
        raise InputError(f"bundled sample {name} is missing from the installation; reinstall panoworld")
    return path


def tour_angles(frames: int, *, pitch_amplitude: float = 15.0) -> list[tuple[float, float]]:
    """(yaw, pitch) in degrees for a full 360-degree pan with a gentle nod, one pair per frame."""
    return [(-180.0 + 360.0 * i / frames, pitch_amplitude * math.sin(2 * math.pi * 2 * i / frames))
            for i in range(frames)]


def run_demo(out: str | Path, *, frames: int = 96, fps: int = 24, fov: float = 75.0,
             size: tuple[int, int] = (360, 640), face_size: int = 256,
             progress: Callable[[int], None] | None = None, say: Callable[[str], None] = print) -> dict[str, Path]:
    """Place the sample photo into a 360-degree canvas, cut the sample ERP into a cubemap, and render a
    perspective tour (``frames`` frames of ``size`` (H, W) pixels, ``fov`` degrees) that pans around it.

    Returns the written files by name; ``progress(n)`` is called per tour frame, ``say`` with status lines.
    """
    out = Path(out)
    sphere.check_fov(fov)
    meta = json.loads(_asset(SAMPLE_META).read_text())
    photo = read_image(_asset(SAMPLE_PERSPECTIVE))
    canvas, mask = sphere.perspective_to_erp(photo, fov_x=meta["fov_x"], yaw=meta.get("yaw", 0.0),
                                             pitch=meta.get("pitch", 0.0), roll=meta.get("roll", 0.0),
                                             size=(512, 1024))
    files = {"canvas": write_image(out / "canvas.png", canvas),
             "canvas_mask": write_image(out / "canvas_mask.png", mask)}
    say(f"placed the {photo.shape[-1]}x{photo.shape[-2]} photo (fov {meta['fov_x']} deg) -> {files['canvas']}")

    erp = read_image(_asset(SAMPLE_ERP))
    faces = sphere.erp_to_cubemap(erp, face_size)
    files["cubemap"] = write_image(out / "cubemap.png", torch.cat(faces.unbind(0), dim=-1))
    say(f"cut the ERP into 6 faces (front, right, back, left, up, down) -> {files['cubemap']}")

    with VideoWriter(out / "tour.mp4", fps) as writer:
        for yaw, pitch in tour_angles(frames):
            writer.write(sphere.erp_to_perspective(erp, fov_x=fov, yaw=yaw, pitch=pitch, size=size))
            if progress is not None:
                progress(1)
    files["tour"] = out / "tour.mp4"
    say(f"rendered a {frames}-frame 360-degree tour -> {files['tour']}")
    return files


def sample_job(out: str | Path, source, *, seed: int = 0, num_steps: int | None = None):
    """The generation job of the bundled sample: its photo, its short caption as the perspective prompt and its
    medium caption as the 360-degree prompt, written to ``out/generated``; settings = the defaults of ``source``
    (a resolved ``ModelSource``)."""
    from panoworld.pipelines.jobs import check_jobs, single_job

    meta = json.loads(_asset(SAMPLE_META).read_text())
    captions = meta.get("captions", {})
    job = single_job(_asset(SAMPLE_PERSPECTIVE), captions.get("short", meta["caption"]),
                     captions.get("medium", meta["caption"]), None, Path(out) / "generated")
    base = source.generation_config(seed=seed, num_steps=num_steps)
    return check_jobs([job], base)[0]


def run_demo_generation(out: str | Path, *, model: str | None = "small-4step", device: str | None = None,
                        seed: int = 0, num_steps: int | None = None, progress=None,
                        say: Callable[[str], None] = print) -> dict:
    """Generate a 360-degree video from the bundled sample photo and captions with ``model`` (default: the small
    PanoWorld's 4-step student shipped with the package) on ``device`` (None: CUDA when present, else the CPU),
    then write a viewer page of the result. Re-running with the same settings reuses the finished clip. Returns
    {"video", "depth" (when the model has a depth head), "viewer"}."""
    from panoworld.formats.run_records import GENERATION_OUTPUTS
    from panoworld.pipelines.batch import generate_clips
    from panoworld.pipelines.config import LoadConfig
    from panoworld.pipelines.loading import resolve_model
    from panoworld.view import write_viewer

    source = resolve_model(model)
    load = LoadConfig(device=device).validate()
    job = sample_job(out, source, seed=seed, num_steps=num_steps)
    generate_clips([job], source, load, arguments={"command": "demo", "model": model}, progress=progress, say=say)
    files = {name: job.out / GENERATION_OUTPUTS[name] for name in ("video", "depth")
             if (job.out / GENERATION_OUTPUTS[name]).is_file()}
    files["viewer"] = write_viewer(job.out, Path(out) / "viewer")
    return files
