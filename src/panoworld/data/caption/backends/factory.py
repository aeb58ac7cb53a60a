"""Build a caption backend from its settings (``panoworld data caption``), reading the API key from the environment.

The key itself is never accepted as an argument nor written anywhere. Sending it to an endpoint that is neither
HTTPS nor on this machine (loopback) exposes it on the network: :func:`make_backend` warns once before any request.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from panoworld.errors import InputError

__all__ = ["BACKENDS", "BackendSettings", "make_backend", "key_exposed"]

BACKENDS = ("openai", "gemini", "transformers")
DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "gemini": "GEMINI_API_KEY"}
OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class BackendSettings:
    """Which VLM answers and how.

    Attributes:
        backend: "openai" (any OpenAI-compatible endpoint), "gemini" or "transformers" (a local model).
        model: model id (remote) or local folder / hub id (transformers).
        base_url: endpoint root (None: the backend's default).
        api_key_env: NAME of the environment variable holding the key (None: OPENAI_API_KEY / GEMINI_API_KEY).
        temperature: sampling temperature (None: the backend's default: the server's for openai, 0.4 for gemini,
            0 for transformers).
        max_tokens, max_tokens_field, timeout (seconds), json_mode, reasoning_effort: request options.
        device: torch device of the transformers backend.
    """

    backend: str = "openai"
    model: str = "gpt-5-mini"
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float | None = None
    max_tokens: int = 1536
    max_tokens_field: str = "auto"
    timeout: float = 120.0
    json_mode: bool = True
    reasoning_effort: str | None = None
    device: str = "cpu"

    def validate(self) -> "BackendSettings":
        """Raise :class:`InputError` (one line) for an unusable setting; return ``self``."""
        if self.backend not in BACKENDS:
            raise InputError(f"--backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.base_url is not None and urlsplit(self.base_url).scheme not in ("http", "https"):
            raise InputError(f"--base-url must be an http:// or https:// URL, got {self.base_url!r}")
        return self

    def api_key(self) -> str | None:
        """The key from the environment variable (None when there is none); a named but empty variable is an error."""
        name = self.api_key_env or DEFAULT_KEY_ENV.get(self.backend)
        key = os.environ.get(name) if name else None
        if self.api_key_env and not key:
            raise InputError(f"the environment variable {self.api_key_env} named by --api-key-env is not set or empty")
        return key


def key_exposed(url: str) -> bool:
    """True when a request to ``url`` would send a key unencrypted over a network (plain HTTP, not loopback)."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def make_backend(settings: BackendSettings, *, warn: Callable[[str], None] = print):
    """The backend of ``settings`` and its API key (for redaction); warns when the key would travel unencrypted."""
    settings = settings.validate()
    key = settings.api_key()
    if settings.backend == "transformers":
        from .local_hf import TransformersBackend

        return TransformersBackend(settings.model, device=settings.device, temperature=settings.temperature or 0.0,
                                   max_tokens=settings.max_tokens), None
    url = settings.base_url or (OPENAI_URL if settings.backend == "openai" else None)
    if key and url and key_exposed(url):
        warn(f"warning: the API key will be sent unencrypted to {urlsplit(url).hostname} (plain http, not this "
             "machine); use https or an unauthenticated local server")
    if settings.backend == "gemini":
        from .gemini import GeminiBackend

        if not key:
            raise InputError("the gemini backend needs an API key: set GEMINI_API_KEY or the variable named by "
                             "--api-key-env")
        return GeminiBackend(settings.model, api_key=key, max_tokens=settings.max_tokens, timeout=settings.timeout,
                             temperature=0.4 if settings.temperature is None else settings.temperature,
                             base_url=settings.base_url), key
    from .openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(url, settings.model, api_key=key, temperature=settings.temperature,
                               max_tokens=settings.max_tokens, max_tokens_field=settings.max_tokens_field,
                               timeout=settings.timeout, json_mode=settings.json_mode,
                               reasoning_effort=settings.reasoning_effort), key
