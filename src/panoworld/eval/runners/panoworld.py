"""``panoworld``: our pipeline, single round or chained (``chained = true`` in its runner config).

The pipeline module is imported only when the method runs. By default it is called in-process through
``panoworld.pipelines.PanoWorldPipeline.from_pretrained(weights)``; a ``command`` in the ``[panoworld]``
runner-config table runs an entry point instead (same placeholders as the external baselines), e.g.
``command = "panoworld generate {input_image} {output} --prompt {caption}"``.
Input parity: the same upright 480x640 crop (fov 90 degrees, yaw 0) of GT frame 0 as every baseline, and
the ``medium`` caption.
"""

from __future__ import annotations

import importlib

from panoworld.errors import MissingComponentError
from panoworld.io import write_video

from ._command import run_command_method
from .base import MethodSpec, RunRequest, register

#: Tests may install a factory ``f(config, device) -> pipeline`` here instead of loading real weights.
PIPELINE_FACTORY = None


def _load_pipeline(config: dict, device: str):
    if PIPELINE_FACTORY is not None:
        return PIPELINE_FACTORY(config, device)
    try:
        pipelines = importlib.import_module("panoworld.pipelines")
    except ImportError as exc:
        raise MissingComponentError(
            f"the panoworld method needs panoworld.pipelines, which is not installed ({exc})"
        ) from None
    cls = getattr(pipelines, "PanoWorldPipeline")
    if not hasattr(cls, "from_pretrained"):
        raise MissingComponentError(
            "this panoworld.pipelines has no PanoWorldPipeline.from_pretrained; give the panoworld method a command "
            "template in --runner-config instead"
        )
    return cls.from_pretrained(config.get("weights"), device=device)


_CACHE: dict = {}


def run(request: RunRequest) -> None:
    cfg = request.config
    if cfg.get("command"):
        run_command_method(request)
        return
    key = (id(PIPELINE_FACTORY), str(cfg.get("weights")), request.device)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _load_pipeline(cfg, request.device)
    pipe = _CACHE[key]
    from panoworld.pipelines import GenerationConfig

    options = {k: v for k, v in cfg.items() if k in GenerationConfig.__dataclass_fields__}
    gen = GenerationConfig(seed=request.seed, **options)
    result = pipe(request.input_crop(), request.clip.caption_for("medium"), config=gen)
    video = result.video if hasattr(result, "video") else result
    write_video(request.video_path, video.float().clamp(0, 1).cpu(), gen.fps, spherical=True)


SPEC = register(
    MethodSpec("panoworld", "PanoWorld (this package), single or chained", "perspective", run, native_fps=16.0,
               native_size=(512, 1024), num_frames=93, crop_size=(480, 640), caption_style="medium")
)
