"""Google Gemini through the ``google-genai`` package (optional extra ``panoworld[gemini]``, imported lazily)."""

from __future__ import annotations

from typing import Sequence

from panoworld.errors import MissingComponentError

from ..prompt import CAPTION_SCHEMA
from ..views import ViewImage
from .base import BackendError, TransientBackendError, VLMAnswer, redact

__all__ = ["GeminiBackend"]


class GeminiBackend:
    """``client.models.generate_content`` with interleaved labels and JPEG parts and a JSON response schema.

    Args:
        model: e.g. ``gemini-2.5-pro``, ``gemini-2.5-flash``.
        api_key: the key (taken from the environment by the caller).
        temperature, max_tokens: sampling settings; ``thinking_budget`` tokens (None = model default).
        timeout: seconds per request; base_url: another endpoint (a proxy, or a local test server).
        The SDK's own retries are switched off: the caption runner retries with its back-off.
    """

    name = "gemini"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        temperature: float = 0.4,
        max_tokens: int = 1536,
        thinking_budget: int | None = None,
        timeout: float = 120.0,
        base_url: str | None = None,
    ):
        try:
            from google import genai
            from google.genai import types
        except ImportError:
            raise MissingComponentError(
                "the Gemini backend needs the google-genai package: pip install 'panoworld[gemini]'"
            ) from None
        self.model = model
        self._key = api_key
        self._types = types
        http = types.HttpOptions(
            timeout=int(timeout * 1000), base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1)
        )
        self._client = genai.Client(api_key=api_key, http_options=http)
        extra = {}
        if thinking_budget is not None:
            extra["thinking_config"] = types.ThinkingConfig(thinking_budget=int(thinking_budget))
        schema_field = (
            "response_json_schema" if "response_json_schema" in types.GenerateContentConfig.model_fields
            else "response_schema"
        )
        extra[schema_field] = CAPTION_SCHEMA
        self._config = types.GenerateContentConfig(
            temperature=temperature, max_output_tokens=int(max_tokens), response_mime_type="application/json", **extra
        )

    def generate(self, prompt: str, views: Sequence[ViewImage]) -> VLMAnswer:
        types = self._types
        parts: list = [prompt]
        for view in views:
            parts.append(f"Image [{view.label}]:")
            parts.append(types.Part.from_bytes(data=view.jpeg, mime_type="image/jpeg"))
        try:
            resp = self._client.models.generate_content(model=self.model, contents=parts, config=self._config)
        except Exception as exc:  # google-genai raises errors.APIError (with .code) and httpx errors
            code = getattr(exc, "code", None)
            message = redact(f"{type(exc).__name__} {code or ''}: {str(exc)[:200]}", [self._key])
            if code is None or code in (408, 429) or int(code) >= 500:
                raise TransientBackendError(message) from None
            raise BackendError(message) from None
        usage = getattr(resp, "usage_metadata", None)
        return VLMAnswer(
            resp.text or "",
            int(getattr(usage, "prompt_token_count", 0) or 0),
            int(getattr(usage, "candidates_token_count", 0) or 0),
        )
