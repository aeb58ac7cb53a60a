"""Caption backends behind one interface (:class:`~.base.VLMBackend`): OpenAI-compatible HTTP, Gemini, local transformers."""

from .base import BackendError, TransientBackendError, VLMAnswer, VLMBackend, model_key, redact
from .openai_compat import OpenAICompatBackend, build_chat_request

__all__ = [
    "BackendError",
    "OpenAICompatBackend",
    "TransientBackendError",
    "VLMAnswer",
    "VLMBackend",
    "build_chat_request",
    "model_key",
    "redact",
]
