"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp server, ...) through httpx.

Views are sent as base64 ``data:image/jpeg`` URLs, each after a text part with its label. The API key
travels only in the ``Authorization`` header and is scrubbed from every error message.
"""

from __future__ import annotations

import base64
from typing import Sequence

from ..views import ViewImage
from .base import BackendError, TransientBackendError, VLMAnswer, redact

__all__ = ["OpenAICompatBackend", "build_chat_request"]

RETRY_STATUS = {408, 409, 425, 429}


def build_chat_request(
    model: str,
    prompt: str,
    views: Sequence[ViewImage],
    *,
    temperature: float | None,
    max_tokens: int,
    max_tokens_field: str = "max_tokens",
    json_mode: bool = True,
    reasoning_effort: str | None = None,
) -> dict:
    """The JSON body of one ``/chat/completions`` request (``None`` settings are left to the server)."""
    content: list[dict] = [{"type": "text", "text": prompt}]
    for view in views:
        url = "data:image/jpeg;base64," + base64.b64encode(view.jpeg).decode("ascii")
        content.append({"type": "text", "text": f"Image [{view.label}]:"})
        content.append({"type": "image_url", "image_url": {"url": url}})
    body: dict = {"model": model, "messages": [{"role": "user", "content": content}]}
    if temperature is not None:
        body["temperature"] = float(temperature)
    if reasoning_effort:
        body["reasoning_effort"] = reasoning_effort
    body[max_tokens_field] = int(max_tokens)
    if json_mode:
        body["response_format"] = {"type": "json_object"}
    return body


class OpenAICompatBackend:
    """Chat-completions client.

    Args:
        base_url: endpoint root, e.g. ``https://api.openai.com/v1`` or ``http://127.0.0.1:8000/v1``.
        model: model id sent in the request.
        api_key: bearer token or None (local servers often need none).
        temperature: sampling temperature, None = the server's default (GPT-5 models accept no other).
        max_tokens: output limit; ``max_tokens_field`` names its field, ``auto`` = ``max_completion_tokens``
            for api.openai.com (its newer models reject ``max_tokens``) and ``max_tokens`` elsewhere.
        reasoning_effort: e.g. ``minimal`` for OpenAI reasoning models; None = not sent.
        timeout: seconds per request.
        json_mode: ask for ``response_format = json_object``.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        temperature: float | None = None,
        max_tokens: int = 1536,
        max_tokens_field: str = "auto",
        timeout: float = 120.0,
        json_mode: bool = True,
        reasoning_effort: str | None = None,
    ):
        import httpx

        self.model = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self._key = api_key
        if max_tokens_field == "auto":
            max_tokens_field = "max_completion_tokens" if "api.openai.com" in base_url else "max_tokens"
        self.options = dict(
            temperature=temperature, max_tokens=max_tokens, max_tokens_field=max_tokens_field, json_mode=json_mode,
            reasoning_effort=reasoning_effort,
        )
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def _fail(self, message: str, transient: bool, retry_after: float | None = None) -> BackendError:
        message = redact(message, [self._key])
        return TransientBackendError(message, retry_after) if transient else BackendError(message)

    def generate(self, prompt: str, views: Sequence[ViewImage]) -> VLMAnswer:
        import httpx

        body = build_chat_request(self.model, prompt, views, **self.options)
        try:
            resp = self._client.post(self.url, json=body)
        except httpx.TimeoutException:
            raise self._fail("request timed out", True) from None
        except httpx.TransportError as exc:
            raise self._fail(f"connection failed ({type(exc).__name__})", True) from None
        if resp.status_code != 200:
            transient = resp.status_code in RETRY_STATUS or resp.status_code >= 500
            retry_after = _retry_after(resp.headers.get("retry-after"))
            snippet = " ".join(resp.text[:200].split())
            raise self._fail(f"HTTP {resp.status_code}: {snippet}", transient, retry_after)
        try:
            data = resp.json()
            text = data["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise self._fail("the server's reply is not a chat completion", True) from None
        usage = data.get("usage") or {}
        return VLMAnswer(text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))

    def close(self) -> None:
        self._client.close()


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
