"""``panoworld data``: cut long 360-degree videos into clips, caption them with a VLM, build training packages."""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import List, Optional

import typer

from panoworld.errors import InputError
from panoworld.formats.clips import cut_manifest_path
from panoworld.formats.package import PackageLayout

from ._common import console, parse_size, progress_bar

app = typer.Typer(
    help="Dataset building: `cut` long ERP videos into checked fixed-length clips, `caption` them with a "
    "vision-language model (12 upright views per clip), `package` clips + captions into a training set.",
    no_args_is_help=True,
)


@app.command("cut")
def cut(
    inputs: List[Path] = typer.Argument(..., help="Video files and/or folders (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: clips/, manifest.jsonl, manifest.csv."),
    seconds: float = typer.Option(5.0, "--seconds", min=0.01, help="Clip length in seconds (whole frames)."),
    fps: Optional[str] = typer.Option(
        None, "--fps", help="Output frame rate in frames/s (e.g. 16 or 30000/1001); frames are picked "
        "nearest in time. Default: keep the source rate."),
    size: Optional[str] = typer.Option(
        None, "--size", help="Resize to HEIGHTxWIDTH pixels (W = 2H), e.g. 512x1024. Default: keep."),
    shots: bool = typer.Option(False, "--split-shots", help="Drop clips that span a hard shot cut and "
                               "restart clip boundaries at the cut."),
    shot_threshold: float = typer.Option(0.5, "--shot-threshold", min=0.01, max=1.0,
                                         help="Histogram distance in (0, 1] that counts as a shot cut."),
    no_filters: bool = typer.Option(False, "--no-filters", help="Keep every clip (no ERP sanity filters)."),
    black_fraction: float = typer.Option(0.9, "--black-fraction", min=0.0, max=1.0,
                                         help="Drop a clip when more than this fraction of pixels is black."),
    seam_ratio: float = typer.Option(3.0, "--seam-ratio", min=0.0, help="Drop a clip when the left/right "
                                     "edge difference exceeds this multiple of the neighbour-column difference."),
    crf: int = typer.Option(18, "--crf", min=0, max=51, help="x264 quality of the clips (lower = better)."),
    workers: int = typer.Option(1, "-j", "--workers", min=1, help="Videos cut in parallel (processes)."),
    chunk: int = typer.Option(16, "--chunk", min=1, help="Frames decoded per step (memory vs speed)."),
) -> None:
    """Cut long ERP videos into fixed-length clips with exact frame boundaries (re-encoded; resumable)."""
    from panoworld.data import CutOptions, FilterConfig, cut_videos, find_videos

    try:
        fps_value = Fraction(fps) if fps else None
    except (ValueError, ZeroDivisionError):
        raise InputError(f"--fps must be a number or a ratio like 30000/1001, got {fps!r}") from None
    if fps_value is not None and fps_value <= 0:
        raise InputError(f"--fps must be positive, got {fps}")
    out_size = parse_size(size) if size else None
    if out_size and (out_size[1] != 2 * out_size[0] or out_size[0] % 2):
        raise InputError(f"--size must be an even HEIGHTx(2*HEIGHT) ERP size, got {size}")
    filters = FilterConfig(enabled=not no_filters, black_fraction=black_fraction, seam_ratio=seam_ratio)
    opts = CutOptions(seconds, fps_value, out_size, shot_threshold if shots else None, crf, chunk, filters)
    videos = find_videos(inputs)
    with progress_bar("cut", len(videos)) as advance:
        records = cut_videos(videos, out, opts, workers=workers, on_done=lambda rec, skipped: advance(1))
    kept = sum(e["status"] == "kept" for r in records for e in r["clips"])
    dropped: dict[str, int] = {}
    for r in records:
        for e in r["clips"]:
            if e["status"] != "kept":
                dropped[e["reason"]] = dropped.get(e["reason"], 0) + 1
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items())) or "none"
    console.print(f"{len(videos)} videos -> {kept} clips kept; dropped: {detail}; manifest: {cut_manifest_path(out)}")


