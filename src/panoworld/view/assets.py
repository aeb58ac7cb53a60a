"""Pre-rendered assets of the viewer page: the ERP video as a script, depth and cube-face videos, tracks, input.

Pages opened from ``file://`` may not read files with ``fetch`` and may not upload a plain ``<video src>`` into
WebGL (every file is a different origin), so the ERP video travels as base64 inside a script
(``PanoworldView.register(name, data)``) that the page turns into a same-origin ``blob:`` URL. Depth and cube
faces are only shown as flat videos, so they stay plain ``.mp4`` files.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import torch

from panoworld.errors import InputError
from panoworld.io import VideoWriter, atomic_write_text, iter_video, probe_video, read_image, write_image
from panoworld.sphere import erp_to_cubemap

from .depth import colourise, depth_scale, legend
from .sources import Geometry

__all__ = [
    "CUBE_LAYOUT",
    "write_script_asset",
    "write_erp_video",
    "write_cube_video",
    "write_depth_video",
    "tracks_payload",
    "write_input_image",
]

#: (row, column) of each cube face (``panoworld.sphere.FACE_NAMES`` order) in a 3 x 4 cross.
CUBE_LAYOUT = ((1, 1), (1, 2), (1, 3), (1, 0), (0, 1), (2, 1))
MAX_ERP_WIDTH = 4096  # Photo Sphere Viewer's texture limit
DEPTH_WIDTH = 512
CUBE_FACE = 128
MAX_TRACKS = 256
INPUT_WIDTH = 640
CRF = 23


def write_script_asset(path: Path, name: str, payload) -> Path:
    """Write ``PanoworldView.register(name, payload)`` (bytes are sent as base64 text) to ``path``."""
    data = base64.b64encode(payload).decode("ascii") if isinstance(payload, bytes) else payload
    atomic_write_text(path, f"PanoworldView.register({json.dumps(name)}, {json.dumps(data, separators=(',', ':'))});\n")
    return path


def _codec(path: Path) -> str:
    import av

    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context.name


def write_erp_video(src: Path, dest: Path, name: str) -> dict:
    """Copy an H.264 ERP video (re-encode anything else, or one wider than 4096 px) into a script asset.

    Returns the video's ``width``, ``height``, ``fps``, ``frames`` and ``duration`` (seconds)."""
    info = probe_video(src, count_frames=True)
    width, height = info.width, info.height
    if width != 2 * height:
        raise InputError(f"{src} is {width}x{height} pixels, not a 2:1 equirectangular video")
    if _codec(src) == "h264" and width <= MAX_ERP_WIDTH:
        data = src.read_bytes()
    else:
        from panoworld.sphere import resize_erp

        width = min(width - width % 4, MAX_ERP_WIDTH)
        height = width // 2
        tmp = dest.with_name(dest.name + ".tmp.mp4")
        with VideoWriter(tmp, info.fps, crf=18, spherical=True) as writer:
            for chunk in iter_video(src):
                writer.write(resize_erp(chunk, (height, width)).clamp(0, 1))
        data = tmp.read_bytes()
        tmp.unlink()
    write_script_asset(dest, name, data)
    return {"width": width, "height": height, "fps": float(info.fps), "frames": info.num_frames,
            "duration": info.num_frames / float(info.fps)}


def write_cube_video(src: Path, dest: Path, *, face: int = CUBE_FACE) -> dict:
    """The six cube faces of every frame in a 3 x 4 cross (:data:`CUBE_LAYOUT`) as an H.264 video."""
    info = probe_video(src)
    face = max(2, min(face, info.height // 2) // 2 * 2)
    with VideoWriter(dest, info.fps, crf=CRF) as writer:
        for chunk in iter_video(src):
            faces = erp_to_cubemap(chunk, face).clamp(0, 1)  # (t, 6, 3, s, s)
            canvas = torch.zeros(chunk.shape[0], 3, 3 * face, 4 * face)
            for index, (row, col) in enumerate(CUBE_LAYOUT):
                canvas[:, :, row * face : (row + 1) * face, col * face : (col + 1) * face] = faces[:, index]
            writer.write(canvas)
    return {"video": dest.name, "face": face, "layout": [list(rc) for rc in CUBE_LAYOUT],
            "names": ["front", "right", "back", "left", "up", "down"]}


def _nearest(times: np.ndarray, at: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(times)[None, :] - at[:, None]).argmin(1)


def write_depth_video(geometry: Geometry, dest: Path, *, fps: float, frames: int) -> dict:
    """Depth coloured on a log scale, one frame per video frame (the depth frame nearest in time), at most
    512 px wide; returns the legend (metres) the page draws under it."""
    depth = geometry.depth
    scale = depth_scale(depth)
    step = max(1, int(np.ceil(depth.shape[-1] / DEPTH_WIDTH)))
    small = depth[:, ::step, ::step]
    small = small[:, : small.shape[1] // 2 * 2, : small.shape[2] // 2 * 2]
    colours = torch.from_numpy(colourise(small, scale)).permute(0, 3, 1, 2)
    pick = _nearest(geometry.depth_times, np.arange(frames) / fps)
    with VideoWriter(dest, fps, crf=CRF) as writer:
        for start in range(0, frames, 16):
            writer.write(colours[torch.from_numpy(pick[start : start + 16])])
    return {"video": dest.name, "legend": legend(scale)}


def tracks_payload(geometry: Geometry) -> dict:
    """Point tracks for the page: at most 256 tracks, positions as fractions of the ERP (u right, v down).

    ``times`` (M,) seconds; per track ``uv`` = [u0, v0, u1, v1, ...] (M pairs) and ``vis`` = "1101..." (M)."""
    tracks, vis = geometry.tracks, geometry.visibility
    height, width = geometry.size
    keep = np.linspace(0, len(tracks) - 1, min(MAX_TRACKS, len(tracks))).round().astype(int)
    out = []
    for n in keep:
        u = ((tracks[n, :, 0] + 0.5) / width) % 1.0
        v = np.clip((tracks[n, :, 1] + 0.5) / height, 0.0, 1.0)
        ok = vis[n] & np.isfinite(u) & np.isfinite(v)
        uv = np.stack([np.nan_to_num(u), np.nan_to_num(v)], -1).round(4).reshape(-1)
        out.append({"uv": uv.tolist(), "vis": "".join("1" if o else "0" for o in ok)})
    return {"times": np.round(geometry.track_times, 4).tolist(), "tracks": out}


def write_input_image(src: Path, dest: Path) -> tuple[int, int]:
    """The perspective input, at most 640 px wide, as a JPEG; returns its original (height, width)."""
    image = read_image(src)
    height, width = image.shape[-2:]
    if width > INPUT_WIDTH:
        size = (max(1, round(height * INPUT_WIDTH / width)), INPUT_WIDTH)
        image = torch.nn.functional.interpolate(image[None], size=size, mode="bilinear", antialias=True)[0]
    write_image(dest, image.clamp(0, 1))
    return int(height), int(width)
