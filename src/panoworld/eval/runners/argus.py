"""``argus``: Argus (SVD img2vid + MASt3R, Red-Fairy/argus-code), via the user's command template
(see ``_command.py``).

Input parity (reference §10, orientation fixed): an upright (480, 640) crop (fov 90 degrees, yaw 0) of GT frame 0;
caption: none.
Native output: 25 frames at 8 fps, 512x1024.
"""

from ._command import run_command_method
from .base import MethodSpec, register

SPEC = register(
    MethodSpec(
        "argus", "Argus (SVD img2vid + MASt3R, Red-Fairy/argus-code)", "perspective", run_command_method,
        native_fps=8.0, native_size=(512, 1024), num_frames=25,
        crop_size=(480, 640), caption_style="medium", uses_caption=False,
    )
)
