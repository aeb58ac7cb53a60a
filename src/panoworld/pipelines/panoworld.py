"""``PanoWorldPipeline``: one perspective image + prompts -> ERP video (single round or chained two rounds).

Stages (reference §1.2, §4.4, §5.2, appendix B), every one through the same sampler (:func:`sample`):

1. perspective source: the input cover-resized and centre-cropped to the perspective resolution, either kept
   still ("static", the paper's evaluation path) or animated by the base Cosmos-Predict2.5 model
   ("base-i2v": first-frame conditioned, no reference channels, no image branch);
2. SigLIP tokens of the perspective frames (one copy for a still image: identical output, 93x fewer tokens),
   in the orientation the checkpoint was trained on (``siglip_input_view``);
3. Round 1 (FOV-locked): guide / reference latents and the latent FOV mask; the clean guide is pasted before
   every evaluation and once more at the end;
4. Round 2 (``chained``): Round-1 frame 0 as a clean first latent frame (frame replace), ``ref = VAE(Round-1
   video)``, a frame-0 mask channel and the same SigLIP tokens; same prompt and seed;
5. decode with circular latent padding;
6. extension rounds (``rounds`` / ``seconds``), cross-faded and streamed (:mod:`panoworld.pipelines.extend`).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from panoworld.errors import InputError
from panoworld.models.heads import latent_depth_to_video

from .attention import attention_backend, resolve_attention_backend
from .conditioning import (
    build_first_frame_conditioning,
    build_fov_conditioning,
    cover_resize_crop,
    latent_frames,
)
from .config import GenerationConfig, check_sampler
from .decode import decode_video, to_host
from .few_step import few_step_schedule, renoise_seed, sample_few_step
from .guidance import DenoiserInputs, GuidedDenoiser
from .noise import initial_noise, latitude_warp_noise
from .offload import Offloader
from .sampler import sample
from .schedule import karras_flow_schedule
from .step_cache import StepCache, check_fast, fast_paths

__all__ = ["PanoWorldPipeline", "GenerationResult", "ROTATE_SEED_OFFSET"]

#: Rotated denoising draws its column shifts from ``RandomState(seed + ROTATE_SEED_OFFSET)``.
ROTATE_SEED_OFFSET = 7919
#: ``cfg_batch="auto"`` batches CFG when free CUDA memory exceeds this many bytes per token and hidden channel.
ACTIVATION_BYTES_PER_TOKEN_CHANNEL = 48

Progress = Callable[[str, int, int], None]


@dataclass
class GenerationResult:
    """Output of one run; videos are (T, 3, H, W) float32 in [0, 1] on the CPU.

    Attributes:
        video: the final ERP video (Round 2 when chained, else Round 1; with extension rounds the whole long
            video); None when the frames went to a sink.
        round1: the Round-1 ERP video when chained, else None.
        perspective: the perspective frames that conditioned Round 1 ((1, 3, h, w) for a still image).
        latent: the final (1, 16, T_lat, H/8, W/8) latent.
        depth: (T, H, W) float32 range along the ray in metres predicted by the transformer's depth head at the
            final round's last evaluation (every round's, cross-faded, with extension rounds), or None for a
            transformer without one (or when the depth went to a sink).
        timings: seconds per stage.
        info: what actually ran (CFG batching, evaluations, ...).
    """

    video: torch.Tensor | None
    round1: torch.Tensor | None
    perspective: torch.Tensor
    latent: torch.Tensor
    timings: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    depth: torch.Tensor | None = None


class _Timer:
    """Accumulates wall-clock seconds per stage (synchronising CUDA so times are real)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.times: dict[str, float] = {}

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def __call__(self, name: str):
        timer = self

        class _Stage:
            def __enter__(self):
                timer._sync()
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timer._sync()
                timer.times[name] = timer.times.get(name, 0.0) + time.perf_counter() - self.start

        return _Stage()


