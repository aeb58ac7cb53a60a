"""Distillation configs: a training config (the teacher's data, samples, cache) plus a ``[distill]`` section.

A distillation TOML may start with ``extends = "<preset or file>"``: every section of that training config is
taken (so the distillation reads the teacher's cache), then the file's own keys override it, key by key. The
teacher defines the network, so an inherited ``model.transformer`` table is dropped (set it in the distillation
file to override the teacher's config, e.g. ``rope_type``). ``model.init`` is the teacher: a PanoWorld model folder
(a training checkpoint), a training run folder (its newest checkpoint), a transformer folder or
``component:panoworld``; the student and the critic start as copies of it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from panoworld.errors import InputError

from .config import TrainConfig, _from_dict, _read_toml, apply_overrides, load_config

__all__ = ["DFD_TIMESTEPS", "DistillSection", "DistillConfig", "load_distill_config", "is_distill_file",
           "load_any_config", "distill_config_from_dict"]

#: The 4-step student schedule of Data-Forcing Distillation for Cosmos-Predict2.5-2B (flow times; then t = 0).
DFD_TIMESTEPS = [0.999, 0.937, 0.833, 0.624]
_TEACHER_DTYPES = ("auto", "bf16", "fp32")


@dataclass
class DistillSection:
    """DMD2-style distillation (formulas in docs/train.md, "Distillation")."""

    timesteps: list[float] = field(default_factory=lambda: list(DFD_TIMESTEPS))  # student flow times, descending
    guidance: float | None = None  # teacher CFG weight in the real score; None = the teacher folder's sampler's (7)
    critic_updates: int = 4  # K: critic updates per student update
    critic_lr_scale: float = 1.0  # critic learning rate = this x optim.lr (same schedule)
    backward_simulation: bool = True  # student inputs from its own earlier steps (else: noised data latents)
    dmd_weight: float = 1.0
    regression_steps: int = 0  # warm-up: the first N optimizer steps train the student by regression only
    regression_pairs: int = 0  # teacher ODE solves cached for the warm-up (<run>/teacher_pairs/)
    teacher_steps: int = 35  # many-step sampler steps of each teacher solve
    teacher_dtype: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU), bf16, fp32


@dataclass
class DistillConfig(TrainConfig):
    """A training config plus the ``[distill]`` section."""

    distill: DistillSection = field(default_factory=DistillSection)

    def validate(self) -> "DistillConfig":
        if self.model.init == "scratch":
            raise InputError("config model.init: distillation needs a teacher (a model folder, a training run "
                             "folder or component:panoworld), not \"scratch\"")
        super().validate()
        d = self.distill
        from panoworld.formats.model_folder import SamplerSpec

        try:
            SamplerSpec(kind="few-step", num_steps=len(d.timesteps) or 1, guidance=0.0,
                        timesteps=list(d.timesteps)).validate()
        except InputError as exc:
            raise InputError(f"config distill.timesteps: {exc}") from None
        checks = (("distill.critic_updates", d.critic_updates >= 1), ("distill.critic_lr_scale", d.critic_lr_scale > 0),
                  ("distill.dmd_weight", d.dmd_weight >= 0), ("distill.teacher_steps", d.teacher_steps >= 1),
                  ("distill.guidance", d.guidance is None or d.guidance >= 0),
                  ("distill.regression_steps", d.regression_steps >= 0 and d.regression_pairs >= 0))
        for key, ok in checks:
            if not ok:
                raise InputError(f"config {key}: out of range ({getattr(d, key.split('.')[1], None)!r})")
        if d.regression_steps and not d.regression_pairs:
            raise InputError("config distill.regression_steps > 0 needs distill.regression_pairs >= 1 teacher solves")
        if d.teacher_dtype not in _TEACHER_DTYPES:
            raise InputError(f"config distill.teacher_dtype: must be one of {', '.join(_TEACHER_DTYPES)}, "
                             f"got {d.teacher_dtype!r}")
        return self


def distill_config_from_dict(raw: dict) -> DistillConfig:
    """Build a :class:`DistillConfig` from nested dicts (unknown keys and bad types raise); not validated."""
    return _from_dict(DistillConfig, raw, "")


def _merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``: tables merged key by key, everything else replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def is_distill_file(source: str) -> bool:
    """True when the preset / TOML file is a distillation config (``extends`` or a ``[distill]`` table)."""
    raw, _ = _read_toml(source)
    return "extends" in raw or "distill" in raw


def load_distill_config(source: str, overrides: list[str] | None = None) -> DistillConfig:
    """Read a distillation preset or TOML file (resolving ``extends``), apply ``overrides`` and validate."""
    raw, origin = _read_toml(source)
    raw.pop("source", None)
    parent = raw.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise InputError(f"--config {origin}: extends must name a preset or TOML file, got {parent!r}")
        base, _ = _read_toml(parent)
        if "extends" in base or "distill" in base:
            raise InputError(f"--config {origin}: extends {parent!r}, which is itself a distillation config")
        base.pop("source", None)
        base.get("model", {}).pop("transformer", None)
        raw = _merge(base, raw)
    cfg = distill_config_from_dict(apply_overrides(raw, overrides or []))
    cfg.source = origin
    return cfg.validate()


def load_any_config(source: str, overrides: list[str] | None = None) -> TrainConfig:
    """A :class:`DistillConfig` for a distillation file, else a plain :class:`TrainConfig`."""
    if is_distill_file(source):
        return load_distill_config(source, overrides)
    return load_config(source, overrides)
