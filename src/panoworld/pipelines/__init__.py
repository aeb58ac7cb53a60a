"""Generation: conditioning builder, the one sampler (UniPC-2 on the Karras flow schedule), guided denoiser,
single-round and chained two-round PanoWorld pipelines."""

from .conditioning import (
    FovConditioning,
    FrameConditioning,
    build_first_frame_conditioning,
    build_fov_conditioning,
    cover_resize_crop,
    latent_fov_mask,
    latent_frames,
    project_to_erp,
)
from .config import DEFAULT_NEGATIVE_PROMPT, GenerationConfig
from .decode import decode_video
from .guidance import DenoiserInputs, GuidedDenoiser
from .noise import fill_noise, initial_noise, latitude_warp_noise
from .offload import OFFLOAD_MODES, Offloader
from .panoworld import GenerationResult, PanoWorldPipeline
from .sampler import sample
from .schedule import FlowSchedule, karras_flow_schedule
from .unipc import FlowUniPC

__all__ = [
    "DEFAULT_NEGATIVE_PROMPT",
    "DenoiserInputs",
    "FlowSchedule",
    "FlowUniPC",
    "FovConditioning",
    "FrameConditioning",
    "GenerationConfig",
    "GenerationResult",
    "GuidedDenoiser",
    "OFFLOAD_MODES",
    "Offloader",
    "PanoWorldPipeline",
    "build_first_frame_conditioning",
    "build_fov_conditioning",
    "cover_resize_crop",
    "decode_video",
    "fill_noise",
    "initial_noise",
    "karras_flow_schedule",
    "latent_fov_mask",
    "latent_frames",
    "latitude_warp_noise",
    "project_to_erp",
    "sample",
]
