"""Our caption prompt and the validation of a model's answer ({short, medium, long} JSON)."""

from __future__ import annotations

import json
import re

__all__ = ["PROMPT_VERSION", "CAPTION_PROMPT", "WORD_LIMITS", "CaptionFormatError", "parse_caption", "CAPTION_SCHEMA"]

PROMPT_VERSION = "panoworld-caption-v1"

#: Allowed word counts (inclusive) of each caption; the prompt asks for the tighter ranges inside.
WORD_LIMITS = {"short": (3, 25), "medium": (20, 90), "long": (60, 180)}

#: JSON schema of the answer (also sent to backends that accept a response schema).
CAPTION_SCHEMA = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in WORD_LIMITS},
    "required": list(WORD_LIMITS),
}

CAPTION_PROMPT = """\
You will see twelve photos taken from the middle of ONE place by a camera that sees all around it.
They come from three moments of a short video (EARLY, MIDDLE, LATE). At each moment there are four
photos, looking ahead (FRONT), to the right (RIGHT), backwards (BACK) and to the left (LEFT); side by
side they close into a full circle, so neighbouring photos overlap at their edges. Each photo is
preceded by its label.

Describe the place and what happens in it as three captions of different length. Each caption must be
complete on its own (never refer to another caption), and the three must agree with each other.

- "short": 5 to 15 words, the way a person would ask for this video in a search box.
- "medium": 35 to 60 words: the kind of environment, two or three notable objects with their colours
  or materials, and the main activity or motion.
- "long": 90 to 130 words: first the light and time of day; then the layout around the viewer in this
  order, using these phrases: "In the front ...", "To the right ...", "Behind the camera ...",
  "On the left ..."; then materials, any people or vehicles and what they do; then how the camera
  moves, judged by comparing the three moments (write "The camera remains static." if nothing
  shifts); end with a short clause on the mood.

Rules for all three:
- Present tense. Begin with "A", "An" or a noun. Do not open with phrases such as "The video",
  "This image", "In this scene" or "A 360-degree view".
- Never mention photos, crops, labels, moments, frames or timestamps.
- Only describe what is visible. Do not invent readable text, signs, brand names or names of places
  or people; if text is present but unreadable, say there is a sign without quoting it.
- Strong stretching near the top and bottom edges is an artefact of the camera; do not describe it
  as part of the place.

Answer with one JSON object and nothing else:
{"short": "...", "medium": "...", "long": "..."}"""


class CaptionFormatError(ValueError):
    """The model's answer is not the required JSON object (retried like a transient error)."""


_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n?(.*?)\n?\s*```\s*$", re.S)


def _extract_json(text: str) -> object:
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except ValueError:
                pass
    raise CaptionFormatError("the answer is not valid JSON")


def word_count(text: str) -> int:
    """Words separated by white space."""
    return len(text.split())


def parse_caption(text: str, limits: dict[str, tuple[int, int]] = WORD_LIMITS) -> dict[str, str]:
    """Validate a model answer and return ``{"short", "medium", "long"}`` with normalised white space.

    Accepts the object bare or inside a ```json fence, or one level down under a single key
    (``{"captions": {...}}``). Raises :class:`CaptionFormatError` naming the first problem.
    """
    obj = _extract_json(text or "")
    if isinstance(obj, dict) and len(obj) == 1 and isinstance(next(iter(obj.values())), dict):
        obj = next(iter(obj.values()))
    if not isinstance(obj, dict):
        raise CaptionFormatError("the answer is not a JSON object")
    out = {}
    for key, (lo, hi) in limits.items():
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CaptionFormatError(f"the answer has no {key!r} caption string")
        value = " ".join(value.split())
        n = word_count(value)
        if not lo <= n <= hi:
            raise CaptionFormatError(f"the {key!r} caption has {n} words, expected {lo}-{hi}")
        out[key] = value
    return out
