"""``panoworld generate``: one perspective image + prompts -> a 360-degree ERP video (or a batch of them).

Settings, the batch table (every row, every image), the model's components and the output folder are checked
before a model is loaded or a file is written; the work is :func:`panoworld.pipelines.batch.generate_clips`.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from panoworld.errors import InputError

from . import _generate_options as o
from ._common import parse_size, progress_bar, raise_failures, say
from ._options import check_writable


def generate(
    image: Optional[Path] = o.IMAGE, prompt: Optional[str] = o.PROMPT, pano_prompt: Optional[str] = o.PANO_PROMPT,
    prompt_file: Optional[Path] = o.PROMPT_FILE, negative_prompt: Optional[str] = o.NEGATIVE,
    out: Optional[Path] = o.OUT, batch: Optional[Path] = o.BATCH, force: bool = o.FORCE,
    model: Optional[str] = o.MODEL, resolution: Optional[str] = o.RESOLUTION, frames: Optional[int] = o.FRAMES,
    fps: Optional[float] = o.FPS, guidance: Optional[float] = o.GUIDANCE, steps: Optional[int] = o.STEPS,
    sampler: Optional[str] = o.SAMPLER, seed: int = o.SEED, fov: float = o.FOV, yaw: float = o.YAW,
    pitch: float = o.PITCH, roll: float = o.ROLL, persp_resolution: str = o.PERSP, rope: Optional[str] = o.ROPE,
    chained: bool = o.CHAINED, motion: str = o.MOTION, siglip_orientation: str = o.SIGLIP_VIEW,
    latent_padding: Optional[int] = o.LATENT_PAD, rotated_denoise: bool = o.ROTATED,
    latitude_noise: bool = o.LAT_NOISE, cfg_batch: str = o.CFG_BATCH, round2_reference: str = o.ROUND2_REF,
    bf16_timesteps: bool = o.BF16_T, fast: Optional[str] = o.FAST, cache_threshold: Optional[float] = o.CACHE_THRESHOLD,
    offload: str = o.OFFLOAD, attention: str = o.ATTENTION,
    device: Optional[str] = o.DEVICE, dtype: str = o.DTYPE, compile_blocks: bool = o.COMPILE,
    checkpoint: Optional[str] = o.CHECKPOINT, base_model: Optional[str] = o.BASE_MODEL,
    text_encoder: Optional[str] = o.TEXT_ENCODER, siglip: Optional[str] = o.SIGLIP, vae: Optional[str] = o.VAE,
    text_cache: Optional[Path] = o.TEXT_CACHE, tiny_random: bool = o.TINY, rounds: Optional[int] = o.ROUNDS,
    seconds: Optional[float] = o.SECONDS, extend_prompt: Optional[List[str]] = o.EXTEND_PROMPT,
    extend_frames: Optional[int] = o.EXTEND_FRAMES, extend_reference: str = o.EXTEND_REF,
    context_parallel: Optional[str] = o.CONTEXT_PARALLEL, cfg_parallel: bool = o.CFG_PARALLEL,
    annotate: str = o.ANNOTATE, annotate_frames: int = o.ANNOTATE_FRAMES, annotate_grid: int = o.ANNOTATE_GRID,
    dap_weights: Optional[Path] = o.DAP_WEIGHTS, cotracker_weights: Optional[Path] = o.COTRACKER_WEIGHTS,
) -> None:
    """Generate a 360-degree equirectangular video from one perspective photo and prompts (PanoWorld).

    Writes into the output folder: pano.mp4 (ERP, spherical metadata), preview.mp4 (input beside output),
    depth.npz (models with a depth head), depth_dap.npz / tracks.npz (--annotate), round1.mp4 (chained runs) and
    run.json (arguments, settings key, model fingerprints, versions, timings); failed.json instead when a clip fails.
    Exit code 1 when any clip of a batch failed. --rounds / --seconds make long videos from chained extension
    rounds. Several GPUs: launch with `torchrun --nproc-per-node N -m panoworld generate ...` (docs/multigpu.md).
    """
    arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in locals().items()}
    if batch is not None and image is not None:
        raise InputError("give either an input image or --batch, not both")
    if batch is None and image is None:
        raise InputError("missing the input image (or --batch FILE)")
    if out is None:
        check_writable(Path("outputs"), folder=True)  # the default output root; a given --out is checked by the parser
    from panoworld.pipelines.config import DEFAULT_NEGATIVE_PROMPT, GenerationConfig, LoadConfig, fast_settings

    height, width = parse_size(resolution, name="--resolution") if resolution else (None, None)
    p_height, p_width = parse_size(persp_resolution, name="--persp-resolution")
    settings = dict(height=height, width=width, num_frames=frames, num_steps=steps, guidance=guidance, seed=seed,
                    fov_x=fov, yaw=yaw, pitch=pitch, roll=roll, persp_height=p_height, persp_width=p_width,
                    negative_prompt=negative_prompt or DEFAULT_NEGATIVE_PROMPT, chained=chained, motion=motion,
                    siglip_orientation=siglip_orientation, latent_padding=latent_padding, sampler=sampler,
                    rotated_denoise=rotated_denoise, latitude_noise=latitude_noise, cfg_batch=cfg_batch,
                    round2_reference=round2_reference, bf16_timesteps=bf16_timesteps, fps=fps, rounds=rounds,
                    seconds=seconds, extend_prompts=extend_prompt or None, extend_frames=extend_frames,
                    extend_reference=extend_reference, **fast_settings(fast, cache_threshold))
    given = {k: v for k, v in settings.items() if v is not None}
    GenerationConfig().replace(**given)  # every given setting is checked before anything else
    load = LoadConfig(device=device, dtype=dtype, offload=offload, attention=attention, compile=compile_blocks,
                      rope=rope, text_cache=str(text_cache) if text_cache else None).validate()
    from panoworld.parallel.generate import check_parallel_options, generate_ranks
    from panoworld.parallel.sharding import rank_say

    check_parallel_options(context_parallel=context_parallel, cfg_parallel=cfg_parallel, offload=offload,
                           compile=compile_blocks, step_cache=given.get("step_cache", 0.0), sampler=sampler)
    from panoworld.pipelines.annotate_outputs import AnnotateRequest, ClipAnnotator, parse_annotate_kinds
    from panoworld.pipelines.batch import generate_clips
    from panoworld.pipelines.config import check_sampler
    from panoworld.pipelines.jobs import check_jobs, read_batch, single_job
    from panoworld.pipelines.loading import TINY_RANDOM, ModelPaths, resolve_model

    kinds = parse_annotate_kinds(annotate)  # the annotation weights are checked before any model loads
    annotator = ClipAnnotator(AnnotateRequest(
        kinds, annotate_frames, annotate_grid, dap_weights=str(dap_weights) if dap_weights else None,
        cotracker_weights=str(cotracker_weights) if cotracker_weights else None, tiny_random=tiny_random),
        load.torch_device()) if kinds else None
    single = None if batch else single_job(image, prompt, pano_prompt, prompt_file, out or Path("outputs") / image.stem)
    source = resolve_model(TINY_RANDOM if tiny_random else model,
                           ModelPaths(checkpoint, base_model, text_encoder, siglip, vae), need_base=motion == "base-i2v")
    if source.note:
        say(source.note)
    base = source.generation_config(**given)
    check_sampler(source.sampler["kind"], base.sampler, model=source.location or source.family,
                  num_steps=base.num_steps, guidance=base.guidance, timesteps=source.sampler.get("timesteps"))
    jobs = read_batch(batch, out or Path("outputs"), base) if batch else check_jobs([single], base)
    ranks = generate_ranks(context_parallel, cfg_parallel, load.device)
    report = generate_clips(jobs, source, ranks.place(load), force=force, arguments=arguments,
                            summary_dir=(out or Path("outputs")) if batch is not None else None,
                            progress=progress_bar if ranks.rank == 0 else None, say=rank_say(say), ranks=ranks,
                            annotator=annotator)
    raise_failures(report.failed, f"of {len(jobs)}; each has failed.json")
