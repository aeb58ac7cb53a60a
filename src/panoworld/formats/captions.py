"""Caption files: one reader for every caption JSON layout, and the writers of ours.

Layouts read by :func:`read_captions` / :func:`parse_captions` (version 1):

- flat captions ``{"short", "medium", "long", ...}`` — what ``panoworld synth`` writes for a test set and
  ``panoworld data package`` writes as ``captions/<name>.json`` (with ``name``, ``model``, ``origin``);
- a caption record ``{"captions": {"short", "medium", "long"}, "model", ...}`` — what ``panoworld data caption``
  writes as ``<stem>.json`` (failures go to ``<stem>.failed.json``, which is never read as captions);
- the reference's ``{model_key: {"short", "medium", "long"}}`` (first model with text, or the one asked for);
- a bare JSON string, or a ``<stem>.txt`` beside a video (one caption, taken as the long one).

A style is picked with the fallback order requested style -> long -> medium -> short (:meth:`Captions.pick`).
An optional ``perspective`` entry beside the styles is the prompt of the perspective input (``eval infer`` gives it
to ``panoworld`` as its perspective prompt); asked for where there is none, it falls back the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from panoworld.errors import InputError
from panoworld.io.atomic import atomic_write_json

__all__ = [
    "CAPTIONS_VERSION",
    "CAPTION_STYLES",
    "PERSPECTIVE_CAPTION",
    "CAPTION_RUNS_LOG",
    "CAPTION_EVENTS_LOG",
    "Captions",
    "parse_captions",
    "read_captions",
    "write_captions",
    "caption_record_path",
    "caption_failure_path",
    "is_caption_failure",
    "read_caption_records",
    "sidecar_captions",
]

CAPTIONS_VERSION = 1
#: Styles in fallback order (after the requested one).
CAPTION_STYLES = ("long", "medium", "short")
#: The optional entry describing the perspective input (not a fallback style).
PERSPECTIVE_CAPTION = "perspective"
#: Append-only JSON-lines logs of ``panoworld data caption`` in its output folder: per-run totals, per-clip events.
CAPTION_RUNS_LOG = "caption_runs.jsonl"
CAPTION_EVENTS_LOG = "caption_log.jsonl"
RECORD_SUFFIX = ".json"
FAILURE_SUFFIX = ".failed.json"
TEXT_SUFFIX = ".txt"


@dataclass(frozen=True)
class Captions:
    """The three caption styles of one clip (None where absent), the model that wrote them and the optional
    ``perspective`` caption of the input view."""

    short: str | None = None
    medium: str | None = None
    long: str | None = None
    model: str | None = None
    perspective: str | None = None

    def pick(self, style: str = "medium") -> str:
        """The caption in ``style``, else the first present of long -> medium -> short; "" when none."""
        for key in (style, *CAPTION_STYLES):
            text = getattr(self, key, None) if key in (*CAPTION_STYLES, PERSPECTIVE_CAPTION) else None
            if isinstance(text, str) and text.strip():
                return text.strip()
        return ""

    def __bool__(self) -> bool:
        return bool(self.pick())

    def to_json(self, **extra) -> dict:
        """The flat JSON object ``{"short", "medium", "long", "model" and "perspective" (when known), **extra}``."""
        model = {} if self.model is None else {"model": self.model}
        view = {} if self.perspective is None else {PERSPECTIVE_CAPTION: self.perspective}
        return {"short": self.short, "medium": self.medium, "long": self.long, **model, **view, **extra}


def _styles(entry: dict, model: str | None) -> Captions | None:
    text = {k: entry.get(k) if isinstance(entry.get(k), str) else None
            for k in ("short", "medium", "long", PERSPECTIVE_CAPTION)}
    caps = Captions(**text, model=model)
    return caps if caps else None


def parse_captions(data, *, model_key: str | None = None) -> Captions | None:
    """Captions from a decoded caption JSON of any layout (see module doc); None when it holds no caption."""
    if isinstance(data, str):
        return Captions(long=data.strip(), model="legacy") if data.strip() else None
    if not isinstance(data, dict):
        return None
    model = data.get("model") if isinstance(data.get("model"), str) else None
    if isinstance(data.get("captions"), dict):
        return _styles(data["captions"], model)
    flat = _styles(data, model)
    if flat is not None:
        return flat
    keys = [model_key] if model_key else [k for k, v in data.items() if isinstance(v, dict)]
    for key in keys:
        if isinstance(data.get(key), dict):
            found = _styles(data[key], key)
            if found is not None:
                return found
    return None


def read_captions(path: str | os.PathLike, *, model_key: str | None = None) -> Captions:
    """Captions of one clip from its JSON (any layout); empty :class:`Captions` when the file holds none.

    Raises :class:`InputError` (one line) for a missing file, invalid JSON or a JSON that is not an object/string.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"caption file not found: {p}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"caption file {p} is not valid JSON: {exc}") from None
    if not isinstance(data, (dict, str)):
        raise InputError(f"caption file {p} must hold a JSON object")
    return parse_captions(data, model_key=model_key) or Captions()


def write_captions(path: str | os.PathLike, captions: Captions, **extra) -> Path:
    """Write flat captions (plus ``extra`` fields, e.g. ``name``, ``origin``) atomically; return the path."""
    return atomic_write_json(path, captions.to_json(**extra))


def caption_record_path(folder: str | os.PathLike, stem: str) -> Path:
    """Where ``panoworld data caption`` writes the caption record of clip ``stem``."""
    return Path(folder) / f"{stem}{RECORD_SUFFIX}"


def caption_failure_path(folder: str | os.PathLike, stem: str) -> Path:
    """Where ``panoworld data caption`` records the last failure of clip ``stem`` (retried on the next run)."""
    return Path(folder) / f"{stem}{FAILURE_SUFFIX}"


def is_caption_failure(path: str | os.PathLike) -> bool:
    return Path(path).name.endswith(FAILURE_SUFFIX)


def read_caption_records(folders: list[Path]) -> dict[str, Captions]:
    """Captions of every caption record in ``folders`` by clip stem (later folders win); unreadable files skipped."""
    found: dict[str, Captions] = {}
    for folder in folders:
        if not Path(folder).is_dir():
            raise InputError(f"caption folder not found: {folder}")
        for p in sorted(Path(folder).glob(f"*{RECORD_SUFFIX}")):
            if is_caption_failure(p):
                continue
            try:
                rec = json.loads(p.read_text())
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("captions"), dict):
                caps = parse_captions(rec)
                if caps is not None:
                    found[p.stem] = caps
    return found


def sidecar_captions(video: str | os.PathLike) -> Captions | None:
    """Captions stored beside a video: ``<stem>.json`` (any layout) or ``<stem>.txt``; None when there are none."""
    video = Path(video)
    js, txt = video.with_suffix(RECORD_SUFFIX), video.with_suffix(TEXT_SUFFIX)
    if js.is_file():
        caps = read_captions(js)
        if not caps:
            raise InputError(f"{js}: expected a caption record or {{model_key: {{short, medium, long}}}}")
        return caps
    if txt.is_file():
        text = " ".join(txt.read_text(encoding="utf-8").split())
        return Captions(long=text, model="legacy") if text else None
    return None