def _make_backend(backend: str, model: str, base_url: Optional[str], key: Optional[str], temperature: Optional[float],
                  max_tokens: int, max_tokens_field: str, timeout: float, device: str, json_mode: bool,
                  reasoning_effort: Optional[str]):
    from panoworld.data.caption.backends import OpenAICompatBackend

    if backend == "openai":
        return OpenAICompatBackend(base_url or "https://api.openai.com/v1", model, api_key=key, temperature=temperature,
                                   max_tokens=max_tokens, max_tokens_field=max_tokens_field, timeout=timeout,
                                   json_mode=json_mode, reasoning_effort=reasoning_effort)
    if backend == "gemini":
        from panoworld.data.caption.backends.gemini import GeminiBackend

        if not key:
            raise InputError("the gemini backend needs an API key: set the variable named by --api-key-env")
        return GeminiBackend(model, api_key=key, temperature=0.4 if temperature is None else temperature,
                             max_tokens=max_tokens, timeout=timeout,
                             base_url=base_url)
    if backend == "transformers":
        from panoworld.data.caption.backends.local_hf import TransformersBackend

        return TransformersBackend(model, device=device, temperature=temperature or 0.0, max_tokens=max_tokens)
    raise InputError(f"--backend must be openai, gemini or transformers, got {backend!r}")


