"""``follow-your-canvas``: Follow-Your-Canvas (SD-2.1 outpainting; no ERP geometry), via the user's command template
(see ``_command.py``).

Input parity (reference §10, orientation fixed): an upright (512, 512) crop (fov 90 degrees, yaw 0) of GT frame 0;
caption: medium style.
Native output: 64 frames at 8 fps, 512x1024.
"""

from ._command import run_command_method
from .base import MethodSpec, register

SPEC = register(
    MethodSpec(
        "follow-your-canvas", "Follow-Your-Canvas (SD-2.1 outpainting; no ERP geometry)", "perspective",
        run_command_method,
        native_fps=8.0, native_size=(512, 1024), num_frames=64,
        crop_size=(512, 512), caption_style="medium", uses_caption=True,
    )
)
