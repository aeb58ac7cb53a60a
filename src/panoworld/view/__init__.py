"""The self-contained 360-degree viewer: one HTML page plus assets that work from ``file://`` with no network.

``write_viewer(paths, out)`` reads generation output folders, eval results folders or test splits (layouts in
docs/view.md) and writes the page; ``serve_viewer(folder)`` serves it on 127.0.0.1. Names load lazily, so
``panoworld.view._paths`` stays light for the CLI.
"""

from panoworld._lazy import lazy_exports

_EXPORTS = {
    "write_viewer": ".page",
    "serve_viewer": ".serve",
    "Camera": ".sources",
    "Geometry": ".sources",
    "ViewClip": ".sources",
    "ViewVideo": ".sources",
    "read_sources": ".sources",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
