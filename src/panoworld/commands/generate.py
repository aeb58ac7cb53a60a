"""``panoworld generate``: one perspective image + prompts -> a 360-degree ERP video (or a batch of them).

Everything is validated (arguments, input images, prompt files, model weights) before a model is loaded or
a file is written; outputs are written atomically and ``run.json`` last, so batch mode resumes after a crash.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import torch
import typer

from panoworld.errors import InputError

from ._common import console, parse_size, progress_bar
from ._generate_jobs import RUN_RECORD, Job, read_batch, read_prompt_file, write_outputs

OVERRIDE_FIELDS = {"seed": "seed", "yaw": "yaw", "pitch": "pitch", "roll": "roll", "fov": "fov_x"}


def _config(**values):
    from panoworld.pipelines import GenerationConfig

    return GenerationConfig(**values).validate()


def _jobs(image, prompt, pano_prompt, prompt_file, batch, out) -> list[Job]:
    if batch is not None:
        if image is not None:
            raise InputError("give either an input image or --batch, not both")
        return read_batch(batch, out or Path("outputs"))
    if image is None:
        raise InputError("missing the input image (or --batch FILE)")
    if prompt_file is not None:
        file_prompt, file_pano = read_prompt_file(prompt_file)
        prompt, pano_prompt = prompt or file_prompt, pano_prompt or file_pano
    if not prompt and not pano_prompt:
        raise InputError("missing --prompt / --pano-prompt (or --prompt-file)")
    job = Job(image=image, prompt=prompt or pano_prompt, pano_prompt=pano_prompt,
              out=out or Path("outputs") / image.stem)
    job.load_image()  # unreadable image -> one-line error before anything loads
    return [job]


def _peak_gib(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 3)


def generate(
    image: Optional[Path] = typer.Argument(None, help="Input perspective photo (.png/.jpg/...); omit with --batch."),
    prompt: Optional[str] = typer.Option(None, "--prompt", "-p", help="Perspective prompt (what the photo shows; "
                                         "drives base-i2v motion and is the 360 prompt when --pano-prompt is absent)."),
    pano_prompt: Optional[str] = typer.Option(None, "--pano-prompt", help="360-degree prompt for the panoramic "
                                              "rounds (describe the surroundings, not the subject); either prompt "
                                              "alone is enough."),
    prompt_file: Optional[Path] = typer.Option(None, "--prompt-file", help="Prompt file: .txt (the prompt) or "
                                               ".json with \"prompt\" and optional \"pano_prompt\"."),
    negative_prompt: Optional[str] = typer.Option(None, "--negative-prompt", help="Unconditional-branch text "
                                                  "(default: the Cosmos-Predict2.5 negative prompt)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default outputs/<image stem>; with "
                                       "--batch, the root of one sub-folder per row)."),
    batch: Optional[Path] = typer.Option(None, "--batch", help="CSV or JSONL table of jobs (columns image, prompt or "
                                         "prompt_file, optional pano_prompt, id, seed, yaw, pitch, roll, fov); "
                                         "finished rows (run.json present) are skipped, so re-running resumes."),
    resolution: str = typer.Option("512x1024", "--resolution", help="ERP output size HEIGHTxWIDTH in pixels "
                                   "(width = 2 x height, multiples of 16)."),
    frames: int = typer.Option(93, "--frames", help="Output frames, 4k+1 (93 = 5.8 s at 16 fps, 33 = 2 s)."),
    fps: float = typer.Option(16.0, "--fps", help="Frame rate of the written videos, frames per second."),
    guidance: float = typer.Option(7.0, "--guidance", help="CFG weight g >= 0 in v_c + g (v_c - v_u) (unitless)."),
    steps: int = typer.Option(35, "--steps", help="Sampling steps as in the reference (35 -> 36 network "
                              "evaluations per round)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (initial noise, reference fill, rotations)."),
    fov: float = typer.Option(90.0, "--fov", help="Horizontal field of view of the cropped perspective input, "
                              "degrees, in (0, 180)."),
    yaw: float = typer.Option(0.0, "--yaw", help="Where the photo sits: yaw in degrees, positive turns right."),
    pitch: float = typer.Option(0.0, "--pitch", help="Pitch in degrees, positive looks up."),
    roll: float = typer.Option(0.0, "--roll", help="Roll in degrees, positive turns the camera clockwise."),
    persp_resolution: str = typer.Option("480x640", "--persp-resolution", help="Perspective resolution "
                                         "HEIGHTxWIDTH in pixels; the photo is scaled to cover it and centre-cropped."),
    rope: str = typer.Option("equirect", "--rope", help="RoPE variant of the PanoWorld net: equirect (the released "
                             "checkpoint), linear or periodic."),
    chained: bool = typer.Option(False, "--chained/--single", help="Two rounds (Round 2 conditioned on Round-1 "
                                 "frame 0, the paper's evaluated path) or one FOV-locked round."),
    motion: str = typer.Option("static", "--motion", help="Perspective motion source: static (the photo repeated) "
                               "or base-i2v (animated by the base Cosmos-Predict2.5 model first)."),
    siglip_orientation: str = typer.Option("reference", "--siglip-orientation", help="What SigLIP sees: reference "
                                           "(vertically flipped, as the checkpoint was trained) or upright."),
    latent_padding: int = typer.Option(2, "--latent-padding", help="Circular latent columns per side before VAE "
                                       "decode (8 px each; 0 = off)."),
    rotated_denoise: bool = typer.Option(False, "--rotated-denoise", help="Roll latent, solver history and "
                                         "conditioning by random columns after every step."),
    latitude_noise: bool = typer.Option(False, "--latitude-noise", help="Latitude-aware initial noise "
                                        "(stretched towards the poles like ERP content)."),
    cfg_batch: str = typer.Option("auto", "--cfg-batch", help="CFG branches: batched (one forward of batch 2), "
                                  "sequential (two forwards, less memory) or auto (batched when memory allows); "
                                  "identical results."),
    round2_reference: str = typer.Option("reencode", "--round2-reference", help="Round-2 reference latent: "
                                         "reencode (VAE of the Round-1 video, as the reference) or latent (reuse)."),
    bf16_timesteps: bool = typer.Option(False, "--bf16-timesteps", help="Round the network timestep to bf16 as "
                                        "the reference's patched forward does (995 -> 996); default exact."),
    offload: str = typer.Option("none", "--offload", help="none (fastest), model (components on the GPU only "
                                "while used) or group (also stream the transformer block by block)."),
    attention: str = typer.Option("auto", "--attention", help="Preferred attention kernel while sampling (CUDA): "
                                  "auto (cudnn on Hopper and newer GPUs, else PyTorch's order), cudnn, flash or "
                                  "efficient; the others stay as fallbacks."),
    device: Optional[str] = typer.Option(None, "--device", help="Torch device (default cuda if available, else cpu)."),
    dtype: str = typer.Option("auto", "--dtype", help="Weights/compute dtype: auto (bf16 on CUDA, fp32 on CPU), "
                              "bf16, fp16 or fp32."),
    compile_blocks: bool = typer.Option(False, "--compile", help="torch.compile every transformer block (the "
                                        "first step compiles, about 21 s per block graph on an H200; later steps take 0.8x the time)."),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="PanoWorld transformer: converted folder "
                                             "or model_ema_bf16.pt (default $PANOWORLD_WEIGHTS/panoworld)."),
    base_model: Optional[str] = typer.Option(None, "--base-model", help="Base Cosmos-Predict2.5-2B transformer for "
                                             "--motion base-i2v (default $PANOWORLD_WEIGHTS/cosmos-predict2.5-2b)."),
    text_encoder: Optional[str] = typer.Option(None, "--text-encoder", help="Cosmos-Reason1-7B folder or hub id "
                                               "(default $PANOWORLD_WEIGHTS/cosmos-reason1-7b)."),
    siglip: Optional[str] = typer.Option(None, "--siglip", help="SigLIP2 so400m-patch14-384 folder or hub id "
                                         "(default $PANOWORLD_WEIGHTS/siglip2-so400m-patch14-384)."),
    vae: Optional[str] = typer.Option(None, "--vae", help="Wan2.1 VAE folder, file or hub id "
                                      "(default $PANOWORLD_WEIGHTS/wan2.1-vae)."),
    text_cache: Optional[Path] = typer.Option(None, "--text-cache", help="Folder caching prompt embeddings on "
                                              "disk (skips the 7B text encoder for repeated prompts)."),
    tiny_random: bool = typer.Option(False, "--tiny-random", help="Use tiny randomly initialised models (no "
                                     "weights; output is noise): a smoke test of the whole pipeline."),
) -> None:
    """Generate a 360-degree equirectangular video from one perspective photo and prompts (PanoWorld).

    Writes into the output folder: pano.mp4 (ERP, spherical metadata), preview.mp4 (input beside output),
    round1.mp4 (chained runs) and run.json (arguments, model paths and fingerprints, versions, timings).
    """
    arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in locals().items()}
    from panoworld.pipelines import DEFAULT_NEGATIVE_PROMPT
    from panoworld.pipelines.loading import ModelPaths, load_pipeline, parse_dtype, resolve_model_paths
    from panoworld.pipelines.loading import tiny_random_pipeline
    from panoworld.pipelines.attention import ATTENTION_BACKENDS
    from panoworld.pipelines.offload import OFFLOAD_MODES
    from panoworld.pipelines.record import fingerprint, run_record

    height, width = parse_size(resolution, name="--resolution")
    p_height, p_width = parse_size(persp_resolution, name="--persp-resolution")
    if offload not in OFFLOAD_MODES:
        raise InputError(f"--offload must be one of {', '.join(OFFLOAD_MODES)}, got {offload!r}")
    if attention not in ATTENTION_BACKENDS:
        raise InputError(f"--attention must be one of {', '.join(ATTENTION_BACKENDS)}, got {attention!r}")
    if rope not in ("equirect", "linear", "periodic"):
        raise InputError(f"--rope must be equirect, linear or periodic, got {rope!r}")
    base_config = _config(
        height=height, width=width, num_frames=frames, num_steps=steps, guidance=guidance, seed=seed, fov_x=fov,
        yaw=yaw, pitch=pitch, roll=roll, persp_height=p_height, persp_width=p_width,
        negative_prompt=negative_prompt or DEFAULT_NEGATIVE_PROMPT, chained=chained, motion=motion,
        siglip_orientation=siglip_orientation, latent_padding=latent_padding, rotated_denoise=rotated_denoise,
        latitude_noise=latitude_noise, cfg_batch=cfg_batch, round2_reference=round2_reference,
        bf16_timesteps=bf16_timesteps, fps=fps,
    )
    jobs = _jobs(image, prompt, pano_prompt, prompt_file, batch, out)
    configs = [_config(**{**base_config.to_dict(), **{OVERRIDE_FIELDS[k]: v for k, v in j.overrides.items()}})
               for j in jobs]
    todo = [(j, c) for j, c in zip(jobs, configs) if not (batch is not None and (j.out / RUN_RECORD).is_file())]
    if len(todo) < len(jobs):
        console.print(f"skipping {len(jobs) - len(todo)} finished item(s)")
    if not todo:
        return
    compute = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    need_base = any(c.motion == "base-i2v" for _, c in todo)
    if tiny_random:
        resolved, models = {}, {"tiny_random": True}
    else:
        resolved = resolve_model_paths(ModelPaths(checkpoint, base_model, text_encoder, siglip, vae),
                                       need_base=need_base)
        models = {name: fingerprint(path) for name, path in resolved.items()}
    start = time.perf_counter()
    if tiny_random:
        pipe = tiny_random_pipeline(device=compute, offload=offload, rope_type=rope)
        pipe.attention = attention
    else:
        pipe = load_pipeline(resolved, device=compute, dtype=parse_dtype(dtype, compute), offload=offload,
                             rope_type=rope, text_cache=str(text_cache) if text_cache else None,
                             compile=compile_blocks, attention=attention)
    load_s = time.perf_counter() - start
    for number, (job, cfg) in enumerate(todo, start=1):
        _run_job(pipe, job, cfg, number, len(todo), arguments=arguments, models=models, load_s=load_s,
                 device=compute, record_fn=run_record)
        load_s = 0.0


def _run_job(pipe, job: Job, cfg, number: int, total: int, *, arguments, models, load_s, device, record_fn) -> None:
    rounds = 2 if cfg.chained else 1
    evaluations = (cfg.num_steps + 1) * (rounds + (cfg.motion == "base-i2v"))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    label = f"[{number}/{total}] {job.out.name}" if total > 1 else "generate"
    start = time.perf_counter()
    with progress_bar(label, evaluations) as advance:
        result = pipe(job.load_image(), job.prompt, job.pano_prompt, cfg, progress=lambda *_: advance(1))
    timings = {"load_models": load_s, **result.timings, "generate_total": time.perf_counter() - start}
    write_start = time.perf_counter()
    record = record_fn(
        arguments={**arguments, "image": str(job.image), "prompt": job.prompt, "pano_prompt": job.pano_prompt},
        config=cfg.to_dict(), models=models, timings=timings, info=result.info, outputs={},
        device=device, peak_memory_gib=_peak_gib(device),
    )
    files = write_outputs(job.out, result, fps=cfg.fps, record=record)
    console.print(f"{job.out.name}: wrote {files['video']} ({time.perf_counter() - write_start:.1f} s to write)")
