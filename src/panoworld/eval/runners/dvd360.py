"""``360dvd``: 360DVD (AnimateDiff + 360-Adapter); text only, via the user's command template
(see ``_command.py``).

Input parity (reference §10, orientation fixed): the caption only (the method takes no image);
caption: long style.
Native output: 16 frames at 8 fps, 512x1024.
"""

from ._command import run_command_method
from .base import MethodSpec, register

SPEC = register(
    MethodSpec(
        "360dvd", "360DVD (AnimateDiff + 360-Adapter); text only", "text", run_command_method,
        native_fps=8.0, native_size=(512, 1024), num_frames=16,
        crop_size=None, caption_style="long", uses_caption=True,
    )
)
