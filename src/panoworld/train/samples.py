"""Training samples that mirror inference (``pipelines/panoworld.py``; docs/train.md, "Samples").

Cache time (once per clip, K views):

- :func:`draw_view`: a random perspective camera, ``fov_x ~ U(fov_range)``, ``yaw ~ U(-180, 180)``, pitch and roll
  small (clipped normals), degrees;
- :func:`round1_conditioning`: the view of the clip's first frame (``erp_to_perspective``) fed to the *inference*
  builder ``build_fov_conditioning`` (placement, guide = VAE(FOV, 0 elsewhere), reference = VAE(FOV, N(0, 0.5^2)
  elsewhere), latent FOV mask) and its SigLIP tokens seen as at inference (``siglip_input_view``);
  :func:`round1_conditionings` does K views with one VAE encode per kind and one SigLIP call (the cache's path);
- :func:`round2_proxy`: what Round 1 would hand Round 2 as ``ref = VAE(Round-1 video)``, without the target: the
  clip slowed down (frame i shows frame round(s i), s ~ U(proxy_speed), so the motion never matches the target),
  the view's FOV frozen to frame 0 (Round 1 pastes a still FOV guide into every frame), blurred (Round-1 detail is
  lower than real video) and noised.

Train time (per sample, from a seeded generator): Round 1 or Round 2 (``round2_fraction``), a view k, a caption
style, CFG dropout (text -> the unconditional text, image tokens dropped: exactly the unconditional branch), and
for Round 2 the number K of clean leading latent frames (``round2_cond_frames``; K > 1 is what an extension round
of ``generate --rounds`` conditions on). Both kinds reduce to one form: a clean latent ``clean`` pasted where
``clean_mask`` is 1 (Round 1: the FOV guide; Round 2: latent frames 0..K-1), the same mask as the network's mask
channel, and clean whole frames (``cond_frames``) that get the conditional-frame timestep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from panoworld.pipelines.conditioning import build_fov_conditionings, project_to_erp
from panoworld.sphere import erp_to_perspective, resize_erp

from .config import DataConfig, SamplesConfig

__all__ = [
    "View",
    "draw_view",
    "perspective_size",
    "round1_conditioning",
    "round1_conditionings",
    "round2_proxy",
    "sample_seed",
    "TrainingSample",
    "Batch",
    "build_sample",
    "collate",
]


@dataclass(frozen=True)
class View:
    """A perspective camera in degrees (panoworld.sphere convention)."""

    fov_x: float
    yaw: float
    pitch: float
    roll: float

    def as_list(self) -> list[float]:
        return [self.fov_x, self.yaw, self.pitch, self.roll]


def _clipped_normal(generator: torch.Generator, std: float, limit: float) -> float:
    return float((torch.randn((), generator=generator, dtype=torch.float64) * std).clamp(-limit, limit))


def draw_view(cfg: SamplesConfig, generator: torch.Generator) -> View:
    """A random Round-1 camera (see the module docstring)."""
    lo, hi = cfg.fov_range
    fov = lo + (hi - lo) * float(torch.rand((), generator=generator, dtype=torch.float64))
    yaw = -180.0 + 360.0 * float(torch.rand((), generator=generator, dtype=torch.float64))
    return View(fov, yaw, _clipped_normal(generator, cfg.pitch_std, cfg.pitch_max),
                _clipped_normal(generator, cfg.roll_std, cfg.roll_max))


def perspective_size(data: DataConfig) -> tuple[int, int]:
    """(h, w) of the perspective view: the configured one, or 480 x 640 scaled to the ERP height."""
    if data.persp_height and data.persp_width:
        return data.persp_height, data.persp_width
    return max(2, 2 * round(data.height * 480 / 1024)), max(2, 2 * round(data.height * 640 / 1024))


@torch.no_grad()
def round1_conditioning(frames: torch.Tensor, view: View, vae, image_encoder, *, num_frames: int,
                        persp_size: tuple[int, int], fill_noise_std: float, seed: int, orientation: str):
    """Round-1 inputs of one view: (FovConditioning, (N, D) SigLIP tokens, (1, 3, h, w) perspective view).

    ``frames``: (T, 3, H, W) ERP clip in [0, 1]; only frame 0 is used (the still source of the paper's path).
    """
    return round1_conditionings(frames, [view], vae, image_encoder, num_frames=num_frames, persp_size=persp_size,
                                fill_noise_std=fill_noise_std, seeds=[seed], orientation=orientation)[0]


@torch.no_grad()
def round1_conditionings(frames: torch.Tensor, views: list[View], vae, image_encoder, *, num_frames: int,
                         persp_size: tuple[int, int], fill_noise_std: float, seeds: list[int], orientation: str):
    """:func:`round1_conditioning` of K views (``seeds``: one noise seed each) with the K guides in one VAE encode,
    the K references in another and the K SigLIP inputs in one image-encoder call: a list of K (FovConditioning,
    (N, D) tokens, (1, 3, h, w) view), equal to K single calls within float rounding."""
    from panoworld.models.components.image_encoder import siglip_input_view

    height, width = frames.shape[-2:]
    persps = [erp_to_perspective(frames[:1].float(), fov_x=view.fov_x, yaw=view.yaw, pitch=view.pitch,
                                 roll=view.roll, size=persp_size).clamp(0, 1) for view in views]
    fovs = build_fov_conditionings(persps, vae, num_frames=num_frames, erp_size=(height, width),
                                   cameras=[(v.fov_x, v.yaw, v.pitch, v.roll) for v in views], seeds=seeds,
                                   noise_std=fill_noise_std)
    encoder_input = torch.cat([siglip_input_view(persp, orientation) for persp in persps])
    tokens = image_encoder.encode(encoder_input.to(image_encoder.device, image_encoder.dtype))
    return [(fov, tokens[i], persp) for i, (fov, persp) in enumerate(zip(fovs, persps))]


@torch.no_grad()
def round2_proxy(frames: torch.Tensor, view: View, cfg: SamplesConfig, generator: torch.Generator, *,
                 persp_size: tuple[int, int]) -> torch.Tensor:
    """(T, 3, H, W) [0, 1] stand-in for a Round-1 video of this clip (see the module docstring)."""
    count, _, height, width = frames.shape
    lo, hi = cfg.proxy_speed
    speed = lo + (hi - lo) * float(torch.rand((), generator=generator, dtype=torch.float64))
    index = torch.round(torch.arange(count, dtype=torch.float64) * speed).long().clamp_max(count - 1)
    proxy = frames[index].float().clone()
    if cfg.proxy_freeze_fov:
        ones = torch.ones(1, 1, *persp_size)
        _, mask = project_to_erp(ones, erp_size=(height, width), fov_x=view.fov_x, yaw=view.yaw, pitch=view.pitch,
                                 roll=view.roll)
        proxy = mask * frames[:1].float() + (1 - mask) * proxy
    lo, hi = cfg.proxy_blur
    factor = lo + (hi - lo) * float(torch.rand((), generator=generator, dtype=torch.float64))
    if factor > 1.0:
        small = (max(2, 2 * round(height / factor / 2)), max(4, 4 * round(width / factor / 4)))
        proxy = resize_erp(resize_erp(proxy, small), (height, width))
    if cfg.proxy_noise_std > 0:
        proxy = proxy + cfg.proxy_noise_std * torch.randn(proxy.shape, generator=generator)
    return proxy.clamp(0, 1)


def sample_seed(run_seed: int, step: int, index: int) -> int:
    """Seed of global sample ``index`` of optimizer step ``step``: independent of the number of processes."""
    return int(np.random.SeedSequence([int(run_seed), int(step), int(index)]).generate_state(1, np.uint64)[0] >> 1)


@dataclass
class TrainingSample:
    """One conditioned clip (latents (C, T, h, w) float32; see the module docstring).

    ``depth``: (T, h, w) target log range (NaN = unsupervised) or None; ``tracks``: ((N, T, 2) latent-cell xy,
    (N, T) visible, (N,) static) or None; ``seed``: the sample's seed (the objective draws t and noise from it).
    """

    x0: torch.Tensor
    reference: torch.Tensor
    clean: torch.Tensor
    clean_mask: torch.Tensor
    cond_frames: torch.Tensor
    text: torch.Tensor
    image: torch.Tensor | None
    depth: torch.Tensor | None
    tracks: tuple | None
    seed: int
    kind: str


def _choice(weights: dict, available: dict, generator: torch.Generator) -> str:
    names = [k for k in sorted(weights) if weights[k] > 0 and k in available]
    if not names:
        names = sorted(available)
    probs = torch.tensor([float(weights.get(k, 1.0)) or 1.0 for k in names], dtype=torch.float64)
    return names[int(torch.multinomial(probs, 1, generator=generator))]


def _cond_frames(weights: list[float], generator: torch.Generator) -> int:
    """K clean latent frames of a Round-2 sample, drawn with ``weights`` of K = 1, 2, ... (no draw for one K)."""
    if len(weights) == 1:
        return 1
    probs = torch.tensor([float(w) for w in weights], dtype=torch.float64)
    return 1 + int(torch.multinomial(probs, 1, generator=generator))


def build_sample(entry, texts, cfg: SamplesConfig, seed: int, uncond: torch.Tensor) -> TrainingSample:
    """Assemble one sample from a cache entry (``cache.CacheEntry``) and the text store ``texts``."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(5, generator=g, dtype=torch.float64)
    round2 = bool(u[0] < cfg.round2_fraction)
    k = int(torch.randint(entry.num_views, (), generator=g))
    style = _choice(cfg.caption_styles, entry.captions, g)
    x0 = entry.x0()
    guide, ref1, mask, tokens = entry.view(k)
    if round2:
        _, t, h, w = x0.shape
        clean, reference = x0, entry.proxy(k)
        cond = torch.zeros(t, dtype=torch.bool)
        cond[: _cond_frames(cfg.round2_cond_frames, g)] = True
        clean_mask = cond.float().view(1, t, 1, 1).expand(1, t, h, w).clone()
    else:
        clean, reference, clean_mask = guide, ref1, mask
        cond = torch.zeros(x0.shape[1], dtype=torch.bool)
    drop_all = bool(u[1] < cfg.cfg_dropout)
    text = uncond if drop_all or bool(u[2] < cfg.text_dropout) else texts.get(entry.captions[style])
    image = None if drop_all or bool(u[3] < cfg.image_dropout) else tokens
    return TrainingSample(x0=x0, reference=reference, clean=clean, clean_mask=clean_mask, cond_frames=cond,
                          text=text, image=image, depth=entry.depth(),
                          tracks=entry.tracks(), seed=seed, kind="round2" if round2 else "round1")


@dataclass
class Batch:
    """Collated samples; rows with image tokens come first (``image`` holds those ``num_image`` rows)."""

    x0: torch.Tensor
    reference: torch.Tensor
    clean: torch.Tensor
    clean_mask: torch.Tensor
    cond_frames: torch.Tensor
    text: torch.Tensor
    image: torch.Tensor | None
    depth: list
    tracks: list
    seeds: list[int]
    kinds: list[str]

    @property
    def size(self) -> int:
        return int(self.x0.shape[0])

    def to(self, device) -> "Batch":
        move = (lambda x: None if x is None else x.to(device, non_blocking=True))  # noqa: E731
        return Batch(move(self.x0), move(self.reference), move(self.clean), move(self.clean_mask),
                     move(self.cond_frames), move(self.text), move(self.image), self.depth, self.tracks, self.seeds,
                     self.kinds)


def collate(samples: list[TrainingSample]) -> Batch:
    """Stack samples, rows with image tokens first (stable order otherwise)."""
    order = sorted(range(len(samples)), key=lambda i: samples[i].image is None)
    rows = [samples[i] for i in order]
    images = [s.image for s in rows if s.image is not None]
    stack = (lambda name: torch.stack([getattr(s, name) for s in rows]))  # noqa: E731
    return Batch(x0=stack("x0"), reference=stack("reference"), clean=stack("clean"), clean_mask=stack("clean_mask"),
                 cond_frames=stack("cond_frames"), text=stack("text"),
                 image=torch.stack(images) if images else None, depth=[s.depth for s in rows],
                 tracks=[s.tracks for s in rows], seeds=[s.seed for s in rows], kinds=[s.kind for s in rows])
