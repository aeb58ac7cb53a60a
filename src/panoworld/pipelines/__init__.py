"""Generation: conditioning builder, the one sampler (UniPC-2 on the Karras flow schedule), guided denoiser,
single-round and chained two-round PanoWorld pipelines, model loading (``PanoWorldPipeline.from_pretrained``)
and batch generation.

Submodules are imported on first use (PEP 562), so the settings objects (:mod:`.config`) can be imported and
validated without importing torch.
"""

from panoworld._lazy import lazy_exports

_EXPORTS = {
    "FovConditioning": ".conditioning",
    "FrameConditioning": ".conditioning",
    "build_first_frame_conditioning": ".conditioning",
    "build_fov_conditioning": ".conditioning",
    "cover_resize_crop": ".conditioning",
    "latent_fov_mask": ".conditioning",
    "latent_frames": ".conditioning",
    "project_to_erp": ".conditioning",
    "ATTENTION_BACKENDS": ".config",
    "DEFAULT_NEGATIVE_PROMPT": ".config",
    "GenerationConfig": ".config",
    "LoadConfig": ".config",
    "OFFLOAD_MODES": ".config",
    "decode_video": ".decode",
    "FewStepSolver": ".few_step",
    "few_step_schedule": ".few_step",
    "sample_few_step": ".few_step",
    "DenoiserInputs": ".guidance",
    "GuidedDenoiser": ".guidance",
    "ModelSource": ".loading",
    "resolve_model": ".loading",
    "fill_noise": ".noise",
    "initial_noise": ".noise",
    "latitude_warp_noise": ".noise",
    "Offloader": ".offload",
    "GenerationResult": ".panoworld",
    "PanoWorldPipeline": ".panoworld",
    "sample": ".sampler",
    "FlowSchedule": ".schedule",
    "karras_flow_schedule": ".schedule",
    "FlowUniPC": ".unipc",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
