"""The interface every caption backend implements, its errors and its answer type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from ..views import ViewImage

__all__ = ["VLMAnswer", "VLMBackend", "BackendError", "TransientBackendError", "redact", "model_key"]


@dataclass(frozen=True)
class VLMAnswer:
    """Text of the answer and the tokens it cost (0 when the backend does not report them)."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0


class BackendError(RuntimeError):
    """A request failed in a way that retrying will not fix (bad request, auth, missing model)."""


class TransientBackendError(BackendError):
    """A request failed in a way that may pass on retry (HTTP 429 / 5xx, timeout, connection reset).

    ``retry_after``: seconds the server asked to wait, when it said so.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class VLMBackend(Protocol):
    """One request = one prompt + the labelled views of one clip -> one text answer."""

    name: str
    model: str

    def generate(self, prompt: str, views: Sequence[ViewImage]) -> VLMAnswer:
        """Send one request; raise :class:`TransientBackendError` or :class:`BackendError` on failure."""
        ...


def redact(text: str, secrets: Sequence[str | None]) -> str:
    """``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def model_key(model: str) -> str:
    """A compact key for a model id: ``gemini-2.5-pro`` -> ``gemini2p5pro``, ``org/Qwen2.5-VL-7B`` -> ``qwen2p5vl7b``."""
    tail = model.rstrip("/").split("/")[-1].lower().replace(".", "p")
    return "".join(ch for ch in tail if ch.isalnum()) or "model"
