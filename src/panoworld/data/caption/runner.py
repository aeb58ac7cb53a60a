"""Caption many clips: one request per clip, validation, retries with back-off, resume, usage and cost.

Per clip the output folder gets a caption record on success (written atomically, with the settings key of the
model, prompt and views and the inputs key of the clip file; a re-run skips it, re-captions a changed clip and
stops naming ``--force`` when the settings changed, :mod:`panoworld.formats.job_record`) or a failure record after
the last failed attempt (a re-run tries it again). Every answered request is logged with its tokens in the events
log as it happens, so :func:`caption_totals` counts the requests of killed runs too; every finished run appends its
totals to the runs log (file names: ``panoworld.formats.captions``). Secrets given to :func:`caption_clips` are
scrubbed from every message before it is stored or shown.
"""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from panoworld.errors import InputError
from panoworld.formats.captions import CAPTION_EVENTS_LOG, CAPTION_RUNS_LOG, caption_failure_path, caption_record_path
from panoworld.formats.clips import is_cut_folder, kept_clips, source_video_id
from panoworld.formats.job_record import Item, plan_items, settings_key, source_fingerprint, write_record
from panoworld.io import atomic_write_json

from .backends.base import BackendError, TransientBackendError, VLMBackend, model_key, redact
from .prompt import CAPTION_PROMPT, PROMPT_VERSION, CaptionFormatError, parse_caption
from .views import DIRECTIONS, clip_views

__all__ = ["CaptionOptions", "ClipItem", "caption_clips", "caption_settings", "caption_totals", "clips_from_inputs"]



@dataclass(frozen=True)
class ClipItem:
    """A clip to caption: its file and the source video it was cut from (for grouping)."""

    path: Path
    video_id: str

    @property
    def stem(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class CaptionOptions:
    """Views, retries and prices.

    Args:
        view_size: (height, width) of each perspective view in pixels; fov: its horizontal FOV, degrees.
        jpeg_quality: JPEG quality of the views sent.
        max_attempts: requests per clip before it is recorded as failed.
        retry_base, retry_max: back-off in seconds: ``min(retry_max, retry_base * 2**(attempt-1))``
            times a random factor in [1, 1.25), or the server's Retry-After when it is longer.
        price_in, price_out: USD per million input / output tokens (for the cost estimate).
        prompt: the instruction text (default: our prompt).
    """

    view_size: tuple[int, int] = (480, 640)
    fov: float = 90.0
    jpeg_quality: int = 88
    max_attempts: int = 5
    retry_base: float = 2.0
    retry_max: float = 60.0
    price_in: float = 0.0
    price_out: float = 0.0
    prompt: str = CAPTION_PROMPT


def clips_from_inputs(inputs: Sequence[Path]) -> list[ClipItem]:
    """Clips from cut-output folders (their kept clips), folders of ``.mp4`` or files."""
    items: list[ClipItem] = []
    for item in map(Path, inputs):
        if item.is_dir() and is_cut_folder(item):
            items.extend(ClipItem(path, row["video_id"]) for path, row in kept_clips(item))
        elif item.is_dir():
            items.extend(ClipItem(p, source_video_id(p.stem)) for p in sorted(item.glob("*.mp4")))
        elif item.is_file():
            items.append(ClipItem(item, source_video_id(item.stem)))
        else:
            raise InputError(f"input not found: {item}")
    stems = [c.stem for c in items]
    if len(set(stems)) != len(stems):
        raise InputError("two input clips share a file name; caption them into separate output folders")
    if not items:
        raise InputError("no clips found in the inputs")
    return items


class _Totals:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts = {"captioned": 0, "failed": 0, "skipped": 0, "requests": 0, "retries": 0}
        self.input_tokens = 0
        self.output_tokens = 0

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                if k == "input_tokens":
                    self.input_tokens += v
                elif k == "output_tokens":
                    self.output_tokens += v
                else:
                    self.counts[k] += v


class _Log:
    """Append-only JSON-lines event log (thread-safe); messages are already redacted."""

    def __init__(self, path: Path):
        self.path, self.lock = path, threading.Lock()

    def write(self, **event) -> None:
        event = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **event}
        with self.lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, ensure_ascii=False) + "\n")


