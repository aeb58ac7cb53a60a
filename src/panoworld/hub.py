"""The Hugging Face Hub as a weights source: is a string a hub id, may the hub be contacted, can it be reached.

Without a network, ``from_pretrained(hub_id)`` in transformers / diffusers retries for about 30 s before it
fails. :func:`hub_load_kwargs` avoids that wait: when the hub is declared offline (``HF_HUB_OFFLINE``) or its
host does not accept a TCP connection within a few seconds, hub ids load with ``local_files_only=True``, so a
cached model still loads and a missing one fails at once with the caller's one-line error.
"""

from __future__ import annotations

import functools
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["HUB_PROBE_TIMEOUT_S", "hub_load_kwargs", "hub_offline", "hub_unreachable", "is_hub_id"]

#: Seconds to wait for a TCP connection to the hub before treating it as unreachable.
HUB_PROBE_TIMEOUT_S = 3.0
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_TRUE = ("1", "true", "yes", "on")
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def is_hub_id(value: str) -> bool:
    """True for strings shaped like ``owner/name`` that cannot be meant as a local path.

    ``weights/foo`` is read as a (missing) local path when a local folder ``weights`` exists.
    """
    if not _HUB_ID.match(value) or value.startswith("."):
        return False
    owner = Path(value.split("/", 1)[0])
    return not Path(value).exists() and not owner.is_dir()


def hub_offline() -> bool:
    """True when the Hugging Face hub must not be contacted (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(var, "").strip().lower() in _TRUE for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


@functools.lru_cache(maxsize=8)
def _accepts_connections(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_unreachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """True when the hub's host (``HF_ENDPOINT``, default huggingface.co) refuses or ignores a TCP connection.

    Probed once per process. Behind a proxy (``HTTPS_PROXY`` / ``ALL_PROXY``) a direct probe says nothing, so
    the answer is then False and the libraries try as usual.
    """
    if any(os.environ.get(var) for var in _PROXY_VARS):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    if not endpoint.hostname:
        return False
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    return not _accepts_connections(endpoint.hostname, port, float(timeout))


def hub_load_kwargs(source: str) -> dict:
    """``{"local_files_only": True}`` for a hub id when the hub is offline or unreachable, else ``{}``."""
    if is_hub_id(str(source)) and (hub_offline() or hub_unreachable()):
        return {"local_files_only": True}
    return {}
