"""Training: flow matching with depth and point-track supervision, LoRA or full fine-tuning, DDP / FSDP2.

    from panoworld.train import load_config, build_cache, train
    cfg = load_config("tiny-synth", ["data.cache_dir=cache/tiny"])
    build_cache(cfg, device=torch.device("cpu"))
    train(cfg)
    distill(load_distill_config("distill-small", ["run.max_minutes=20"]))   # a 4-step student of the teacher

See docs/train.md for the objective, the samples and how they mirror inference, the presets and the commands.
"""

from panoworld._lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": ".config",
    "load_config": ".config",
    "list_presets": ".config",
    "apply_overrides": ".config",
    "config_from_dict": ".config",
    "build_cache": ".cache",
    "TrainCache": ".cache",
    "Objective": ".objective",
    "FlowMatchingObjective": ".objective",
    "Trainer": ".trainer",
    "TrainResult": ".trainer",
    "TrainingDiverged": ".trainer",
    "train": ".trainer",
    "build_transformer": ".modeling",
    "DistillConfig": ".distill_config",
    "load_distill_config": ".distill_config",
    "DistillationObjective": ".distill_objective",
    "distill": ".distill",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