@app.command("caption")
def caption(
    inputs: List[Path] = typer.Argument(..., help="Cut output folders (manifest.jsonl), clip folders or .mp4 files."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for <clip>.json captions, logs and run totals."),
    backend: str = typer.Option("openai", "--backend", help="openai (any OpenAI-compatible endpoint), gemini, "
                                "or transformers (local model)."),
    model: str = typer.Option("gpt-5-mini", "--model", help="Model id (remote) or local folder / hub id (transformers)."),
    base_url: Optional[str] = typer.Option(
        None, "--base-url", help="Endpoint root: the OpenAI-compatible server (default https://api.openai.com/v1; "
        "e.g. http://127.0.0.1:8000/v1 for vLLM) or a Gemini proxy (default: Google's endpoint)."),
    api_key_env: Optional[str] = typer.Option(
        None, "--api-key-env", help="NAME of the environment variable holding the API key (the key itself is "
        "never accepted on the command line nor written anywhere). Default: OPENAI_API_KEY / GEMINI_API_KEY."),
    temperature: Optional[float] = typer.Option(
        None, "--temperature", min=0.0, help="Sampling temperature. Default: the server's own for openai (GPT-5 "
        "models accept no other), 0.4 for gemini, 0 (greedy) for transformers."),
    reasoning_effort: Optional[str] = typer.Option(
        None, "--reasoning-effort", help="openai backend: reasoning_effort to send (e.g. minimal); default: none."),
    max_tokens: int = typer.Option(1536, "--max-tokens", min=16, help="Output token limit per request."),
    max_tokens_field: str = typer.Option(
        "auto", "--max-tokens-field", help="openai backend: request field of the token limit; auto = "
        "max_completion_tokens on api.openai.com, max_tokens elsewhere (vLLM, local servers)."),
    no_json_mode: bool = typer.Option(False, "--no-json-mode", help="Do not send response_format=json_object."),
    timeout: float = typer.Option(120.0, "--timeout", min=1.0, help="Seconds per request."),
    attempts: int = typer.Option(5, "--attempts", min=1, help="Requests per clip before it is recorded as failed."),
    retry_base: float = typer.Option(2.0, "--retry-base", min=0.0, help="First back-off delay in seconds (doubles)."),
    retry_max: float = typer.Option(60.0, "--retry-max", min=0.0, help="Longest back-off delay in seconds."),
    view_size: str = typer.Option("480x640", "--view-size", help="Size of each of the 12 views, HEIGHTxWIDTH px."),
    fov: float = typer.Option(90.0, "--fov", min=1.0, max=179.0, help="Horizontal field of view of the views, degrees."),
    price_in: float = typer.Option(0.0, "--price-in", min=0.0, help="USD per million input tokens (cost estimate)."),
    price_out: float = typer.Option(0.0, "--price-out", min=0.0, help="USD per million output tokens (cost estimate)."),
    workers: int = typer.Option(1, "-j", "--workers", min=1, help="Requests in flight at once (threads)."),
    device: str = typer.Option("cpu", "--device", help="Torch device of the transformers backend."),
) -> None:
    """Caption clips: 3 timestamps x 4 upright views -> one VLM request -> {short, medium, long} (resumable)."""
    from panoworld.data.caption import CaptionOptions, caption_clips, clips_from_inputs

    env_name = api_key_env or {"openai": "OPENAI_API_KEY", "gemini": "GEMINI_API_KEY"}.get(backend)
    key = os.environ.get(env_name) if env_name else None
    if api_key_env and not key:
        raise InputError(f"the environment variable {api_key_env} named by --api-key-env is not set or empty")
    clips = clips_from_inputs(inputs)
    client = _make_backend(backend, model, base_url, key, temperature, max_tokens, max_tokens_field, timeout, device,
                           not no_json_mode, reasoning_effort)
    opts = CaptionOptions(view_size=parse_size(view_size, name="--view-size"), fov=fov, max_attempts=attempts,
                          retry_base=retry_base, retry_max=retry_max, price_in=price_in, price_out=price_out)
    with progress_bar("caption", len(clips)) as advance:
        summary = caption_clips(clips, out, client, opts, workers=workers, secrets=[key],
                                on_done=lambda stem, status: advance(1))
    console.print(
        f"captioned {summary['captioned']}, failed {summary['failed']}, skipped {summary['skipped']}; "
        f"{summary['requests']} requests, {summary['input_tokens']} in / {summary['output_tokens']} out tokens, "
        f"cost ${summary['cost_usd']:.4f}"
    )
    if summary["failed"]:
        console.print(f"failures are in {out}/*.failed.json; re-run the same command to retry them")


@app.command("package")
def package(
    out: Path = typer.Option(..., "--out", "-o", help="Package folder to write."),
    clips: List[Path] = typer.Option([], "--clips", help="A `data cut` output folder (repeatable)."),
    captions: List[Path] = typer.Option([], "--captions", help="A `data caption` output folder (repeatable)."),
    annotations: Optional[Path] = typer.Option(None, "--annotations", help="Folder of per-clip annotation "
                                               "folders named like the clips (optional)."),
    web360: Optional[Path] = typer.Option(None, "--web360", help="WEB360 root (WEB360_360TF_train.csv + "
                                          "videos_512x1024x100/)."),
    x360: Optional[Path] = typer.Option(None, "--360x", help="360x root (index.json + panoramic/)."),
    folders: List[Path] = typer.Option([], "--folder", help="Folder of self-collected <stem>.mp4 clips with "
                                       "<stem>.json or <stem>.txt captions (repeatable)."),
    val_ratio: float = typer.Option(0.05, "--val-ratio", min=0.0, max=0.99, help="Fraction of items for val."),
    seed: int = typer.Option(42, "--seed", help="Seed of the grouped train/val shuffle."),
    link: str = typer.Option("hardlink", "--link", help="hardlink (copy across devices), copy, or symlink "
                             "(relative)."),
    allow_uncaptioned: bool = typer.Option(False, "--allow-uncaptioned", help="Keep clips without captions."),
) -> None:
    """Build a training package: videos/, captions/, annotations/, train.csv, val.csv, manifest.json."""
    from panoworld.data.importers import (
        items_from_360x,
        items_from_cut,
        items_from_folder,
        items_from_web360,
    )
    from panoworld.data.package import build_package
    from panoworld.formats.captions import read_caption_records

    if not (clips or web360 or x360 or folders):
        raise InputError("give at least one of --clips, --folder, --web360, --360x")
    items = items_from_cut(list(clips), read_caption_records(list(captions)), annotations) if clips else []
    if web360:
        items += items_from_web360(web360)
    if x360:
        items += items_from_360x(x360)
    for folder in folders:
        items += items_from_folder(folder)
    with progress_bar("package", len(items)) as advance:
        manifest = build_package(items, out, val_ratio=val_ratio, seed=seed, link=link,
                                 require_captions=not allow_uncaptioned, on_item=advance)
    console.print(json.dumps(manifest["counts"]) + f" -> {PackageLayout(out).manifest}")
