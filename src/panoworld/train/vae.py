"""Training of the small model's VAE: Wan2.1 architecture (diffusers ``AutoencoderKLWan``) at a small width, with
circular longitude padding, on ``panoworld synth`` ERP clips. Library only (a command wires it).

    cfg = VAETrainConfig(out_dir="runs/vae", steps=3000)
    train_vae(cfg)                                   # resumable: run it again after an interruption
    export_vae(cfg, "src/panoworld/assets/small_model/vae")
    evaluate_vae(VideoVAE.from_pretrained(...), heldout_clips(cfg))

Data: scene ``data_seed_start + i`` (i < ``scenes``; even i indoor, odd i outdoor; trajectory from the seed) is
rendered once by ``panoworld.synth`` as ``clip_frames`` frames at ``size`` and cached as uint8
``<data_dir>/<seed>.npy`` (default ``out_dir/data``; atomic, so an interrupted render redoes only the clip in
flight). A sample is a window of
``frames`` (4k + 1) consecutive frames of a random clip, rolled by a random number of columns, mirrored in longitude
half the time, and cut to a random ``crop_height`` × ``crop_width`` window (rows from a multiple of 8; 0 = all rows /
columns). A crop narrower than the frame wraps its own left and right edges together inside the model (circular
padding stays on), so the model also learns sharp vertical edges there; a frame the full width has no edge at all. A fraction ``image_fraction`` of the steps trains on single frames instead (``image_batch_size`` of
them; the causal VAE encodes a clip's first frame alone, and a 1-frame step costs a fifth of a 5-frame one).

The posterior's log-variance starts at ``init_logvar`` (bias of the last 16 channels of ``quant_conv``), so the
decoder sees the encoder's means from the first step instead of unit-variance noise (with a KL weight this small the
variance would otherwise take hundreds of steps to shrink; meanwhile the decoder only learns the mean image).

Loss per sample: mean |x̂ − x| + ``grad_weight`` · mean |∇x̂ − ∇x| (finite differences, wrapped in longitude)
+ ``kl_weight`` · mean KL(q(z | x) ‖ N(0, I)) per latent element; x̂ decodes a posterior sample, x in [-1, 1].

Checkpoints: ``checkpoints/step-NNNNNNN/`` (``model.safetensors``, the AdamW moments as
``optimizer_exp_avg.safetensors`` / ``optimizer_exp_avg_sq.safetensors`` — each file the size of the fp32 weights,
11 MB for the small VAE — and ``state.json``) are written to a temporary folder and renamed, then ``latest.json`` is replaced atomically; the two newest are kept. Batches and
posterior noise come from generators seeded by (seed, step), so a resumed run trains on what an uninterrupted one
would. Resuming with other settings is refused, except for the fields in :data:`RESUMABLE_FIELDS`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from panoworld.errors import InputError
from panoworld.formats.training import LATEST
from panoworld.io.atomic import atomic_path, atomic_write_json
from panoworld.models.components.small import small_vae_config

__all__ = [
    "HELDOUT_SEED_START",
    "RESUMABLE_FIELDS",
    "TRAIN_SEED_START",
    "VAETrainConfig",
    "SynthClipCache",
    "evaluate_vae",
    "export_vae",
    "heldout_clips",
    "latent_statistics",
    "load_checkpoint_model",
    "train_vae",
    "vae_loss",
]

#: First scene seed of the VAE training data (seeds 1,000,000 + i).
TRAIN_SEED_START = 1_000_000
#: First scene seed of the held-out VAE evaluation clips (seeds 2,000,000 + i).
HELDOUT_SEED_START = 2_000_000
#: Settings that may change when a run is resumed (they do not change what a step computes).
RESUMABLE_FIELDS = ("steps", "checkpoint_every", "log_every", "device", "threads", "keep_checkpoints",
                    "render_workers", "time_limit_s", "data_dir")
_ADAM_BUFFERS = ("exp_avg", "exp_avg_sq")


@dataclass
class VAETrainConfig:
    """Settings of one VAE training run (sizes in pixels, rates per step)."""

    out_dir: str
    data_dir: str = ""
    init_from: str = ""
    vae: dict = field(default_factory=small_vae_config)
    size: tuple[int, int] = (128, 256)
    scenes: int = 128
    clip_frames: int = 9
    data_seed_start: int = TRAIN_SEED_START
    frames: int = 5
    crop_height: int = 64
    crop_width: int = 0
    batch_size: int = 1
    image_fraction: float = 0.5
    image_batch_size: int = 4
    steps: int = 1200
    lr: float = 1e-3
    warmup: int = 50
    min_lr_ratio: float = 0.1
    kl_weight: float = 1e-5
    init_logvar: float = -8.0
    grad_weight: float = 0.5
    grad_clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 10
    keep_checkpoints: int = 2
    device: str = "cpu"
    #: bf16 autocast of the forward pass and loss on CUDA (no effect on the CPU)
    bf16: bool = True
    threads: int = 0
    render_workers: int = 1
    time_limit_s: float = 0.0
    #: train the decoder only (encoder frozen, ``init_from`` required): the latent space, its mean / std and so
    #: every transformer trained on it stay valid, e.g. to teach the decoder longer clips
    decoder_only: bool = False

    def __post_init__(self) -> None:
        self.size = tuple(int(v) for v in self.size)
        if self.decoder_only and not self.init_from:
            raise InputError("decoder_only needs init_from (the exported VAE whose encoder is kept)")
        h, w = self.size
        if w != 2 * h or h % 8:
            raise InputError(f"VAE training size must be H x 2H with H a multiple of 8, got {h}x{w}")
        for name in ("frames", "clip_frames"):
            value = getattr(self, name)
            if value < 1 or (value - 1) % 4:
                raise InputError(f"{name} must be 4k+1 (1, 5, 9, ...), got {value}")
        if self.frames > self.clip_frames:
            raise InputError(f"frames ({self.frames}) cannot exceed clip_frames ({self.clip_frames})")
        for name, limit in (("crop_height", h), ("crop_width", w)):
            crop = getattr(self, name)
            if crop and (crop % 8 or not 8 <= crop <= limit):
                raise InputError(f"{name} must be 0 (whole frames) or a multiple of 8 up to {limit}, got {crop}")
        if self.scenes < 1 or self.batch_size < 1 or self.image_batch_size < 1 or self.steps < 0:
            raise InputError("scenes and batch sizes must be at least 1 and steps non-negative")
        if not 0.0 <= self.image_fraction <= 1.0:
            raise InputError(f"image_fraction must be in [0, 1], got {self.image_fraction}")

    def to_dict(self) -> dict:
        """JSON-ready settings."""
        out = dataclasses.asdict(self)
        out["size"] = list(self.size)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "VAETrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an InputError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"unknown VAE training settings: {', '.join(unknown)}")
        return cls(**data)


# ---------------------------------------------------------------------------------------------------- data
def render_synth_clip(seed: int, *, frames: int, size: tuple[int, int], fps: float = 16.0,
                      device: str | torch.device = "cpu") -> np.ndarray:
    """(T, 3, H, W) uint8 ERP frames of synth scene ``seed`` (even seeds indoor, odd outdoor), rendered on
    ``device``."""
    from panoworld.synth import ClipRenderer, make_scene

    scene = make_scene(seed, kind="indoor" if seed % 2 == 0 else "outdoor")
    renderer = ClipRenderer(scene, frames=frames, size=size, fps=fps, device=device)
    out = np.empty((frames, 3, *size), dtype=np.uint8)
    for i in range(frames):
        rgb = renderer.render_frame(i)[0]
        out[i] = (rgb.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).cpu().numpy()
    return out


def _render_into(job: tuple[int, int, tuple[int, int], str]) -> int:
    """Process-pool worker: render one clip into its cache file (atomically); returns the seed."""
    seed, frames, size, path = job
    torch.set_num_threads(1)
    clip = render_synth_clip(seed, frames=frames, size=size)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, clip)
    return seed


class SynthClipCache:
    """The rendered training clips of a config, cached under ``out_dir/data`` as uint8 (T, 3, H, W) ``.npy``."""

    def __init__(self, cfg: VAETrainConfig) -> None:
        self.cfg = cfg
        self.root = Path(cfg.data_dir) if cfg.data_dir else Path(cfg.out_dir) / "data"
        self.seeds = [cfg.data_seed_start + i for i in range(cfg.scenes)]
        self.clips: list[torch.Tensor] = []

    def path(self, seed: int) -> Path:
        return self.root / f"{seed}.npy"

    def prepare(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Render the missing clips (atomically, one file each; ``render_workers`` processes of one thread each),
        then load all of them into memory."""
        self.root.mkdir(parents=True, exist_ok=True)
        jobs = [(s, self.cfg.clip_frames, self.cfg.size, str(self.path(s))) for s in self.seeds
                if not self.path(s).is_file()]
        done = len(self.seeds) - len(jobs)
        if self.cfg.render_workers > 1 and len(jobs) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(self.cfg.render_workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                for done, _ in enumerate(pool.map(_render_into, jobs), start=done + 1):
                    if progress is not None:
                        progress(done, len(self.seeds))
        else:
            for done, job in enumerate(jobs, start=done + 1):
                clip = render_synth_clip(job[0], frames=job[1], size=job[2])
                with atomic_path(job[3]) as tmp:
                    with open(tmp, "wb") as fh:
                        np.save(fh, clip)
                if progress is not None:
                    progress(done, len(self.seeds))
        self.clips = [torch.from_numpy(np.load(self.path(s))) for s in self.seeds]
        expected = (self.cfg.clip_frames, 3, *self.cfg.size)
        bad = [s for s, c in zip(self.seeds, self.clips) if tuple(c.shape) != expected]
        if bad:
            raise InputError(f"cached clip {self.path(bad[0])} is not {expected}; delete it to re-render")

    def sample(self, generator: torch.Generator, *, frames: int | None = None,
               batch_size: int | None = None) -> torch.Tensor:
        """(B, 3, T, crop_height, crop_width) float32 in [-1, 1] (T = ``frames``, default the config's; B likewise):
        random windows, rolls, mirrors and crops."""
        cfg = self.cfg
        h, w = cfg.size
        band, width = cfg.crop_height or h, cfg.crop_width or w
        frames = frames or cfg.frames
        out = []
        for _ in range(batch_size or cfg.batch_size):
            pick = lambda n: int(torch.randint(n, (1,), generator=generator))  # noqa: E731
            clip = self.clips[pick(len(self.clips))]
            t0 = pick(cfg.clip_frames - frames + 1)
            r0 = 8 * pick((h - band) // 8 + 1)
            x = clip[t0 : t0 + frames, :, r0 : r0 + band].float()
            x = torch.roll(x, pick(w), dims=-1)
            if pick(2):
                x = x.flip(-1)
            x = x[..., :width]
            out.append(x.permute(1, 0, 2, 3))
        return torch.stack(out) / 127.5 - 1.0


def heldout_clips(count: int = 8, *, frames: int = 33, size: tuple[int, int] = (128, 256),
                  seed_start: int = HELDOUT_SEED_START, device: str | torch.device = "cpu") -> list[torch.Tensor]:
    """``count`` held-out synth clips (scene seeds ``seed_start + i``) as (T, 3, H, W) float32 in [0, 1] on the
    CPU (rendered on ``device``)."""
    return [torch.from_numpy(render_synth_clip(seed_start + i, frames=frames, size=size, device=device)).float()
            / 255.0 for i in range(count)]


# ---------------------------------------------------------------------------------------------------- model
def build_model(cfg: VAETrainConfig):
    """A freshly initialised ``AutoencoderKLWan`` (seeded by ``cfg.seed``; posterior log-variance bias
    ``init_logvar``) with circular longitude padding."""
    from diffusers import AutoencoderKLWan

    from panoworld.models.components.wan_circular import set_circular_longitude

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = AutoencoderKLWan(**cfg.vae)
    with torch.no_grad():
        model.quant_conv.bias[model.config.z_dim:] = cfg.init_logvar
    set_circular_longitude(model, True)
    return model


def _finite_differences(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal (wrapped across the seam) and vertical differences of (..., H, W)."""
    return torch.roll(x, -1, dims=-1) - x, x[..., 1:, :] - x[..., :-1, :]


def vae_loss(model, x: torch.Tensor, cfg: VAETrainConfig, generator: torch.Generator | None = None):
    """(loss, parts) for a batch ``x`` (B, 3, T, H, W) in [-1, 1]; ``parts`` holds floats l1, grad, kl."""
    with torch.set_grad_enabled(torch.is_grad_enabled() and not cfg.decoder_only):
        posterior = model.encode(x).latent_dist
    z = posterior.sample(generator=generator)
    recon = model.decode(z).sample
    l1 = (recon - x).abs().mean()
    gx_r, gy_r = _finite_differences(recon)
    gx, gy = _finite_differences(x)
    grad = 0.5 * ((gx_r - gx).abs().mean() + (gy_r - gy).abs().mean())
    kl = 0.5 * (posterior.mean.pow(2) + posterior.var - 1.0 - posterior.logvar).mean()
    loss = l1 + cfg.grad_weight * grad + cfg.kl_weight * kl
    return loss, {"l1": float(l1.detach()), "grad": float(grad.detach()), "kl": float(kl.detach())}


def _lr(cfg: VAETrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    span = max(1, cfg.steps - cfg.warmup)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - cfg.warmup) / span)))
    return cfg.lr * (cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * cosine)


# ---------------------------------------------------------------------------------------------------- checkpoints
def _latest(out_dir: Path) -> dict | None:
    path = out_dir / LATEST
    if not path.is_file():
        return None
    latest = json.loads(path.read_text())
    return latest if (out_dir / latest["path"] / "state.json").is_file() else None


def _save_checkpoint(out_dir: Path, model, optimizer, step: int, cfg: VAETrainConfig, log: dict) -> Path:
    from safetensors.torch import save_file

    ckpts = out_dir / "checkpoints"
    ckpts.mkdir(parents=True, exist_ok=True)
    final = ckpts / f"step-{step:07d}"
    tmp = ckpts / f".tmp-step-{step:07d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()},
              str(tmp / "model.safetensors"))
    adam_steps = _save_optimizer(optimizer, tmp)
    state = {"step": step, "config": cfg.to_dict(), "log": log, "adam_steps": adam_steps}
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    atomic_write_json(out_dir / LATEST, {"path": str(final.relative_to(out_dir)), "step": step})
    kept = sorted(p for p in ckpts.iterdir() if p.name.startswith("step-"))
    for old in kept[: -max(1, cfg.keep_checkpoints)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _save_optimizer(optimizer, folder: Path) -> dict[str, float]:
    """AdamW first and second moments as two safetensors files; returns each parameter's step count."""
    from safetensors.torch import save_file

    state = optimizer.state_dict()["state"]
    for name in _ADAM_BUFFERS:
        save_file({str(i): s[name].contiguous().cpu() for i, s in state.items()},
                  str(folder / f"optimizer_{name}.safetensors"))
    return {str(i): float(s["step"]) for i, s in state.items()}


def _load_optimizer(optimizer, folder: Path, adam_steps: dict[str, float], device) -> None:
    from safetensors.torch import load_file

    buffers = {n: load_file(str(folder / f"optimizer_{n}.safetensors"), device=str(device)) for n in _ADAM_BUFFERS}
    state_dict = optimizer.state_dict()
    state_dict["state"] = {
        int(i): {"step": torch.tensor(float(n)), **{name: buffers[name][i] for name in _ADAM_BUFFERS}}
        for i, n in adam_steps.items()
    }
    optimizer.load_state_dict(state_dict)


def _exported_weights(folder: str | os.PathLike) -> dict[str, torch.Tensor]:
    """float32 state dict of an exported VAE folder (``config.json`` + ``diffusion_pytorch_model.safetensors``)."""
    from safetensors.torch import load_file

    path = Path(folder) / "diffusion_pytorch_model.safetensors"
    if not path.is_file():
        raise InputError(f"init_from: no {path.name} in '{folder}' (give an exported VAE folder)")
    return {k: v.float() for k, v in load_file(str(path)).items()}


def _check_resumable(saved: dict, cfg: VAETrainConfig) -> None:
    current = cfg.to_dict()
    changed = sorted(k for k in current if k not in RESUMABLE_FIELDS and saved.get(k) != current[k])
    if changed:
        raise InputError(
            f"{cfg.out_dir} holds a VAE run with other settings ({', '.join(changed)}); use another out_dir"
        )


def load_checkpoint_model(checkpoint: str | os.PathLike, cfg: VAETrainConfig | None = None):
    """The ``AutoencoderKLWan`` of a checkpoint folder (``step-NNNNNNN``) or run folder (its latest), float32."""
    from safetensors.torch import load_file

    path = Path(checkpoint)
    if (path / LATEST).is_file():
        latest = _latest(path)
        if latest is None:
            raise InputError(f"{path}: {LATEST} points at a missing checkpoint")
        path = path / latest["path"]
    state = json.loads((path / "state.json").read_text())
    cfg = cfg or VAETrainConfig.from_dict(state["config"])
    model = build_model(cfg)
    model.load_state_dict(load_file(str(path / "model.safetensors")), strict=True)
    return model.eval()


# ---------------------------------------------------------------------------------------------------- training
def train_vae(cfg: VAETrainConfig, *, log: Callable[[str], None] = print) -> Path:
    """Train (or resume) the run in ``cfg.out_dir`` up to ``cfg.steps``; returns the final checkpoint folder.

    Appends one JSON line per ``log_every`` steps to ``out_dir/log.jsonl`` (step, lr, loss parts, seconds/step).
    With ``time_limit_s`` > 0 the loop stops at the first step boundary after that many seconds of training and
    checkpoints there (the run resumes from it later).
    """
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    latest = _latest(out_dir)
    if latest is not None:
        saved = json.loads((out_dir / latest["path"] / "state.json").read_text())
        _check_resumable(saved["config"], cfg)
    data = SynthClipCache(cfg)
    data.prepare(lambda i, n: log(f"data {i}/{n}") if i == n or i % 10 == 0 else None)
    model = build_model(cfg)
    if cfg.init_from and latest is None:
        model.load_state_dict(_exported_weights(cfg.init_from), strict=True)
        log(f"initialised from {cfg.init_from}")
    model = model.to(cfg.device).train()
    if cfg.decoder_only:
        for module in (model.encoder, model.quant_conv):
            module.requires_grad_(False)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=cfg.lr, weight_decay=0.0)
    step = 0
    if latest is not None:
        from safetensors.torch import load_file

        ckpt = out_dir / latest["path"]
        model.load_state_dict(load_file(str(ckpt / "model.safetensors"), device=str(cfg.device)), strict=True)
        _load_optimizer(optimizer, ckpt, saved["adam_steps"], cfg.device)
        step = int(latest["step"])
        log(f"resumed from {ckpt} at step {step}")
    final = out_dir / latest["path"] if latest is not None else None
    window: list[dict] = []
    tick = start = time.perf_counter()
    while step < cfg.steps:
        if cfg.time_limit_s and time.perf_counter() - start > cfg.time_limit_s:
            final = _save_checkpoint(out_dir, model, optimizer, step, cfg, {"stopped": "time limit"})
            log(f"time limit reached at step {step}; checkpoint {final}")
            break
        for group in optimizer.param_groups:
            group["lr"] = _lr(cfg, step)
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        if float(torch.rand(1, generator=gen)) < cfg.image_fraction:
            batch = data.sample(gen, frames=1, batch_size=cfg.image_batch_size)
        else:
            batch = data.sample(gen)
        batch = batch.to(cfg.device)
        noise_gen = torch.Generator(device=cfg.device).manual_seed(cfg.seed * 1_000_003 + step + 7)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cfg.bf16 and batch.device.type == "cuda"):
            loss, parts = vae_loss(model, batch, cfg, noise_gen)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, cfg.grad_clip)
        optimizer.step()
        step += 1
        window.append(parts)
        if step % cfg.log_every == 0 or step == cfg.steps:
            now = time.perf_counter()
            record = {"step": step, "lr": _lr(cfg, step - 1),
                      **{k: sum(p[k] for p in window) / len(window) for k in window[0]},
                      "sec_per_step": (now - tick) / len(window)}
            with open(out_dir / "log.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
            log(" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
            window, tick = [], now
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            final = _save_checkpoint(out_dir, model, optimizer, step, cfg, {"loss": float(loss.detach())})
    if final is None:
        final = _save_checkpoint(out_dir, model, optimizer, step, cfg, {})
    return final


# ---------------------------------------------------------------------------------------------------- export / eval
@torch.no_grad()
def latent_statistics(model, clips: list[torch.Tensor]) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the posterior means of ``clips`` ((T, 3, H, W) in [0, 1], T = 4k + 1)."""
    device = next(model.parameters()).device
    latents = [model.encode((c.to(device) * 2.0 - 1.0).permute(1, 0, 2, 3)[None]).latent_dist.mode() for c in clips]
    flat = torch.cat([z.transpose(0, 1).reshape(z.shape[1], -1) for z in latents], dim=1).double()
    return flat.mean(dim=1).tolist(), flat.std(dim=1).tolist()


def export_vae(cfg: VAETrainConfig, folder: str | os.PathLike, *, checkpoint: str | os.PathLike | None = None,
               dtype: torch.dtype = torch.float16, stats_clips: int = 64) -> Path:
    """Write the trained VAE as a diffusers folder (``config.json`` + safetensors in ``dtype``) with its latent
    mean/std (measured on the first ``stats_clips`` training clips; ``decoder_only``: those of ``init_from``) and
    circular longitude on in the config.
    Replaces ``folder`` only once the new one is complete."""
    from panoworld.models.components.vae import CIRCULAR_LONGITUDE_KEY

    model = load_checkpoint_model(checkpoint or cfg.out_dir, cfg).to(cfg.device)
    if cfg.decoder_only:  # the encoder is init_from's: keep its normalisation exactly
        init = json.loads((Path(cfg.init_from) / "config.json").read_text())
        mean, std = init["latents_mean"], init["latents_std"]
    else:
        data = SynthClipCache(dataclasses.replace(cfg, scenes=min(cfg.scenes, stats_clips)))
        data.prepare()
        mean, std = latent_statistics(model, [c.float() / 255.0 for c in data.clips])
    model.register_to_config(latents_mean=[round(v, 5) for v in mean], latents_std=[round(v, 5) for v in std],
                             **{CIRCULAR_LONGITUDE_KEY: True})
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to(device="cpu", dtype=dtype).save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


@torch.no_grad()
def evaluate_vae(vae, clips: list[torch.Tensor]) -> dict[str, float]:
    """Round-trip quality of a ``VideoVAE`` on (T, 3, H, W) [0, 1] clips: mean PSNR (dB), SSIM (wrapped window)
    and seam discontinuity ratio of the reconstructions and of the inputs (``eval.metrics.panorama``)."""
    from panoworld.eval.metrics.panorama import discontinuity_score
    from panoworld.eval.metrics.visual import psnr, ssim

    rows = []
    for clip in clips:
        video = (clip * 2.0 - 1.0).permute(1, 0, 2, 3)[None]
        recon = ((vae.decode(vae.encode(video))[0].permute(1, 0, 2, 3).float().cpu() + 1.0) * 0.5).clamp(0, 1)
        rows.append({"psnr": float(psnr(recon, clip).mean()), "ssim": float(ssim(recon, clip).mean()),
                     "seam_discontinuity": discontinuity_score(recon),
                     "seam_discontinuity_input": discontinuity_score(clip)})
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
