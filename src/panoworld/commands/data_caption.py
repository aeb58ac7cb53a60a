"""``panoworld data caption``: 4-view captions of ERP clips through a pluggable VLM backend (resumable)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from panoworld.errors import BatchFailedError

from ._common import parse_size, progress_bar, say
from ._options import output_dir


def caption(
    inputs: List[Path] = typer.Argument(..., exists=True, help="Cut output folders (manifest.jsonl), clip folders "
                                        "or .mp4 files."),
    out: Path = typer.Option(..., "--out", "-o", callback=output_dir, help="Output folder."),
    force: bool = typer.Option(False, "--force", help="Redo clips already captioned (needed when the model, prompt "
                               "or views changed)."),
    backend: str = typer.Option("openai", "--backend", help="openai (any OpenAI-compatible endpoint), gemini, or "
                                "transformers (local model)."),
    model: str = typer.Option("gpt-5-mini", "--model", help="Model id (remote) or local folder / hub id "
                              "(transformers)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Endpoint root: the OpenAI-compatible server "
                                           "(default https://api.openai.com/v1; e.g. http://127.0.0.1:8000/v1 for "
                                           "vLLM) or a Gemini proxy (default: Google's endpoint)."),
    api_key_env: Optional[str] = typer.Option(None, "--api-key-env", help="NAME of the environment variable holding "
                                              "the API key (never the key itself; it is written nowhere). Default: "
                                              "OPENAI_API_KEY / GEMINI_API_KEY. Plain-http non-local URLs get a "
                                              "warning."),
    temperature: Optional[float] = typer.Option(None, "--temperature", min=0.0, help="Sampling temperature. "
                                                "Default: the server's own for openai (GPT-5 models accept no "
                                                "other), 0.4 for gemini, 0 (greedy) for transformers."),
    reasoning_effort: Optional[str] = typer.Option(None, "--reasoning-effort", help="openai backend: "
                                                   "reasoning_effort to send (e.g. minimal); default: none."),
    max_tokens: int = typer.Option(1536, "--max-tokens", min=16, help="Output token limit per request."),
    max_tokens_field: str = typer.Option("auto", "--max-tokens-field", help="openai backend: request field of the "
                                         "token limit; auto = max_completion_tokens on api.openai.com, max_tokens "
                                         "elsewhere (vLLM, local servers)."),
    no_json_mode: bool = typer.Option(False, "--no-json-mode", help="Do not send response_format=json_object."),
    timeout: float = typer.Option(120.0, "--timeout", min=1.0, help="Seconds per request."),
    attempts: int = typer.Option(5, "--attempts", min=1, help="Requests per clip before it is recorded as failed."),
    retry_base: float = typer.Option(2.0, "--retry-base", min=0.0, help="First back-off delay in seconds "
                                     "(doubles)."),
    retry_max: float = typer.Option(60.0, "--retry-max", min=0.0, help="Longest back-off delay in seconds."),
    view_size: str = typer.Option("480x640", "--view-size", help="Size of each of the 12 views, HEIGHTxWIDTH px."),
    fov: float = typer.Option(90.0, "--fov", min=1.0, max=179.0, help="Horizontal field of view of the views, "
                              "degrees."),
    price_in: float = typer.Option(0.0, "--price-in", min=0.0, help="USD per million input tokens (cost "
                                   "estimate)."),
    price_out: float = typer.Option(0.0, "--price-out", min=0.0, help="USD per million output tokens (cost "
                                    "estimate)."),
    workers: int = typer.Option(1, "-j", "--workers", min=1, help="Requests in flight at once (threads)."),
    device: str = typer.Option("cpu", "--device", help="Torch device of the transformers backend."),
) -> None:
    """Caption clips: 3 timestamps x 4 upright views -> one VLM request -> {short, medium, long} (resumable).
    Writes <clip>.json captions, logs and run totals."""
    from panoworld.data.caption.backends.factory import BackendSettings, make_backend

    settings = BackendSettings(backend, model, base_url, api_key_env, temperature, max_tokens, max_tokens_field,
                               timeout, not no_json_mode, reasoning_effort, device).validate()
    from panoworld.data.caption import CaptionOptions, caption_clips, clips_from_inputs

    opts = CaptionOptions(view_size=parse_size(view_size, name="--view-size"), fov=fov, max_attempts=attempts,
                          retry_base=retry_base, retry_max=retry_max, price_in=price_in, price_out=price_out)
    clips = clips_from_inputs(inputs)
    client, key = make_backend(settings, warn=say)
    with progress_bar("caption", len(clips)) as advance:
        summary = caption_clips(clips, out, client, opts, workers=workers, secrets=[key], force=force,
                                on_done=lambda stem, status: advance(1))
    every = summary["all_runs"]
    say(f"captioned {summary['captioned']}, failed {summary['failed']}, skipped {summary['skipped']}; this run: "
        f"{summary['requests']} requests, ${summary['cost_usd']:.4f}; all runs in {out}: {every['requests']} requests, "
        f"{every['input_tokens']} in / {every['output_tokens']} out tokens, ${every['cost_usd']:.4f}")
    if summary["failed"]:
        raise BatchFailedError(f"{summary['failed']} clip(s) failed (reasons in {out}/*.failed.json); re-run the same "
                               "command to retry them")
