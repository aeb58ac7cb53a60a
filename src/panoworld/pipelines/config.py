"""Settings objects of generation, each validating its own options once (torch is not imported here).

- :class:`GenerationConfig`: what one run computes (defaults = the reference's evaluated path, reference §5.4 /
  appendix B); every field of it changes the result.
- :class:`LoadConfig`: how the models are loaded and run (device, dtype, offload, attention kernel, compile, RoPE
  variant, prompt cache).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from panoworld.errors import InputError

__all__ = [
    "DEFAULT_NEGATIVE_PROMPT",
    "GenerationConfig",
    "LoadConfig",
    "MOTION_SOURCES",
    "CFG_BATCH_MODES",
    "OFFLOAD_MODES",
    "ATTENTION_BACKENDS",
    "DTYPES",
    "SAMPLERS",
    "EXTEND_REFERENCES",
    "FAST_SWITCHES",
    "DEFAULT_CACHE_THRESHOLD",
    "check_sampler",
    "fast_settings",
]

#: diffusers' Cosmos-Predict2.5 default negative prompt (the reference's ``--negative_prompt`` default).
DEFAULT_NEGATIVE_PROMPT = (
    "The video captures a series of frames showing ugly scenes, static with no motion, motion blur, "
    "over-saturation, shaky footage, low resolution, grainy texture, pixelated images, poorly lit areas, "
    "underexposed and overexposed scenes, poor color balance, washed out colors, choppy sequences, "
    "jerky movements, low frame rate, artifacting, color banding, unnatural transitions, outdated special effects, "
    "fake elements, unconvincing visuals, poorly edited content, jump cuts, visual noise, and flickering. "
    "Overall, the video is of poor quality."
)

MOTION_SOURCES = ("static", "base-i2v")
CFG_BATCH_MODES = ("auto", "batched", "sequential")
#: Where the models live during a run (see :mod:`panoworld.pipelines.offload`).
OFFLOAD_MODES = ("none", "model", "group")
#: Preferred SDPA kernel while sampling (see :mod:`panoworld.pipelines.attention`).
ATTENTION_BACKENDS = ("auto", "cudnn", "flash", "efficient")
#: Weight / compute dtypes by name; "auto" = bf16 on CUDA, fp32 on CPU.
DTYPES = ("auto", "bf16", "fp16", "fp32")
#: Samplers a model can be made for (``panoworld.formats.model_folder.SAMPLER_KINDS``).
SAMPLERS = ("unipc-karras", "few-step")
IMPLEMENTED_SAMPLERS = ("unipc-karras", "few-step")
#: Reference latent of an extension round (see :mod:`panoworld.pipelines.extend`).
EXTEND_REFERENCES = ("aligned", "previous")
#: Opt-in approximate speed-ups (``--fast``): step-cache reuse and FP8 matmuls (see :mod:`.step_cache`,
#: :mod:`panoworld.models.fp8`).
FAST_SWITCHES = ("cache", "fp8")
#: First-block relative change below which ``--fast cache`` reuses the cached rest of the network.
DEFAULT_CACHE_THRESHOLD = 0.08


def fast_settings(switches: str | None, cache_threshold: float | None = None) -> dict:
    """``--fast`` (comma list of :data:`FAST_SWITCHES`, or "all"/"none") and ``--cache-threshold`` ->
    ``GenerationConfig`` values {step_cache, fp8}; raises :class:`InputError` for an unknown switch."""
    names = [n.strip() for n in (switches or "").split(",") if n.strip()]
    if names == ["all"]:
        names = list(FAST_SWITCHES)
    if names == ["none"]:
        names = []
    unknown = [n for n in names if n not in FAST_SWITCHES]
    if unknown:
        raise InputError(f"--fast takes a comma list of {', '.join(FAST_SWITCHES)} (or all / none), got "
                         f"{', '.join(unknown)!r}")
    if cache_threshold is not None and "cache" not in names:
        raise InputError("--cache-threshold needs --fast cache")
    threshold = DEFAULT_CACHE_THRESHOLD if cache_threshold is None else cache_threshold
    return {"step_cache": float(threshold) if "cache" in names else 0.0, "fp8": "fp8" in names}


def check_sampler(model_sampler: str, requested: str, *, model: str = "this model", num_steps: int | None = None,
                  guidance: float | None = None, timesteps=None) -> None:
    """Refuse a run whose sampler does not fit the model (a few-step student needs the few-step sampler and a
    many-step model the many-step one) or is not implemented yet; raise :class:`InputError` (one line).

    For a few-step student, ``num_steps`` must equal the number of its flow times ``timesteps`` and ``guidance``
    must be 0 (CFG is distilled in)."""
    if requested not in SAMPLERS:
        raise InputError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {requested!r}")
    if model_sampler != requested:
        made = "distilled for the few-step sampler" if model_sampler == "few-step" else \
            "made for the many-step UniPC sampler (unipc-karras)"
        raise InputError(f"{model} was {made}; it cannot run with the {requested} sampler")
    if requested not in IMPLEMENTED_SAMPLERS:
        raise InputError(f"{model} needs the {requested} sampler, which this version of panoworld does not "
                         "have yet; upgrade panoworld")
    if requested != "few-step":
        return
    if not timesteps:
        raise InputError(f"{model} has no few-step flow times (sampler.timesteps in its model_index.json)")
    times = ", ".join(f"{float(t):g}" for t in timesteps)
    if num_steps is not None and num_steps != len(timesteps):
        raise InputError(f"{model} was distilled for {len(timesteps)} steps (flow times {times}); "
                         f"--steps must be {len(timesteps)}, got {num_steps}")
    if guidance:
        raise InputError(f"{model} is a few-step student with CFG distilled in; --guidance must be 0, got {guidance:g}")


@dataclass
class GenerationConfig:
    """One run's settings. Angles in degrees, sizes in pixels, ``fps`` in frames per second.

    Attributes:
        height, width: ERP output size (W = 2H, both multiples of 16).
        num_frames: output frames, 4k + 1 (93 = 5.8 s at 16 fps, the training length).
        num_steps: the reference's ``--num_steps`` (35 -> 36 network evaluations per round).
        guidance: CFG weight g >= 0 in ``v_c + g (v_c - v_u)`` (7 = the reference).
        seed: seeds the initial noise (numpy RandomState), the reference fill and rotated denoising.
        fov_x, yaw, pitch, roll: the perspective camera (fov_x describes the cropped perspective image).
        persp_height, persp_width: perspective resolution the input is cover-resized and centre-cropped to.
        negative_prompt: text of the unconditional CFG branch.
        chained: run Round 2 (first-frame conditioned on Round 1, reference §5.2) after Round 1.
        motion: perspective motion source, "static" (still image repeated) or "base-i2v".
        siglip_orientation: "reference" (vertically flipped, as the checkpoint was trained) or "upright".
        latent_padding: circular latent columns per side before VAE decode (0 = off).
        rotated_denoise: roll the latent (and solver history, and conditioning) randomly after every step.
        latitude_noise: latitude-aware (PanoWan-style) warp of the initial noise.
        cfg_batch: "auto" | "batched" | "sequential" evaluation of the two CFG branches ("auto" batches when
            the free device memory allows a second row of activations).
        round2_reference: "reencode" (VAE of the decoded Round-1 video, as the reference) or "latent"
            (reuse the Round-1 latent: one VAE encode less; not what the checkpoint saw).
        bf16_timesteps: round network timesteps to bf16 like the reference's patched forward (995 -> 996).
        fps: frame rate written to the output video.
        sampler: "unipc-karras" (the reference's many-step sampler) or "few-step"; must fit the model.
        rounds: rounds of the video (1 = one clip; each further round extends the video, reference
            ``--extend_rounds`` + 1; see :mod:`panoworld.pipelines.timeline`).
        seconds: video length in seconds (0 = off): the fewest rounds reaching it, cut to ``round(seconds * fps)``
            frames; excludes ``rounds``.
        extend_frames: K, latent frames an extension round continues from (the previous round's last K).
        extend_prompts: 360-degree prompt of extension round 2, 3, ... (the last one repeats; none = the
            360-degree prompt of the first clip).
        extend_reference: reference latent of an extension round: "aligned" (the previous round's latent from its
            last K frames on, the last frame held) or "previous" (the previous round's latent as it is).
        step_cache: opt-in approximation (``--fast cache``): an evaluation whose first transformer block changed
            its output by less than this relative amount since the last full evaluation reuses the cached
            residual of the other blocks (:mod:`.step_cache`); 0 = off (exact).
        fp8: opt-in approximation (``--fast fp8``): the transformer blocks' large matmuls in FP8 (e4m3, per-row
            scales, bf16 output; :mod:`panoworld.models.fp8`).
    """

    height: int = 512
    width: int = 1024
    num_frames: int = 93
    num_steps: int = 35
    guidance: float = 7.0
    seed: int = 0
    fov_x: float = 90.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    persp_height: int = 480
    persp_width: int = 640
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT
    chained: bool = False
    motion: str = "static"
    siglip_orientation: str = "reference"
    latent_padding: int = 2
    rotated_denoise: bool = False
    latitude_noise: bool = False
    cfg_batch: str = "auto"
    round2_reference: str = "reencode"
    bf16_timesteps: bool = False
    fps: float = 16.0
    sampler: str = "unipc-karras"
    rounds: int = 1
    seconds: float = 0.0
    extend_frames: int = 1
    extend_prompts: list[str] = field(default_factory=list)
    extend_reference: str = "aligned"
    step_cache: float = 0.0
    fp8: bool = False

    def validate(self) -> "GenerationConfig":
        """Raise :class:`InputError` (one line) for an unusable setting; return ``self``."""
        for name, value in asdict(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"--{_FLAGS.get(name, name)} must be a finite number, got {value}")
        if self.height <= 0 or self.width <= 0 or self.height % 16 or self.width % 16:
            raise InputError(f"--resolution must be positive multiples of 16, got {self.height}x{self.width}")
        if self.width != 2 * self.height:
            raise InputError(f"--resolution must be twice as wide as tall (ERP), got {self.height}x{self.width}")
        if self.persp_height <= 0 or self.persp_width <= 0 or self.persp_height % 16 or self.persp_width % 16:
            raise InputError(
                f"--persp-resolution must be positive multiples of 16, got {self.persp_height}x{self.persp_width}"
            )
        if self.num_frames < 1 or (self.num_frames - 1) % 4:
            raise InputError(f"--frames must be 4k+1 (e.g. 33, 93), got {self.num_frames}")
        if self.num_steps < 1:
            raise InputError(f"--steps must be at least 1, got {self.num_steps}")
        if not self.guidance >= 0:
            raise InputError(f"--guidance must be >= 0, got {self.guidance}")
        if not 0 < self.fov_x < 180:
            raise InputError(f"--fov must be in (0, 180) degrees, got {self.fov_x}")
        if self.motion not in MOTION_SOURCES:
            raise InputError(f"--motion must be one of {', '.join(MOTION_SOURCES)}, got {self.motion!r}")
        if self.siglip_orientation not in ("reference", "upright"):
            raise InputError(f"--siglip-orientation must be reference or upright, got {self.siglip_orientation!r}")
        if self.cfg_batch not in CFG_BATCH_MODES:
            raise InputError(f"--cfg-batch must be one of {', '.join(CFG_BATCH_MODES)}, got {self.cfg_batch!r}")
        if self.round2_reference not in ("reencode", "latent"):
            raise InputError(f"--round2-reference must be reencode or latent, got {self.round2_reference!r}")
        if self.latent_padding < 0 or self.latent_padding * 8 * 2 >= self.width:
            raise InputError(f"--latent-padding must be >= 0 and small against the width, got {self.latent_padding}")
        if not 0 <= self.seed < 2**32:
            raise InputError(f"--seed must be in [0, 2^32), got {self.seed}")
        if self.fps <= 0:
            raise InputError(f"--fps must be positive, got {self.fps}")
        if self.sampler not in SAMPLERS:
            raise InputError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if not 0 <= self.step_cache < 1:
            raise InputError(f"--cache-threshold must be in [0, 1), got {self.step_cache}")
        self._validate_extension()
        return self

    def _validate_extension(self) -> None:
        if self.rounds < 1:
            raise InputError(f"--rounds must be at least 1, got {self.rounds}")
        if self.seconds < 0:
            raise InputError(f"--seconds must be positive, got {self.seconds}")
        if self.seconds > 0 and self.rounds != 1:
            raise InputError("give --seconds or --rounds, not both")
        if self.extend_reference not in EXTEND_REFERENCES:
            raise InputError(f"--extend-reference must be one of {', '.join(EXTEND_REFERENCES)}, "
                             f"got {self.extend_reference!r}")
        if any(not isinstance(p, str) or not p.strip() for p in self.extend_prompts):
            raise InputError("--extend-prompt must not be empty")
        latent = 1 + (self.num_frames - 1) // 4
        if not 1 <= self.extend_frames < max(2, latent):
            raise InputError(f"--extend-frames must be in [1, {max(1, latent - 1)}] for {self.num_frames}-frame "
                             f"rounds, got {self.extend_frames}")
        if self.seconds > 0 and self.seconds * self.fps < 0.5:
            raise InputError(f"--seconds {self.seconds} is less than one frame at {self.fps} fps")
        if (self.rounds > 1 or self.seconds * self.fps > self.num_frames) and latent < 2:
            raise InputError(f"extension rounds need at least 5 frames per round, got --frames {self.num_frames}")
        extensions = self.extension_plan().rounds - 1
        if len(self.extend_prompts) > extensions:
            raise InputError(f"{len(self.extend_prompts)} --extend-prompt given for {extensions} extension round(s)")

    def extension_plan(self):
        """The :class:`~panoworld.pipelines.timeline.ExtensionPlan` of these settings (rounds and frames)."""
        from .timeline import ExtensionPlan

        return ExtensionPlan.build(self.num_frames, self.extend_frames, rounds=self.rounds, seconds=self.seconds,
                                   fps=self.fps)

    def round_prompt(self, pano_prompt: str, round_index: int) -> str:
        """The 360-degree prompt of round ``round_index`` (0 = the first clip)."""
        if round_index == 0 or not self.extend_prompts:
            return pano_prompt
        return self.extend_prompts[min(round_index, len(self.extend_prompts)) - 1]

    def to_dict(self) -> dict:
        """Plain dict for run records."""
        return asdict(self)

    def replace(self, **values) -> "GenerationConfig":
        """A validated copy with ``values`` changed (unknown names raise :class:`InputError`)."""
        unknown = set(values) - {f.name for f in fields(self)}
        if unknown:
            raise InputError(f"unknown generation setting(s): {', '.join(sorted(unknown))}")
        return GenerationConfig(**{**asdict(self), **values}).validate()


#: CLI flag of each field whose name differs.
_FLAGS = {"fov_x": "fov", "num_frames": "frames", "num_steps": "steps", "height": "resolution",
          "width": "resolution", "persp_height": "persp-resolution", "persp_width": "persp-resolution",
          "step_cache": "cache-threshold"}


@dataclass
class LoadConfig:
    """How the models are loaded and run; none of these changes the result except ``dtype`` and ``rope`` (and
    float rounding: on the CPU the VAE runs longer chunks, ``loading.CPU_VAE_CHUNK_BUDGET``).

    Attributes:
        device: torch device name; None = cuda if available, else cpu.
        dtype: "auto" (bf16 on CUDA, fp32 on CPU), "bf16", "fp16" or "fp32".
        offload: "none", "model" or "group" (see :mod:`panoworld.pipelines.offload`).
        attention: preferred SDPA kernel: "auto", "cudnn", "flash" or "efficient".
        compile: ``torch.compile`` every transformer block.
        rope: RoPE variant of the PanoWorld transformer ("equirect", "linear", "periodic"); None = the
            checkpoint's own (equirect for the released weights).
        text_cache: folder caching prompt embeddings on disk (None = memory only).
    """

    device: str | None = None
    dtype: str = "auto"
    offload: str = "none"
    attention: str = "auto"
    compile: bool = False
    rope: str | None = None
    text_cache: str | None = None

    def validate(self) -> "LoadConfig":
        """Raise :class:`InputError` (one line) for an unusable setting; return ``self``."""
        for flag, value, allowed in (("--dtype", self.dtype, DTYPES), ("--offload", self.offload, OFFLOAD_MODES),
                                     ("--attention", self.attention, ATTENTION_BACKENDS)):
            if value not in allowed:
                raise InputError(f"{flag} must be one of {', '.join(allowed)}, got {value!r}")
        if self.rope is not None:
            from panoworld.models.rope import ROPE_TYPES

            if self.rope not in ROPE_TYPES:
                raise InputError(f"--rope must be one of {', '.join(ROPE_TYPES)}, got {self.rope!r}")
        return self

    def torch_device(self):
        """The compute ``torch.device`` (raises :class:`InputError` for an unknown or absent device)."""
        import torch

        try:
            device = torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        except RuntimeError:
            raise InputError(f"--device {self.device!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"--device {self.device}: CUDA is not available on this machine; use --device cpu")
        return device

    def torch_dtype(self, device):
        """The torch dtype on ``device`` ("auto" -> bf16 on CUDA, fp32 elsewhere)."""
        import torch

        if self.dtype == "auto":
            return torch.bfloat16 if device.type == "cuda" else torch.float32
        return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[self.dtype]
