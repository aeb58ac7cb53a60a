"""Build the transformer a run trains: from scratch or a checkpoint (optionally widened), plus heads and LoRA.

``model.init``:

- ``"scratch"``: ``PanoWorldTransformer(**model.transformer)`` initialised from ``run.seed``;
- a reference (path, hub id or ``component:<name>``, e.g. ``component:panoworld`` for the released weights, or a
  previous run's checkpoint folder): loaded strictly by ``panoworld.models.load_transformer`` (original
  ``net.*`` checkpoints are converted in memory); ``model.widen`` turns a base Cosmos-Predict2.5 network into the
  PanoWorld variant exactly as ``panoworld convert --variant panoworld`` does (zero reference columns,
  ``v_img = 0``: the widened network computes what the base computed).

``model.transformer`` entries override the loaded config (e.g. ``rope_type``). The geometry heads are then added
(new, randomly initialised; every other weight must load: the only keys allowed to be missing are the heads').
Parameters that train: everything (full fine-tuning) or LoRA adapters plus ``lora.ALWAYS_TRAINABLE``; a head whose
loss weight is 0 never trains (``requires_grad=False``), so it stays exactly as initialised.
"""

from __future__ import annotations

from pathlib import Path

import torch

from panoworld.errors import InputError

from .config import TrainConfig
from .objective import head_usage

__all__ = ["HEAD_CONFIG_KEYS", "build_transformer", "prepare_for_training", "resolve_init", "export_config"]

HEAD_CONFIG_KEYS = ("depth_head_block", "descriptor_head_block", "head_hidden_dim", "descriptor_dim")


def resolve_init(reference: str) -> str:
    """Local path of a transformer reference (``component:<name>`` resolved under the weights root)."""
    from panoworld.formats.model_folder import component_name
    from panoworld.models.components import resolve_component

    name = component_name(reference)
    if name is not None:
        return resolve_component(name)
    path = Path(reference).expanduser()
    if not path.exists():
        raise InputError(f"model.init: nothing at {reference!r} (a path, component:<name> or \"scratch\")")
    return str(path)


def _widened(model) -> tuple[dict, dict]:
    from panoworld.models.conversion import ConversionReport, _widen_to_panoworld

    config = dict(model.config)
    state = dict(model.state_dict())
    report = ConversionReport("base", "panoworld")
    state = _widen_to_panoworld(state, config, report)
    return {k: v for k, v in config.items() if not k.startswith("_")}, state


def _base(cfg: TrainConfig) -> tuple[dict, dict | None]:
    """(config, state dict or None for scratch) before heads."""
    from panoworld.models import load_transformer

    m = cfg.model
    if m.init == "scratch":
        return dict(m.transformer), None
    model = load_transformer(resolve_init(m.init), dtype=torch.float32)
    if m.widen:
        if model.config.reference_channels and model.config.img_context_dim_in:
            raise InputError("model.widen: the checkpoint already is the PanoWorld variant; set model.widen=false")
        config, state = _widened(model)
    else:
        config = {k: v for k, v in dict(model.config).items() if not k.startswith("_")}
        state = dict(model.state_dict())
    config.update(m.transformer)
    return config, state


def export_config(config: dict, trained_heads: dict[str, bool]) -> dict:
    """Transformer config of an exported checkpoint: heads that were not trained are left out."""
    out = dict(config)
    if not trained_heads.get("depth_head"):
        out["depth_head_block"] = None
    if not trained_heads.get("descriptor_head"):
        out["descriptor_head_block"] = None
    return out


def build_transformer(cfg: TrainConfig):
    """The ``PanoWorldTransformer`` to train (float32, CPU, train mode, LoRA applied, requires_grad set)."""
    from panoworld.models import PanoWorldTransformer

    m = cfg.model
    config, state = _base(cfg)
    config.update({key: getattr(m, key) for key in HEAD_CONFIG_KEYS})
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.run.seed)
            model = PanoWorldTransformer(**config)
    except TypeError as exc:
        raise InputError(f"model.transformer: {exc}") from None
    if state is not None:
        result = model.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith(("depth_head.", "descriptor_head."))]
        if missing or result.unexpected_keys:
            raise InputError(f"model.init {m.init}: weights do not fit the configured transformer "
                             f"(missing {missing[:3]}, unexpected {result.unexpected_keys[:3]})")
    return prepare_for_training(model, cfg)


def prepare_for_training(model, cfg: TrainConfig):
    """float32, train mode, activation checkpointing, LoRA and ``requires_grad`` as the config says (in place)."""
    model = model.float().train()
    if cfg.model.gradient_checkpointing:
        model.enable_gradient_checkpointing()
    if cfg.lora.enabled:
        from .lora import apply_lora

        with torch.random.fork_rng(devices=[]):  # the same adapters in every process (FSDP does not broadcast)
            torch.manual_seed(cfg.run.seed + 1)
            apply_lora(model, cfg.lora)
    for head, used in head_usage(cfg).items():
        if hasattr(model, head) and not used:
            getattr(model, head).requires_grad_(False)
    return model
