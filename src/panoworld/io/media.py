"""Tell videos from images by file name, and apply a frame function to an image or, streamed in chunks, a video
(the engine of ``panoworld project``). Importing this module does not import torch or PyAV."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from panoworld.errors import InputError

if TYPE_CHECKING:
    import torch

__all__ = ["VIDEO_SUFFIXES", "is_video_path", "transform_media"]

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")


def is_video_path(path: str | os.PathLike) -> bool:
    """True for a video file name (by suffix)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def transform_media(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    check_input: Callable[[int, int], None] | None = None,
    spherical_output: bool = False,
    device: str | torch.device = "cpu",
    chunk: int = 16,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write ``fn(frames)`` of ``src`` to ``dst``; both images or both videos.

    Args:
        fn: (t, C, H, W) [0, 1] -> (t, C, h, w) [0, 1], on ``device``.
        check_input: called with the input's (height, width) before any frame is processed; raises to refuse.
        spherical_output: mark an output video as 360-degree ERP (spherical metadata).
        chunk: video frames per call of ``fn``.
        progress: called with the number of frames done after each chunk.
    """
    import torch

    from .image import read_image, write_image
    from .video import VideoWriter, iter_video, probe_video

    src, dst = Path(src), Path(dst)
    if is_video_path(src) != is_video_path(dst):
        raise InputError(f"{src} and {dst} must both be images or both be videos")
    dev = torch.device(device)
    if not is_video_path(src):
        image = read_image(src).to(dev)
        if check_input is not None:
            check_input(image.shape[-2], image.shape[-1])
        write_image(dst, fn(image[None])[0].cpu())
        if progress is not None:
            progress(1)
        return dst
    info = probe_video(src)
    if check_input is not None:
        check_input(info.height, info.width)
    with VideoWriter(dst, info.fps, spherical=spherical_output) as writer:
        for frames in iter_video(src, chunk_size=chunk):
            writer.write(fn(frames.to(dev)).cpu())
            if progress is not None:
                progress(frames.shape[0])
    return dst
