"""Serve a viewer folder on the loopback interface only (for browsers or remote shells that dislike file://).

Bounded: it binds 127.0.0.1 (never another interface), serves files of that one folder (no listings, nothing
outside it), answers at most 8 requests at once, drops a client that stays silent for 30 s and stops after
``max_seconds`` when given.
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from panoworld.errors import InputError

__all__ = ["LOOPBACK", "ViewerServer", "serve_viewer"]

LOOPBACK = "127.0.0.1"
MAX_CONCURRENT = 8
CLIENT_TIMEOUT_S = 30


class _Handler(SimpleHTTPRequestHandler):
    timeout = CLIENT_TIMEOUT_S
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".css": "text/css"}

    def list_directory(self, path):  # noqa: D102 - no folder listings
        self.send_error(404, "not found")
        return None

    def log_message(self, format, *args):  # noqa: A002 - keep the terminal quiet
        pass


class ViewerServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 with at most :data:`MAX_CONCURRENT` requests in flight."""

    daemon_threads = True

    def __init__(self, folder: Path, port: int):
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT)
        super().__init__((LOOPBACK, port), functools.partial(_Handler, directory=str(folder)))

    def process_request(self, request, client_address):
        if not self._slots.acquire(timeout=CLIENT_TIMEOUT_S):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}/index.html"


def serve_viewer(folder: str | os.PathLike, *, port: int = 0, max_seconds: float | None = None,
                 on_ready: Callable[[str], None] | None = None) -> None:
    """Serve ``folder`` (a viewer written by :func:`panoworld.view.write_viewer`) until interrupted or for
    ``max_seconds``. ``port`` 0 picks a free port; ``on_ready(url)`` is called once it accepts connections."""
    root = Path(folder)
    if not (root / "index.html").is_file():
        raise InputError(f"{root} has no index.html (write the viewer first)")
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be in 0..65535, got {port}")
    try:
        server = ViewerServer(root, port)
    except OSError as exc:
        raise InputError(f"cannot listen on {LOOPBACK}:{port}: {exc.strerror or exc}") from None
    with server:
        if on_ready is not None:
            on_ready(server.url)
        timer = threading.Timer(max_seconds, server.shutdown) if max_seconds else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            if timer is not None:
                timer.cancel()
