"""The self-contained 360-degree viewer: one HTML page plus assets that work from ``file://`` with no network.

``write_viewer(paths, out)`` reads generation output folders, eval results folders or test splits (layouts in
docs/view.md) and writes the page; ``serve_viewer(folder)`` serves it on 127.0.0.1.
"""

from .page import write_viewer
from .serve import serve_viewer
from .sources import Camera, Geometry, ViewClip, ViewVideo, read_sources

__all__ = ["Camera", "Geometry", "ViewClip", "ViewVideo", "read_sources", "serve_viewer", "write_viewer"]