def _backoff(attempt: int, opts: CaptionOptions, retry_after: float | None, rng: random.Random) -> float:
    delay = min(opts.retry_max, opts.retry_base * 2 ** (attempt - 1)) * (1 + 0.25 * rng.random())
    if retry_after is not None:
        delay = max(delay, min(retry_after, opts.retry_max))
    return delay


def _caption_one(
    clip: ClipItem, out_dir: Path, backend: VLMBackend, opts: CaptionOptions, totals: _Totals, log: _Log,
    secrets: Sequence[str | None], rng: random.Random, keys: tuple[str, str | None] = ("", None),
) -> str:
    """Caption one clip; return ``"captioned"`` or ``"failed"`` (never raises for request problems)."""
    done_path, fail_path = caption_record_path(out_dir, clip.stem), caption_failure_path(out_dir, clip.stem)
    used = {"input_tokens": 0, "output_tokens": 0}
    attempt, error_kind, message = 0, "", ""
    try:
        views = clip_views(clip.path, size=opts.view_size, fov=opts.fov, quality=opts.jpeg_quality)
    except (InputError, ValueError, OSError) as exc:
        views, error_kind, message = None, "unreadable_clip", redact(str(exc), secrets)
    while views is not None and attempt < opts.max_attempts:
        attempt += 1
        retry_after = None
        try:
            totals.add(requests=1)
            answer = backend.generate(opts.prompt, views)
            totals.add(input_tokens=answer.input_tokens, output_tokens=answer.output_tokens)
            log.write(clip=clip.stem, event="request", attempt=attempt, input_tokens=answer.input_tokens,
                      output_tokens=answer.output_tokens)
            used["input_tokens"] += answer.input_tokens
            used["output_tokens"] += answer.output_tokens
            captions = parse_caption(answer.text)
        except CaptionFormatError as exc:
            error_kind, message = "invalid_answer", str(exc)
        except TransientBackendError as exc:
            error_kind, message, retry_after = "transient", redact(str(exc), secrets), exc.retry_after
        except BackendError as exc:
            error_kind, message = "request_failed", redact(str(exc), secrets)
            log.write(clip=clip.stem, event="error", attempt=attempt, kind=error_kind, message=message)
            break
        except Exception as exc:  # a backend bug must not stop thousands of clips; it is recorded per clip
            error_kind, message = "backend_exception", redact(f"{type(exc).__name__}: {exc}"[:300], secrets)
            log.write(clip=clip.stem, event="error", attempt=attempt, kind=error_kind, message=message)
            break
        else:
            record = {
                "clip": clip.path.name,
                "video_id": clip.video_id,
                "model": backend.model,
                "model_key": model_key(backend.model),
                "backend": backend.name,
                "prompt_version": PROMPT_VERSION,
                "captions": captions,
                "views": {
                    "frames": sorted({v.frame_index for v in views}),
                    "yaws_deg": [yaw for _, yaw in DIRECTIONS],
                    "fov_deg": opts.fov,
                    "size": list(opts.view_size),
                },
                "usage": used,
                "attempts": attempt,
            }
            write_record(done_path, record, *keys)
            fail_path.unlink(missing_ok=True)
            log.write(clip=clip.stem, event="captioned", attempts=attempt, **used)
            return "captioned"
        log.write(clip=clip.stem, event="retry" if attempt < opts.max_attempts else "error", attempt=attempt,
                  kind=error_kind, message=message)
        if attempt < opts.max_attempts:
            totals.add(retries=1)
            time.sleep(_backoff(attempt, opts, retry_after, rng))
    atomic_write_json(
        fail_path,
        {"clip": clip.path.name, "video_id": clip.video_id, "model": backend.model, "error": error_kind,
         "message": message, "attempts": attempt, "usage": used},
    )
    return "failed"


