"""File input/output: images, videos (PyAV), spherical MP4 metadata, atomic writes.

Names are imported from their submodule on first use, so ``panoworld.io.atomic`` (used by the on-disk formats)
does not pull in torch or PyAV.
"""

from panoworld._lazy import lazy_exports

_EXPORTS = {
    "atomic_path": ".atomic",
    "atomic_write_bytes": ".atomic",
    "atomic_write_json": ".atomic",
    "atomic_write_text": ".atomic",
    "IMAGE_SUFFIXES": ".image",
    "read_image": ".image",
    "to_uint8": ".image",
    "write_image": ".image",
    "inject_spherical_metadata": ".spherical",
    "read_spherical_metadata": ".spherical",
    "read_spherical_v2": ".spherical",
    "VideoInfo": ".video",
    "VideoWriter": ".video",
    "iter_video": ".video",
    "probe_video": ".video",
    "read_video": ".video",
    "write_video": ".video",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
