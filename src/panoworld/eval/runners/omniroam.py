"""``omniroam``: OmniRoam (Wan-2.1 1.3B Preview + Refine), via the user's command template
(see ``_command.py``).

Input parity (reference §10, orientation fixed): an upright (480, 640) crop (fov 90 degrees, yaw 0) of GT frame 0;
caption: none.
Native output: 81 frames at 16 fps, 512x1024.
"""

from ._command import run_command_method
from .base import MethodSpec, register

SPEC = register(
    MethodSpec(
        "omniroam", "OmniRoam (Wan-2.1 1.3B Preview + Refine)", "perspective", run_command_method,
        native_fps=16.0, native_size=(512, 1024), num_frames=81,
        crop_size=(480, 640), caption_style="medium", uses_caption=False,
    )
)
