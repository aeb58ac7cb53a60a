"""File input/output: images, videos (PyAV), spherical MP4 metadata, atomic writes."""

from .atomic import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text
from .image import IMAGE_SUFFIXES, read_image, to_uint8, write_image
from .spherical import inject_spherical_metadata, read_spherical_metadata, read_spherical_v2
from .video import VideoInfo, VideoWriter, iter_video, probe_video, read_video, write_video

__all__ = [
    "IMAGE_SUFFIXES",
    "VideoInfo",
    "VideoWriter",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "inject_spherical_metadata",
    "iter_video",
    "probe_video",
    "read_image",
    "read_spherical_metadata",
    "read_spherical_v2",
    "read_video",
    "to_uint8",
    "write_image",
    "write_video",
]