def caption_clips(
    clips: Sequence[ClipItem],
    out_dir: Path,
    backend: VLMBackend,
    opts: CaptionOptions = CaptionOptions(),
    *,
    workers: int = 1,
    secrets: Sequence[str | None] = (),
    seed: int | None = None,
    force: bool = False,
    on_done: Callable[[str, str], None] | None = None,
) -> dict:
    """Caption every clip not captioned yet with the same settings; return this run's summary (counts, tokens,
    cost in USD) with ``all_runs``: the totals of every request ever logged in ``out_dir`` (:func:`caption_totals`).

    ``on_done(stem, status)`` is called per clip with ``captioned`` / ``failed`` / ``skipped``.
    """
    key = settings_key(caption_settings(backend, opts))
    items = [Item(clip.stem, caption_record_path(out_dir, clip.stem), key, clip, inputs=_clip_key(clip.path))
             for clip in clips]
    plan = plan_items(items, force=force)
    out_dir.mkdir(parents=True, exist_ok=True)
    totals, log, rng = _Totals(), _Log(out_dir / CAPTION_EVENTS_LOG), random.Random(seed)
    started = time.time()
    for item in plan.done:
        totals.add(skipped=1)
        if on_done:
            on_done(item.name, "skipped")

    def run(item: Item) -> None:
        clip = item.payload
        status = _caption_one(clip, out_dir, backend, opts, totals, log, secrets, rng, (item.key, item.inputs))
        totals.add(**{status: 1})
        if on_done:
            on_done(clip.stem, status)

    if workers <= 1:
        for item in plan.todo:
            run(item)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, plan.todo))
    cost = totals.input_tokens * opts.price_in / 1e6 + totals.output_tokens * opts.price_out / 1e6
    summary = {
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "backend": backend.name,
        "model": backend.model,
        "clips": len(clips),
        **totals.counts,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "price_usd_per_million": {"input": opts.price_in, "output": opts.price_out},
        "cost_usd": round(cost, 6),
        "seconds": round(time.time() - started, 2),
        "options": {k: v for k, v in asdict(opts).items() if k != "prompt"},
    }
    with open(out_dir / CAPTION_RUNS_LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(summary) + "\n")
    return {**summary, "all_runs": caption_totals(out_dir, opts)}


def caption_settings(backend: VLMBackend, opts: CaptionOptions) -> dict:
    """What determines a clip's captions (the input of the settings key): model, prompt and views."""
    return {"backend": backend.name, "model": backend.model, "prompt_version": PROMPT_VERSION,
            "prompt": opts.prompt, "view_size": list(opts.view_size), "fov": opts.fov,
            "jpeg_quality": opts.jpeg_quality}


def _clip_key(path: Path) -> str | None:
    try:
        return settings_key({k: v for k, v in source_fingerprint(path).items() if k != "path"})
    except OSError:
        return None


def caption_totals(out_dir: Path, opts: CaptionOptions = CaptionOptions()) -> dict:
    """Requests, tokens and cost (at ``opts``' prices) of every answered request logged in ``out_dir``,
    including those of runs that were killed before writing their own totals."""
    requests, tokens_in, tokens_out = 0, 0, 0
    path = Path(out_dir) / CAPTION_EVENTS_LOG
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:  # the last line of a killed run may be cut short
            continue
        if event.get("event") == "request":
            requests += 1
            tokens_in += int(event.get("input_tokens") or 0)
            tokens_out += int(event.get("output_tokens") or 0)
    cost = tokens_in * opts.price_in / 1e6 + tokens_out * opts.price_out / 1e6
    return {"requests": requests, "input_tokens": tokens_in, "output_tokens": tokens_out, "cost_usd": round(cost, 6)}
