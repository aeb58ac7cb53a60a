"""The 12 caption views of a clip: 3 timestamps x 4 upright perspective views (front, right, back, left)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import torch

from panoworld.io import probe_video, read_video, to_uint8
from panoworld.sphere import erp_to_perspective

__all__ = ["ViewImage", "TIME_NAMES", "DIRECTIONS", "view_frame_indices", "render_views", "clip_views"]

TIME_NAMES = ("EARLY", "MIDDLE", "LATE")
#: (name, yaw in degrees): yaw turns right, so 90 = right, 180 = behind, 270 = left.
DIRECTIONS = (("FRONT", 0.0), ("RIGHT", 90.0), ("BACK", 180.0), ("LEFT", 270.0))


@dataclass(frozen=True)
class ViewImage:
    """One JPEG-encoded view with its label (e.g. ``MIDDLE / RIGHT (yaw 90)``)."""

    label: str
    time: str
    direction: str
    yaw: float
    frame_index: int
    jpeg: bytes


def view_frame_indices(num_frames: int, count: int = 3) -> list[int]:
    """Frames at the centres of ``count`` equal parts: ``floor((i + 0.5) / count * (N - 1))``."""
    if num_frames < 1:
        raise ValueError("a clip needs at least one frame")
    return [int((i + 0.5) / count * (num_frames - 1)) for i in range(count)]


def render_views(frames: torch.Tensor, *, size: tuple[int, int] = (480, 640), fov: float = 90.0) -> torch.Tensor:
    """(T, 3, H, W) ERP frames -> (T, 4, 3, h, w) upright views at yaw 0/90/180/270, pitch 0, ``fov`` degrees."""
    views = [erp_to_perspective(frames, fov_x=fov, yaw=yaw, size=size) for _, yaw in DIRECTIONS]
    return torch.stack(views, dim=1).clamp(0, 1)


def _jpeg(image: torch.Tensor, quality: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def clip_views(
    path: Path, *, size: tuple[int, int] = (480, 640), fov: float = 90.0, quality: int = 88
) -> list[ViewImage]:
    """Decode the 3 timestamp frames of an ERP clip and return its 12 labelled JPEG views (time-major)."""
    info = probe_video(path, count_frames=True)
    indices = view_frame_indices(info.num_frames)
    frames = read_video(path, frame_indices=indices)
    if frames.shape[0] < len(set(indices)):
        raise ValueError(f"{path}: decoded {frames.shape[0]} of the {len(set(indices))} wanted frames")
    lookup = {idx: k for k, idx in enumerate(sorted(set(indices)))}
    frames = frames[[lookup[i] for i in indices]]
    views = render_views(frames, size=size, fov=fov)
    out = []
    for t, time_name in enumerate(TIME_NAMES):
        for d, (direction, yaw) in enumerate(DIRECTIONS):
            label = f"{time_name} / {direction} (yaw {int(yaw)})"
            out.append(ViewImage(label, time_name, direction, yaw, indices[t], _jpeg(views[t, d], quality)))
    return out
