"""4-view captions of ERP clips through pluggable VLM backends."""

from .backends import BackendError, OpenAICompatBackend, TransientBackendError, VLMAnswer, VLMBackend, model_key
from .prompt import CAPTION_PROMPT, CAPTION_SCHEMA, WORD_LIMITS, CaptionFormatError, parse_caption
from .runner import CaptionOptions, ClipItem, caption_clips, caption_totals, clips_from_inputs
from .views import DIRECTIONS, TIME_NAMES, ViewImage, clip_views, render_views, view_frame_indices

__all__ = [
    "CAPTION_PROMPT",
    "CAPTION_SCHEMA",
    "DIRECTIONS",
    "TIME_NAMES",
    "WORD_LIMITS",
    "BackendError",
    "CaptionFormatError",
    "CaptionOptions",
    "ClipItem",
    "OpenAICompatBackend",
    "TransientBackendError",
    "VLMAnswer",
    "VLMBackend",
    "ViewImage",
    "caption_clips",
    "caption_totals",
    "clip_views",
    "clips_from_inputs",
    "model_key",
    "parse_caption",
    "render_views",
    "view_frame_indices",
]