class PanoWorldPipeline:
    """Perspective image + prompts -> 360-degree ERP video.

    Args:
        transformer: ``PanoWorldTransformer`` with ``reference_channels=16`` and an image branch.
        vae: ``VideoVAE``.
        text_encoder: ``TextEncoder`` (its embed_dim must match the transformer's text input).
        image_encoder: ``ImageEncoder`` (SigLIP2).
        base_transformer: base Cosmos-Predict2.5 ``PanoWorldTransformer`` (``reference_channels=0``, no image
            branch), needed only for ``motion="base-i2v"``.
        device: compute device.
        offload: "none" | "model" | "group" (see :mod:`panoworld.pipelines.offload`).
        attention: preferred SDPA kernel while sampling: "auto", "cudnn", "flash" or "efficient"
            (see :mod:`panoworld.pipelines.attention`).
    """

    def __init__(self, transformer, vae, text_encoder, image_encoder, *, base_transformer=None,
                 device: torch.device | str = "cpu", offload: str = "none", attention: str = "auto"):
        resolve_attention_backend(attention)  # validate early
        self.attention = attention
        self.device = torch.device(device)
        self.offloader = Offloader(offload, self.device)
        self.transformer = self.offloader.place(transformer, transformer=True)
        self.base_transformer = self.offloader.place(base_transformer, transformer=True)
        self.vae = self.offloader.place(vae)
        self.text_encoder = self.offloader.place(text_encoder)
        self.image_encoder = self.offloader.place(image_encoder)
        self.partial_image_batch = bool(getattr(transformer, "supports_partial_image_batch", False))
        self._text_cache: dict[str, torch.Tensor] = {}
        self._depth: dict[str, torch.Tensor] = {}  # stage -> (1, 1, T_lat, h, w) log range of the last run
        #: The sampler the transformer was made for ("unipc-karras" or "few-step") and, for a few-step student, its
        #: flow times; ``from_pretrained`` sets them from the model folder, with the
        #: :class:`~panoworld.pipelines.loading.ModelSource` as ``source``.
        self.sampler_kind = "unipc-karras"
        self.sampler_timesteps: list[float] | None = None
        self.source = None
        #: How the processes of a ``torchrun`` job share each clip (a ``panoworld.parallel.ParallelPlan``), or None.
        self.parallel = None

    @classmethod
    def from_pretrained(cls, weights_root_or_folder: str | None = None, *, device: str | None = None,
                        dtype: str = "auto", offload: str = "none", attention: str = "auto", compile: bool = False,
                        rope: str | None = None, text_cache: str | None = None, need_base: bool = False,
                        checkpoint: str | None = None, base_model: str | None = None,
                        text_encoder: str | None = None, siglip: str | None = None,
                        vae: str | None = None) -> "PanoWorldPipeline":
        """Load a pipeline from a weights root or a PanoWorld model folder.

        Args:
            weights_root_or_folder: a folder laid out as ``$PANOWORLD_WEIGHTS`` (``panoworld weights``), a
                PanoWorld model folder (``model_index.json``, :mod:`panoworld.formats.model_folder`) or
                "tiny-random", "small" or "small-4step" (shipped with the package); None = ``$PANOWORLD_WEIGHTS``
                (default ``./weights``), or the small model when that holds no PanoWorld weights.
            device, dtype, offload, attention, compile, rope, text_cache: see
                :class:`~panoworld.pipelines.config.LoadConfig`.
            need_base: also load the base Cosmos transformer (for ``motion="base-i2v"``).
            checkpoint, base_model, text_encoder, siglip, vae: per-component overrides (path or hub id).

        The returned pipeline's ``source.generation_config(**overrides)`` gives the model's default settings
        (its sampler's steps and guidance, its resolution and length).
        """
        from .config import LoadConfig
        from .loading import ModelPaths, load_pipeline, resolve_model

        load = LoadConfig(device=device, dtype=dtype, offload=offload, attention=attention, compile=compile,
                          rope=rope, text_cache=text_cache).validate()
        source = resolve_model(weights_root_or_folder, ModelPaths(checkpoint, base_model, text_encoder, siglip, vae),
                               need_base=need_base)
        return load_pipeline(source, load)

    # ------------------------------------------------------------------ encoders
    def encode_text(self, prompts: list[str]) -> list[torch.Tensor]:
        """(1, L, D) embeddings on the compute device, cached in memory per prompt text for this pipeline."""
        missing = list(dict.fromkeys(p for p in prompts if p not in self._text_cache))
        if missing:
            with self.offloader.use(self.text_encoder), torch.no_grad():
                emb = self.text_encoder.encode(missing)
            for i, prompt in enumerate(missing):
                self._text_cache[prompt] = emb[i : i + 1].detach().to(self.device)
        return [self._text_cache[p] for p in prompts]

    @torch.no_grad()
    def encode_image(self, frames: torch.Tensor, orientation: str) -> torch.Tensor:
        """SigLIP tokens (1, t * N, D) of (t, 3, h, w) [0, 1] frames, seen in ``orientation``."""
        from panoworld.models.components.image_encoder import siglip_input_view

        with self.offloader.use(self.image_encoder):
            enc = self.image_encoder
            view = siglip_input_view(frames, orientation).to(enc.device, enc.dtype)
            tokens = torch.cat([enc.encode(view[i : i + 16]) for i in range(0, view.shape[0], 16)])
        return tokens.reshape(1, -1, tokens.shape[-1]).to(self.device)

    # ------------------------------------------------------------------ sampling
    def _cfg_batch(self, transformer, mode: str, latent_shape: tuple[int, ...]) -> str:
        """Resolve ``auto``: batched unless the free CUDA memory cannot hold a second row of activations.

        The estimate is ``ACTIVATION_BYTES_PER_TOKEN_CHANNEL`` bytes per token and hidden channel (bf16
        activations of one transformer block plus the attention workspace, with a safety margin).
        """
        if mode != "auto":
            return mode
        if self.device.type != "cuda":
            return "batched"
        config = getattr(transformer, "config", None)
        hidden = int(getattr(config, "num_attention_heads", 16)) * int(getattr(config, "attention_head_dim", 128))
        tokens = latent_shape[2] * (latent_shape[3] // 2) * (latent_shape[4] // 2)
        free, _ = torch.cuda.mem_get_info(self.device)
        return "batched" if free > tokens * hidden * ACTIVATION_BYTES_PER_TOKEN_CHANNEL else "sequential"

    def _sample(self, transformer, inputs: DenoiserInputs, noise: torch.Tensor, cfg: GenerationConfig,
                stage: str, progress: Progress | None, info: dict) -> torch.Tensor:
        few = cfg.sampler == "few-step"  # the student: its flow times, one evaluation each, no CFG
        schedule = few_step_schedule(self.sampler_timesteps) if few else karras_flow_schedule(cfg.num_steps)
        dtype = getattr(transformer, "dtype", torch.float32)
        mode = self._cfg_batch(transformer, cfg.cfg_batch, tuple(noise.shape))
        guidance = 0.0 if few else cfg.guidance
        cache = StepCache(cfg.step_cache) if cfg.step_cache > 0 else None
        make = GuidedDenoiser if self.parallel is None else self.parallel.denoiser
        denoiser = make(transformer, inputs, schedule, guidance=guidance, cfg_batch=mode, compute_dtype=dtype,
                        bf16_timesteps=cfg.bf16_timesteps, want_depth=getattr(transformer, "has_depth_head", False),
                        step_cache=cache)
        batched = mode != "sequential" and (
            inputs.image is None or getattr(transformer, "supports_partial_image_batch", False)
        )
        split_cfg = getattr(self.parallel, "cfg", 1) == 2
        info[f"{stage}_cfg"] = "none" if few else "parallel" if split_cfg else "batched" if batched else "sequential"
        info[f"{stage}_evaluations"] = schedule.num_evals
        rotate = cfg.seed + ROTATE_SEED_OFFSET if cfg.rotated_denoise else None
        callback = None if progress is None else (lambda i, n: progress(stage, i + 1, n))
        if self.parallel is not None:
            info["parallel"] = self.parallel.describe()
        split = contextlib.nullcontext() if self.parallel is None else self.parallel.context(transformer)
        with self.offloader.use(transformer), attention_backend(self.attention, self.device), \
                fast_paths(transformer, cache, cfg.fp8), split:
            if few:
                def fresh(i: int) -> torch.Tensor:
                    return self._noise(tuple(noise.shape), cfg.replace(seed=renoise_seed(cfg.seed, i)), erp=True)

                latent = sample_few_step(denoiser, noise.to(self.device), schedule, fresh, rotate_seed=rotate,
                                         callback=callback)
            else:
                latent = sample(denoiser, noise.to(self.device), schedule, rotate_seed=rotate, callback=callback)
        if cache is not None:
            info[f"{stage}_cache_reused"] = cache.num_reused
        if denoiser.depth is not None:
            self._depth[stage] = denoiser.depth
        return latent

    def _noise(self, shape: tuple[int, ...], cfg: GenerationConfig, *, erp: bool) -> torch.Tensor:
        noise = initial_noise(shape, cfg.seed)
        if erp and cfg.latitude_noise:
            noise = latitude_warp_noise(noise)
        return noise.to(self.device)

    def _latent_shape(self, cfg: GenerationConfig, height: int, width: int) -> tuple[int, ...]:
        scale = int(getattr(self.vae, "spatial_compression", 8))
        channels = int(getattr(self.vae, "latent_channels", 16))
        return (1, channels, latent_frames(cfg.num_frames), height // scale, width // scale)

    def _decode(self, latent: torch.Tensor, pad: int) -> torch.Tensor:
        with self.offloader.use(self.vae):
            return to_host(decode_video(self.vae, latent, pad_columns=pad))

    # ------------------------------------------------------------------ stages
    def perspective_frames(self, image: torch.Tensor, prompt: str, cfg: GenerationConfig, *, timer, progress,
                           info) -> torch.Tensor:
        """(1, 3, h, w) still crop, or (T, 3, h, w) frames animated by the base model (``motion="base-i2v"``)."""
        crop = cover_resize_crop(image.float(), (cfg.persp_height, cfg.persp_width))[None]
        if cfg.motion == "static":
            return crop
        if self.base_transformer is None:
            raise ValueError("motion='base-i2v' needs the base Cosmos-Predict2.5 transformer (base_transformer)")
        with timer("text"):
            text, negative = self.encode_text([prompt, cfg.negative_prompt])
        with timer("base_i2v"):
            with self.offloader.use(self.vae):
                cond = build_first_frame_conditioning(crop[0], self.vae, num_frames=cfg.num_frames)
            noise = self._noise(self._latent_shape(cfg, cfg.persp_height, cfg.persp_width), cfg, erp=False)
            inputs = DenoiserInputs(
                text=text, negative_text=negative, mask_channel=cond.mask().to(self.device),
                frame_latent=cond.latent.to(self.device), frames=cond.frames, noise=noise,
            )
            latent = self._sample(self.base_transformer, inputs, noise, cfg, "base_i2v", progress, info)
            return self._decode(latent, 0)

    def round1(self, perspective: torch.Tensor, text, negative, tokens, cfg: GenerationConfig, *, timer, progress,
               info) -> tuple[torch.Tensor, torch.Tensor]:
        """FOV-locked Round 1: (latent, (T, 3, H, W) video)."""
        with timer("round1_conditioning"), self.offloader.use(self.vae):
            fov = build_fov_conditioning(
                perspective, self.vae, num_frames=cfg.num_frames, erp_size=(cfg.height, cfg.width), fov_x=cfg.fov_x,
                yaw=cfg.yaw, pitch=cfg.pitch, roll=cfg.roll, seed=cfg.seed,
            )
        info["fov_latent_coverage"] = float(fov.mask.mean())
        with timer("round1_sampling"):
            noise = self._noise(self._latent_shape(cfg, cfg.height, cfg.width), cfg, erp=True)
            mask = fov.mask.to(self.device)
            inputs = DenoiserInputs(
                text=text, negative_text=negative, image=tokens, reference=fov.reference.to(self.device),
                mask_channel=mask, paste_latent=fov.guide.to(self.device), paste_mask=mask, noise=noise,
            )
            latent = self._sample(self.transformer, inputs, noise, cfg, "round1", progress, info)
        with timer("round1_decode"):
            video = self._decode(latent, cfg.latent_padding)
        return latent, video

    def round2(self, latent1: torch.Tensor, video1: torch.Tensor, text, negative, tokens, cfg: GenerationConfig, *,
               timer, progress, info) -> tuple[torch.Tensor, torch.Tensor]:
        """Chained Round 2 (reference §5.2): (latent, (T, 3, H, W) video)."""
        with timer("round2_conditioning"), self.offloader.use(self.vae), torch.no_grad():
            cond = build_first_frame_conditioning(video1[0], self.vae, num_frames=cfg.num_frames)
            if cfg.round2_reference == "latent":
                reference = latent1
            else:
                pixels = (video1 * 2.0 - 1.0).permute(1, 0, 2, 3)[None]
                reference = self.vae.encode(pixels.to(self.vae.device, self.vae.dtype)).float()
        with timer("round2_sampling"):
            noise = self._noise(self._latent_shape(cfg, cfg.height, cfg.width), cfg, erp=True)
            inputs = DenoiserInputs(
                text=text, negative_text=negative, image=tokens, reference=reference.to(self.device),
                mask_channel=cond.mask().to(self.device), frame_latent=cond.latent.to(self.device),
                frames=cond.frames, noise=noise,
            )
            latent = self._sample(self.transformer, inputs, noise, cfg, "round2", progress, info)
        with timer("round2_decode"):
            video = self._decode(latent, cfg.latent_padding)
        return latent, video

    # ------------------------------------------------------------------ entry point
    @torch.no_grad()
    def __call__(self, image: torch.Tensor, prompt: str, pano_prompt: str | None = None,
                 config: GenerationConfig | None = None, *, progress: Progress | None = None,
                 sink=None) -> GenerationResult:
        """Generate one ERP video.

        Args:
            image: (3, H, W) float perspective photo in [0, 1], any size (cover-resized and centre-cropped).
            prompt: perspective prompt (drives ``base-i2v`` motion; also the 360 prompt when none is given).
            pano_prompt: the 360-degree prompt for the panoramic rounds (reference ``--pano_prompt``).
            config: run settings (validated); ``rounds`` / ``seconds`` > one clip add extension rounds
                (:mod:`panoworld.pipelines.extend`).
            progress: optional ``progress(stage, done, total)`` callback per network evaluation.
            sink: optional :class:`~panoworld.pipelines.extend.FrameSink` receiving the output frames (and depth)
                as they are final; the result's ``video`` and ``depth`` are then None. Without one, a run of
                several rounds collects the whole video in memory.
        """
        cfg = (config or GenerationConfig()).validate()
        check_fast(cfg, self.device)
        model = getattr(self.source, "location", None) or "this model"
        check_sampler(self.sampler_kind, cfg.sampler, model=model, num_steps=cfg.num_steps, guidance=cfg.guidance,
                      timesteps=self.sampler_timesteps)
        if cfg.sampler == "few-step" and cfg.motion != "static":
            raise InputError(f"{model} is a few-step student; --motion base-i2v runs the many-step base model, "
                             "use --motion static")
        pano_prompt = pano_prompt or prompt
        timer, info = _Timer(self.device), {"partial_image_batch": self.partial_image_batch}
        self._depth = {}
        perspective = self.perspective_frames(image, prompt, cfg, timer=timer, progress=progress, info=info)
        with timer("text"):
            text, negative = self.encode_text([pano_prompt, cfg.negative_prompt])
        with timer("siglip"):
            tokens = self.encode_image(perspective, cfg.siglip_orientation)
        latent, video = self.round1(perspective, text, negative, tokens, cfg, timer=timer, progress=progress,
                                    info=info)
        round1 = None
        if cfg.chained:
            round1 = video
            latent, video = self.round2(latent, video, text, negative, tokens, cfg, timer=timer, progress=progress,
                                        info=info)
        log_depth = self._depth.get("round2" if cfg.chained else "round1")
        plan = cfg.extension_plan()
        if sink is not None or plan.rounds > 1 or plan.total_frames != cfg.num_frames:
            from .extend import CollectFrames, extend_video

            latent, sink = extend_video(self, cfg, plan, latent=latent, video=video, log_depth=log_depth,
                                        pano_prompt=pano_prompt, tokens=tokens, sink=sink,
                                        perspective=perspective.cpu(), timer=timer, progress=progress, info=info)
            collected = isinstance(sink, CollectFrames)
            video = sink.video() if collected else None
            depth = sink.depth((cfg.height, cfg.width)) if collected else None
        else:
            depth = None if log_depth is None else latent_depth_to_video(log_depth.cpu(), cfg.num_frames,
                                                                          (cfg.height, cfg.width))
        return GenerationResult(video=video, round1=round1, perspective=perspective.cpu(), latent=latent.cpu(),
                                timings=dict(timer.times), info=info, depth=depth)
