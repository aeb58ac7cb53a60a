"""``panoworld``: our pipeline, in process, through ``PanoWorldPipeline.from_pretrained``.

Runner-config table ``[panoworld]`` (all optional)::

    weights = "models/panoworld-small"    # a PanoWorld model folder or a weights root (default: default_model())
    dtype = "auto"                        # and offload, attention, compile, rope, text_cache: see LoadConfig
    chained = true                        # any GenerationConfig field: num_steps, guidance, num_frames, ...
    command = "..."                       # instead: run an entry point (placeholders as external baselines)

Unset generation settings come from the model (its sampler's steps and guidance, its resolution, length, fps; a
few-step student runs its own sampler). A transformer with a depth head also writes its prediction (range along the
ray, metres; one annotation frame per latent frame) as the output's annotations, so ``eval run`` scores it.
Input parity: the same upright 480x640 crop (fov 90 degrees, yaw 0) of GT frame 0 as every baseline. Prompts: the
perspective prompt is the clip's ``perspective`` caption (the caption file's entry of that name; files without one
give their long caption), the 360-degree prompt its ``medium`` caption (the style every method gets).
"""

from __future__ import annotations

from ._command import run_command_method
from .base import MethodSpec, RunRequest, register

__all__ = ["SPEC", "default_model", "with_default_model", "check_panoworld_config", "prompts"]

#: Runner-config keys that say how the model is loaded (``PanoWorldPipeline.from_pretrained`` arguments).
LOAD_KEYS = ("dtype", "offload", "attention", "compile", "rope", "text_cache")

_PIPELINES: dict = {}


def default_model() -> str | None:
    """The model ``panoworld`` is evaluated with when the runner config names none (``--model`` / ``weights``),
    as ``PanoWorldPipeline.from_pretrained(None)`` picks it: None (the weights root ``$PANOWORLD_WEIGHTS``) when it
    holds the full model, else the folder of the small model shipped in the package when installed, else None
    (loading then names what is missing). The folder is named so that it is part of the settings key."""
    from panoworld.errors import PanoworldError
    from panoworld.pipelines.loading import resolve_model, small_model_folder

    try:
        source = resolve_model(None)
    except PanoworldError:
        return None
    return source.location if source.location == str(small_model_folder()) else None


def with_default_model(config: dict) -> dict:
    """The runner config with ``weights`` filled in by :func:`default_model` (unless it runs a command)."""
    if config.get("command") or config.get("weights"):
        return config
    model = default_model()
    return {**config, "weights": model} if model else config


def _settings(config: dict) -> dict:
    from panoworld.pipelines.config import GenerationConfig

    return {k: v for k, v in config.items() if k in GenerationConfig.__dataclass_fields__}


def check_panoworld_config(config: dict) -> None:
    """Resolve the model and validate the settings without loading anything (one-line errors)."""
    from panoworld.errors import InputError
    from panoworld.pipelines.config import LoadConfig
    from panoworld.pipelines.loading import resolve_model

    unknown = set(config) - set(_settings(config)) - set(LOAD_KEYS) - {"weights", "command"}
    if unknown:
        raise InputError(f"runner config [panoworld]: unknown key(s) {', '.join(sorted(unknown))}")
    LoadConfig(**{k: config[k] for k in LOAD_KEYS if k in config}).validate()
    resolve_model(config.get("weights"), need_base=config.get("motion") == "base-i2v").generation_config(
        **_settings(config))


def _pipeline(config: dict, device: str):
    """One loaded pipeline per process and (weights, device, load settings)."""
    from panoworld.pipelines import PanoWorldPipeline

    load = {k: config[k] for k in LOAD_KEYS if k in config}
    key = (str(config.get("weights")), device, tuple(sorted(load.items())))
    if key not in _PIPELINES:
        _PIPELINES.clear()
        _PIPELINES[key] = PanoWorldPipeline.from_pretrained(config.get("weights"), device=device, **load,
                                                            need_base=config.get("motion") == "base-i2v")
    return _PIPELINES[key]


def prompts(request: RunRequest) -> tuple[str, str]:
    """(perspective prompt, 360-degree prompt) of the clip."""
    from panoworld.formats.captions import PERSPECTIVE_CAPTION

    clip = request.clip
    return clip.caption_for(PERSPECTIVE_CAPTION), clip.caption_for(request.spec.caption_style)


def run(request: RunRequest) -> None:
    if request.config.get("command"):
        run_command_method(request)
        return
    from panoworld.io import write_video

    pipe = _pipeline(request.config, request.device)
    settings = pipe.source.generation_config(**{**_settings(request.config), "seed": request.seed})
    perspective, pano = prompts(request)
    result = pipe(request.input_crop(), perspective, pano, config=settings)
    write_video(request.video_path, result.video.float().clamp(0, 1).cpu(), settings.fps, spherical=True)
    if result.depth is not None:
        _write_depth(request, result.depth, settings.fps)


def _write_depth(request: RunRequest, depth, fps: float) -> None:
    """The depth head's (T, H, W) metres at frame 0 and the middle frame of every later latent frame."""
    from panoworld.formats.annotations import AnnotationWriter

    frames = [0] + list(range(2, depth.shape[0], 4))
    with AnnotationWriter(request.out_dir, depth_dtype="float32") as writer:
        for k, f in enumerate(frames):
            writer.depth(k, depth[f].float().numpy())
        writer.commit({"frame_times": [f / fps for f in frames], "n_frames": len(frames),
                       "video_resolution": [int(depth.shape[2]), int(depth.shape[1])],
                       "source": "panoworld depth head (range along the ray, metres)"})


SPEC = register(
    MethodSpec("panoworld", "PanoWorld (this package), single or chained", "perspective", run, native_fps=None,
               native_size=(512, 1024), num_frames=93, crop_size=(480, 640), caption_style="medium")
)
