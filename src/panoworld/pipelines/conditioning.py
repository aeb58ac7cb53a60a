"""Conditioning builder: perspective input -> ERP canvas -> guide / reference latents and latent FOV mask.

Reference §4.3-§4.4 (Round 1, "FOV-locked"): the perspective frames are pasted into the ERP canvas with
``panoworld.sphere.perspective_to_erp`` (fov_x, yaw, pitch and roll all honoured; the reference hard-wires pitch
and roll to 0), then

* ``guide = VAE(FOV pixels, 0 elsewhere)``           (0 is mid-grey in the VAE's [-1, 1] range),
* ``reference = VAE(FOV pixels, N(0, 0.5^2) elsewhere)`` (seeded),
* ``mask = nearest(pixel mask -> latent grid) > 0.5``.

Round 2 / image-to-video conditioning (reference §5.2, §2.7) is a clean first latent frame plus a frame-0 mask.
Video tensors follow the project convention (T, C, H, W) in [0, 1]; latents are (1, 16, T_lat, H/8, W/8).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from panoworld.errors import InputError
from panoworld.sphere import perspective_to_erp

from .noise import fill_noise

__all__ = [
    "FovConditioning",
    "FrameConditioning",
    "cover_resize_crop",
    "latent_frames",
    "latent_fov_mask",
    "project_to_erp",
    "build_fov_conditioning",
    "build_fov_conditionings",
    "build_first_frame_conditioning",
]


def latent_frames(num_frames: int) -> int:
    """Latent frames of a ``num_frames`` video (4x causal temporal compression): 1 + (T - 1) / 4."""
    if num_frames < 1 or (num_frames - 1) % 4:
        raise InputError(f"--frames must be 4k+1 (e.g. 33, 93), got {num_frames}")
    return 1 + (num_frames - 1) // 4


def cover_resize_crop(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Scale (..., C, H, W) so it covers ``size`` = (height, width) pixels, then centre-crop to it (antialiased)."""
    h, w = int(size[0]), int(size[1])
    src_h, src_w = image.shape[-2:]
    scale = max(h / src_h, w / src_w)
    new_h, new_w = max(h, round(src_h * scale)), max(w, round(src_w * scale))
    lead = image.shape[:-3]
    flat = image.reshape(-1, *image.shape[-3:]).float()
    if (new_h, new_w) != (src_h, src_w):
        flat = F.interpolate(flat, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True)
    top, left = (new_h - h) // 2, (new_w - w) // 2
    out = flat[..., top : top + h, left : left + w].clamp(0, 1)
    return out.reshape(*lead, *out.shape[-3:]).to(image.dtype)


