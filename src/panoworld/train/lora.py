"""LoRA through PEFT, and merging it back for export.

``apply_lora`` injects adapters (``peft.inject_adapter_in_model``; rank, alpha, dropout and target module names
from the config) and freezes every base weight except :data:`ALWAYS_TRAINABLE`: the patch embedding (which holds
the new reference-latent input channels), the image branch (``img_context_proj``, ``k_img``, ``v_img``,
``k_img_norm``) and the geometry heads. ``merged_state_dict`` folds ``W + scaling * B @ A`` into plain weights
with the names of the un-adapted model, so an exported checkpoint is an ordinary ``PanoWorldTransformer``.
"""

from __future__ import annotations

import torch
from torch import nn

from panoworld.errors import InputError

from .config import LoraConfig

__all__ = ["ALWAYS_TRAINABLE", "apply_lora", "always_trainable", "merged_state_dict", "lora_layers", "lora_scalings"]

ALWAYS_TRAINABLE = ("patch_embed.", "img_context_proj.", "attn2.k_img.", "attn2.v_img.", "attn2.k_img_norm.",
                    "depth_head.", "descriptor_head.")
_ADAPTER = "default"


def always_trainable(name: str) -> bool:
    """True for parameters that train in full even under LoRA (see :data:`ALWAYS_TRAINABLE`)."""
    return any(name.startswith(p) or f".{p}" in f".{name}" for p in ALWAYS_TRAINABLE)


def apply_lora(model: nn.Module, cfg: LoraConfig) -> nn.Module:
    """Inject LoRA adapters in place and set ``requires_grad`` (adapters + :data:`ALWAYS_TRAINABLE`)."""
    try:
        from peft import LoraConfig as PeftLoraConfig
        from peft import inject_adapter_in_model
    except ImportError:
        raise InputError("lora.enabled needs the peft package: pip install peft (or pip install 'panoworld[train]')"
                         ) from None
    config = PeftLoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                            target_modules=list(cfg.targets), bias="none")
    inject_adapter_in_model(config, model, adapter_name=_ADAPTER)
    if not lora_layers(model):
        raise InputError(f"lora.targets {cfg.targets} matched no module of the transformer")
    for name, param in model.named_parameters():
        param.requires_grad_(".lora_" in name or always_trainable(name))
    return model


def lora_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Name -> PEFT LoRA layer of every adapted module ({} without peft or adapters)."""
    try:
        from peft.tuners.lora import LoraLayer
    except ImportError:
        return {}
    return {name: m for name, m in model.named_modules() if isinstance(m, LoraLayer)}


def lora_scalings(model: nn.Module) -> dict[str, float]:
    """Name -> ``lora_alpha / rank`` of every adapted module."""
    return {name: float(layer.scaling[_ADAPTER]) for name, layer in lora_layers(model).items()}


def merged_state_dict(state: dict[str, torch.Tensor], scalings: dict[str, float]) -> dict[str, torch.Tensor]:
    """A state dict with every LoRA layer folded into its base weight, PEFT names removed (``state`` unchanged).

    Args:
        state: full state dict of an adapted model (e.g. with EMA values for the trained tensors).
        scalings: :func:`lora_scalings` of that model.
    """
    out = dict(state)
    for name, scaling in scalings.items():
        base = out.pop(f"{name}.base_layer.weight")
        a = out.pop(f"{name}.lora_A.{_ADAPTER}.weight").float()
        b = out.pop(f"{name}.lora_B.{_ADAPTER}.weight").float()
        out[f"{name}.weight"] = (base.float() + scaling * (b @ a)).to(base.dtype)
        bias = out.pop(f"{name}.base_layer.bias", None)
        if bias is not None:
            out[f"{name}.bias"] = bias
    return out
