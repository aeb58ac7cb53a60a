"""``panoworld train distill``: the trainer (checkpoints, resume, torchrun, logs, cache, samples) with the
distillation objective.

    from panoworld.train.distill import distill
    from panoworld.train.distill_config import load_distill_config
    distill(load_distill_config("distill-small", ["run.max_minutes=20"]))

The teacher is ``model.init`` (a model folder, a training run folder = its newest checkpoint, a transformer
folder or ``component:panoworld``). The student is built exactly as ``panoworld train`` builds its transformer from
that reference (heads from the config, LoRA, activation checkpointing, fp32 master weights); the critic the same
way without trained heads; the teacher is loaded in ``distill.teacher_dtype`` and frozen. A resumed run refuses a
teacher whose weights changed. Every checkpoint is a model folder whose sampler is the student's few-step one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from panoworld.errors import InputError
from panoworld.formats.training import CHECKPOINTS, LATEST, TRAINING_STATE

from .cache import EMPTY, NEGATIVE, TrainCache
from .distill_config import DistillConfig
from .distributed import DistContext, barrier

__all__ = ["resolve_teacher", "teacher_guidance", "build_networks", "distillation_objective", "distill"]


def resolve_teacher(reference: str) -> str:
    """Local path of the teacher: a training run folder gives its newest checkpoint (model folder)."""
    from .checkpoint import find_latest
    from .modeling import resolve_init

    path = Path(reference).expanduser()
    if path.is_dir() and ((path / LATEST).is_file() or (path / CHECKPOINTS).is_dir()):
        found = find_latest(path)
        if found is None:
            raise InputError(f"model.init {reference}: a training run folder without a finished checkpoint")
        return str(found)
    return resolve_init(reference)


def teacher_guidance(cfg: DistillConfig, path: str) -> float:
    """``distill.guidance``, else the teacher folder's sampler guidance (7, the reference's, for other teachers).
    A few-step student as teacher is refused."""
    from panoworld.formats.model_folder import is_model_folder, read_model_index

    spec = read_model_index(path).sampler if is_model_folder(path) else None
    if spec is not None and spec.kind == "few-step":
        raise InputError(f"model.init {path} is a few-step student; distil a many-step teacher")
    if cfg.distill.guidance is not None:
        return float(cfg.distill.guidance)
    return float(spec.guidance) if spec is not None else 7.0


def _teacher_id(path: str) -> dict:
    from panoworld.pipelines.record import fingerprint

    return {k: v for k, v in fingerprint(path).items() if k != "source"}


def _check_same_teacher(cfg: DistillConfig, teacher_id: dict) -> None:
    from .checkpoint import find_latest

    latest = find_latest(Path(cfg.run.out_dir))
    if latest is None:
        return
    state = json.loads((latest / TRAINING_STATE / "state.json").read_text())
    before = state.get("teacher", {}).get("weights")
    if before is not None and before != teacher_id:
        raise InputError(f"{cfg.run.out_dir} was distilled from other teacher weights than {cfg.model.init} holds "
                         "now; give the same teacher, or choose a new run.out_dir")


def build_networks(cfg: DistillConfig, teacher_path: str, device: torch.device):
    """(student, critic, teacher) on ``device``: student and critic as ``panoworld train`` builds a transformer from
    the teacher (the critic's heads frozen), the teacher frozen in ``distill.teacher_dtype``."""
    from panoworld.models import load_transformer

    from .modeling import build_transformer

    model = dataclasses.replace(cfg.model, init=teacher_path)
    student = build_transformer(dataclasses.replace(cfg, model=model))
    no_heads = dataclasses.replace(cfg.loss, depth_weight=0.0, track_weight=0.0, rigidity_weight=0.0)
    critic_run = dataclasses.replace(cfg.run, seed=cfg.run.seed + 1)
    critic = build_transformer(dataclasses.replace(cfg, model=model, loss=no_heads, run=critic_run))
    name = cfg.distill.teacher_dtype
    dtype = torch.float32 if name == "fp32" or (name == "auto" and device.type != "cuda") else torch.bfloat16
    teacher = load_transformer(teacher_path, dtype=dtype, **cfg.model.transformer).eval().requires_grad_(False)
    return student.to(device), critic.to(device), teacher.to(device)


def distillation_objective(cfg: DistillConfig, cache: TrainCache, ctx: DistContext):
    """The trainer's ``build_objective`` for a distillation run (see the module docstring)."""
    from .distill_objective import DistillationObjective
    from .distill_pairs import TeacherPairs
    from .objective import head_usage
    from .trainer import check_cache_fits

    path = resolve_teacher(cfg.model.init)
    guidance = teacher_guidance(cfg, path)
    teacher_id = _teacher_id(path)
    _check_same_teacher(cfg, teacher_id)
    student, critic, teacher = build_networks(cfg, path, ctx.device)
    check_cache_fits(student, cache)
    negative = cache.text(NEGATIVE).float()
    pairs = None
    if cfg.distill.regression_steps:
        mode = cfg.samples.uncond_text
        uncond = torch.zeros_like(negative) if mode == "zeros" else cache.text(NEGATIVE if mode == "negative"
                                                                               else EMPTY)
        pairs = TeacherPairs(Path(cfg.run.out_dir), cfg, cache, uncond)
        pairs.build(teacher, negative, guidance, pairs.key(teacher_id, guidance), rank=ctx.rank,
                    world=ctx.world_size, device=ctx.device)
        barrier(ctx)
    info = {"teacher": {"init": cfg.model.init, "path": path, "weights": teacher_id, "guidance": guidance},
            "heads_training": head_usage(cfg)}
    sync = _max_over_processes(ctx) if ctx.enabled and cfg.distributed.strategy == "fsdp" else None
    return DistillationObjective(student, critic, teacher, cfg, negative_text=negative.to(ctx.device),
                                 guidance=guidance, pairs=pairs, info=info, sync_steps=sync)


def _max_over_processes(ctx: DistContext):
    """``n -> max of n over the processes`` (FSDP2 shards need the same forward calls everywhere)."""
    import torch.distributed as dist

    device = ctx.device if dist.get_backend() == "nccl" else torch.device("cpu")

    def sync(value: int) -> int:
        tensor = torch.tensor([value], dtype=torch.int64, device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return int(tensor.item())

    return sync


def distill(cfg: DistillConfig, **kwargs):
    """Run the distillation of ``cfg`` (resuming the newest checkpoint in ``run.out_dir``); a ``TrainResult``."""
    from .trainer import Trainer

    if not isinstance(cfg, DistillConfig):
        raise InputError("panoworld train distill needs a distillation config (a [distill] section or extends)")
    return Trainer(cfg, build_objective=distillation_objective, **kwargs).run()