def project_to_erp(
    frames: torch.Tensor, *, erp_size: tuple[int, int], fov_x: float, yaw: float, pitch: float, roll: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste (T, 3, h, w) [0, 1] perspective frames into the ERP: ((T, 3, H, W) [0, 1], (T, 1, H, W) {0, 1} mask)."""
    erp, mask = perspective_to_erp(frames, fov_x=fov_x, yaw=yaw, pitch=pitch, roll=roll, size=erp_size)
    return erp * mask, mask


def latent_fov_mask(pixel_mask: torch.Tensor, latent_shape: tuple[int, int, int]) -> torch.Tensor:
    """(T, 1, H, W) pixel mask -> (1, 1, T_lat, h, w) float {0, 1}: nearest resize in (T, H, W), then > 0.5."""
    video = pixel_mask.permute(1, 0, 2, 3)[None].float()
    small = F.interpolate(video, size=tuple(int(s) for s in latent_shape), mode="nearest")
    return (small > 0.5).float()


@dataclass
class FovConditioning:
    """Round-1 inputs (latents on the VAE's device, float32).

    Attributes:
        guide: (1, 16, T_lat, h, w) VAE latent of the FOV pixels with zeros elsewhere.
        reference: (1, 16, T_lat, h, w) VAE latent of the FOV pixels with N(0, 0.5^2) elsewhere.
        mask: (1, 1, T_lat, h, w) latent FOV mask in {0, 1}.
        erp: (T, 3, H, W) the projected canvas in [0, 1] (black outside the FOV), for previews.
    """

    guide: torch.Tensor
    reference: torch.Tensor
    mask: torch.Tensor
    erp: torch.Tensor


@dataclass
class FrameConditioning:
    """First-frame (image-to-video) inputs: clean latent frames and which latent frames are given.

    Attributes:
        latent: (1, 16, T_lat, h, w) with the clean latent on conditional frames (zeros elsewhere).
        frames: (T_lat,) bool, True on conditional latent frames.
    """

    latent: torch.Tensor
    frames: torch.Tensor

    def mask(self) -> torch.Tensor:
        """(1, 1, T_lat, h, w) float mask of the conditional frames (the network's mask channel)."""
        _, _, t, h, w = self.latent.shape
        return self.frames.to(self.latent.device, self.latent.dtype).view(1, 1, t, 1, 1).expand(1, 1, t, h, w)


def _expand_time(video: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(t, C, H, W) with t in {1, T} -> (1, C, T, H, W) (a single frame is repeated without copying)."""
    out = video.permute(1, 0, 2, 3)[None]
    return out.expand(-1, -1, num_frames, -1, -1) if out.shape[2] == 1 else out


def _batch_videos(videos: list[torch.Tensor]) -> torch.Tensor:
    """(1, C, T, H, W) videos -> (B, C, T, H, W); still ones (stride 0 over time) stay one expanded still batch."""
    if len(videos) == 1:
        return videos[0]
    if videos[0].shape[2] > 1 and all(v.stride(2) == 0 for v in videos):
        return torch.cat([v[:, :, :1] for v in videos]).expand(-1, -1, videos[0].shape[2], -1, -1)
    return torch.cat(videos)


@torch.no_grad()
def build_fov_conditioning(
    frames: torch.Tensor,
    vae,
    *,
    num_frames: int,
    erp_size: tuple[int, int],
    fov_x: float,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    seed: int = 0,
    noise_std: float = 0.5,
) -> FovConditioning:
    """Round-1 conditioning from perspective frames.

    Args:
        frames: (T, 3, h, w) or (1, 3, h, w) (a still image: repeated, the paper's "static" source) in [0, 1];
            already cropped to the perspective resolution that ``fov_x`` describes.
        vae: a ``VideoVAE`` (``encode((B, 3, T, H, W) in [-1, 1])``).
        num_frames: output video frames (4k + 1).
        erp_size: (H, W) of the ERP video in pixels.
        fov_x, yaw, pitch, roll: degrees (panoworld.sphere convention).
        seed: seeds the reference latent's noise fill.
        noise_std: standard deviation of that fill in [-1, 1] pixel units (reference 0.5).
    """
    return build_fov_conditionings([frames], vae, num_frames=num_frames, erp_size=erp_size,
                                   cameras=[(fov_x, yaw, pitch, roll)], seeds=[seed], noise_std=noise_std)[0]


@torch.no_grad()
def build_fov_conditionings(
    frames: Sequence[torch.Tensor],
    vae,
    *,
    num_frames: int,
    erp_size: tuple[int, int],
    cameras: Sequence[tuple[float, float, float, float]],
    seeds: Sequence[int],
    noise_std: float = 0.5,
) -> list[FovConditioning]:
    """:func:`build_fov_conditioning` of B views at once: the B guides in one VAE encode (one still batch when
    every view is a still image) and the B references in another; the same results as B single calls within float
    rounding (batched convolutions may round differently).

    Args:
        frames: B perspective videos, each (T, 3, h, w) or (1, 3, h, w) in [0, 1].
        cameras: B (fov_x, yaw, pitch, roll) in degrees.
        seeds: B seeds of the reference latents' noise fills.
        vae, num_frames, erp_size, noise_std: as :func:`build_fov_conditioning`.
    """
    if not len(frames) == len(cameras) == len(seeds) or not len(frames):
        raise ValueError(f"need as many cameras and seeds as views (>= 1), got {len(frames)}, {len(cameras)}, "
                         f"{len(seeds)}")
    for view in frames:
        if view.shape[0] not in (1, num_frames):
            raise InputError(f"the perspective video has {view.shape[0]} frames, expected 1 or {num_frames}")
    t_lat = latent_frames(num_frames)
    device = getattr(vae, "device", torch.device("cpu"))
    dtype = getattr(vae, "dtype", torch.float32)
    with ThreadPoolExecutor(max_workers=1) as pool:  # draw the CPU noise while the device projects and encodes
        pending = [pool.submit(fill_noise, (1, 3, num_frames, *erp_size), seed, std=noise_std) for seed in seeds]
        placed = [project_to_erp(view.to(device, torch.float32), erp_size=erp_size, fov_x=fov_x, yaw=yaw,
                                 pitch=pitch, roll=roll) for view, (fov_x, yaw, pitch, roll) in zip(frames, cameras)]
        guide_px = [_expand_time((erp * 2.0 - 1.0) * pmask, num_frames) for erp, pmask in placed]
        # still images stay an expanded (stride-0) batch here: the VAE then skips the work stillness makes
        # redundant (``VideoVAE.encode``); it converts to its own dtype
        guides = vae.encode(_batch_videos(guide_px)).float()
        ref_px = [torch.where(_expand_time(pmask, num_frames) > 0.5, px, job.result().to(device)).to(dtype)
                  for (_, pmask), px, job in zip(placed, guide_px, pending)]
        del pending  # the noise fills live on in ``ref_px`` only
    references = vae.encode(_batch_videos(ref_px)).float()
    del ref_px
    out = []
    for i, (erp, pmask) in enumerate(placed):
        full_mask = pmask.expand(num_frames, -1, -1, -1) if pmask.shape[0] == 1 else pmask
        mask = latent_fov_mask(full_mask, (t_lat, *guides.shape[-2:]))
        out.append(FovConditioning(guide=guides[i : i + 1], reference=references[i : i + 1],
                                   mask=mask.to(guides.device), erp=erp.cpu()))
    return out


@torch.no_grad()
def build_first_frame_conditioning(first_frame: torch.Tensor, vae, *, num_frames: int) -> FrameConditioning:
    """Image-to-video conditioning: latent frame 0 = VAE(first frame), the rest free.

    The Wan VAE is causal, so latent frame 0 depends on pixel frame 0 only: encoding the single frame equals
    encoding the reference's "first frame + zeros" video and keeping latent frame 0, without the wasted work.

    Args:
        first_frame: (3, H, W) in [0, 1] at the output resolution.
        vae: a ``VideoVAE``.
        num_frames: output video frames (4k + 1).
    """
    t_lat = latent_frames(num_frames)
    device = getattr(vae, "device", torch.device("cpu"))
    dtype = getattr(vae, "dtype", torch.float32)
    z0 = vae.encode((first_frame * 2.0 - 1.0)[None, :, None].to(device, dtype)).float()
    latent = torch.zeros(1, z0.shape[1], t_lat, *z0.shape[-2:], device=z0.device)
    latent[:, :, :1] = z0[:, :, :1]
    frames = torch.zeros(t_lat, dtype=torch.bool)
    frames[0] = True
    return FrameConditioning(latent=latent, frames=frames)
