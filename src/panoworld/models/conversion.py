"""Strict conversion of original Cosmos / PanoWorld DiT checkpoints (``net.*`` layout) to ``PanoWorldTransformer``.

Every source tensor is either renamed (``TOP_LEVEL_MAP`` / ``BLOCK_MAP``) or belongs to one of the training-only
families in ``TRAINING_ONLY_PREFIXES`` / ``TRAINING_ONLY_SUFFIXES``; anything else, any missing target tensor and any
shape mismatch is a ``ConversionError`` naming the keys. The variant (base Cosmos-Predict2.5 vs PanoWorld) and the
network size are read from the tensors. A base checkpoint can be widened to the PanoWorld variant: 64 zero columns
are inserted into the patch embedding for the 16 reference-latent channels (as the reference does) and the new image
branch gets ``v_img = 0``, so the widened network computes exactly what the base network computes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from panoworld.errors import InputError

from .transformer import PanoWorldTransformer, panoworld_2b_config

__all__ = [
    "BLOCK_MAP",
    "TOP_LEVEL_MAP",
    "TRAINING_ONLY_PREFIXES",
    "TRAINING_ONLY_SUFFIXES",
    "ConversionError",
    "ConversionReport",
    "convert_state_dict",
    "detect_config",
    "expected_shapes",
    "load_original_checkpoint",
    "model_from_state_dict",
    "original_key",
    "original_key_shapes",
    "unwrap_checkpoint",
]

TOP_LEVEL_MAP = {
    "x_embedder.proj.1.weight": "patch_embed.proj.weight",
    "t_embedder.1.linear_1.weight": "time_embed.t_embedder.linear_1.weight",
    "t_embedder.1.linear_2.weight": "time_embed.t_embedder.linear_2.weight",
    "t_embedding_norm.weight": "time_embed.norm.weight",
    "crossattn_proj.0.weight": "crossattn_proj.0.weight",
    "crossattn_proj.0.bias": "crossattn_proj.0.bias",
    "img_context_proj.0.weight": "img_context_proj.0.weight",
    "img_context_proj.0.bias": "img_context_proj.0.bias",
    "final_layer.linear.weight": "proj_out.weight",
    "final_layer.adaln_modulation.1.weight": "norm_out.linear_1.weight",
    "final_layer.adaln_modulation.2.weight": "norm_out.linear_2.weight",
}

BLOCK_MAP = {
    "mlp.layer1.weight": "ff.net.0.proj.weight",
    "mlp.layer2.weight": "ff.net.2.weight",
    "cross_attn.k_img.weight": "attn2.k_img.weight",
    "cross_attn.v_img.weight": "attn2.v_img.weight",
    "cross_attn.k_img_norm.weight": "attn2.k_img_norm.weight",
}
for _src, _dst in (("self_attn", "attn1"), ("cross_attn", "attn2")):
    for _a, _b in (("q_proj", "to_q"), ("k_proj", "to_k"), ("v_proj", "to_v"), ("output_proj", "to_out.0"),
                   ("q_norm", "norm_q"), ("k_norm", "norm_k")):  # fmt: skip
        BLOCK_MAP[f"{_src}.{_a}.weight"] = f"{_dst}.{_b}.weight"
for _src, _dst in (("self_attn", "norm1"), ("cross_attn", "norm2"), ("mlp", "norm3")):
    BLOCK_MAP[f"adaln_modulation_{_src}.1.weight"] = f"{_dst}.linear_1.weight"
    BLOCK_MAP[f"adaln_modulation_{_src}.2.weight"] = f"{_dst}.linear_2.weight"

#: Training-only state: RoPE buffers (recomputed), sample/iteration counters, TransformerEngine extra state.
TRAINING_ONLY_PREFIXES = ("pos_embedder.", "accum_")
TRAINING_ONLY_SUFFIXES = ("_extra_state",)
#: Infix added by torch's checkpoint wrapper when its state-dict hooks were bypassed.
_CHECKPOINT_INFIX = "_checkpoint_wrapped_module."
_BLOCK_RE = re.compile(r"^blocks\.(\d+)\.(.+)$")
_INV_TOP = {v: k for k, v in TOP_LEVEL_MAP.items()}
_INV_BLOCK = {v: k for k, v in BLOCK_MAP.items()}
_TARGET_BLOCK_RE = re.compile(r"^transformer_blocks\.(\d+)\.(.+)$")
_MAX_NAMED = 8


class ConversionError(InputError):
    """A checkpoint does not match the PanoWorld / Cosmos-Predict2.5 layout (the message names the keys)."""


@dataclass
class ConversionReport:
    """What a conversion did: source/target variant, dropped training-only keys, widened tensors."""

    source_variant: str
    target_variant: str
    mapped: int = 0
    dropped: list[str] = field(default_factory=list)
    initialised: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "source_variant": self.source_variant,
            "target_variant": self.target_variant,
            "mapped_tensors": self.mapped,
            "dropped_training_only": sorted(self.dropped),
            "initialised_for_widening": sorted(self.initialised),
        }


def _name_keys(keys, what: str) -> str:
    keys = sorted(keys)
    more = f" (+{len(keys) - _MAX_NAMED} more)" if len(keys) > _MAX_NAMED else ""
    return f"{what}: {', '.join(keys[:_MAX_NAMED])}{more}"


def target_key(key: str) -> str | None:
    """Diffusers-style name of an original ``net.*`` key (without ``net.``), or None if it has no mapping."""
    if key in TOP_LEVEL_MAP:
        return TOP_LEVEL_MAP[key]
    m = _BLOCK_RE.match(key)
    if m and m.group(2) in BLOCK_MAP:
        return f"transformer_blocks.{m.group(1)}.{BLOCK_MAP[m.group(2)]}"
    return None


def original_key(key: str) -> str:
    """Original (``net.``-less) name of one of our parameter names; inverse of ``target_key``."""
    if key in _INV_TOP:
        return _INV_TOP[key]
    m = _TARGET_BLOCK_RE.match(key)
    if m and m.group(2) in _INV_BLOCK:
        return f"blocks.{m.group(1)}.{_INV_BLOCK[m.group(2)]}"
    raise KeyError(key)


def is_training_only(key: str) -> bool:
    """True for the known training-only buffers (``pos_embedder.*``, ``accum_*``, ``*_extra_state``)."""
    return key.startswith(TRAINING_ONLY_PREFIXES) or key.endswith(TRAINING_ONLY_SUFFIXES)


def expected_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """Our parameter names -> shapes for ``config``, from a meta-device model (no memory allocated)."""
    with torch.device("meta"):
        model = PanoWorldTransformer(**config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def original_key_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """Original ``net.*`` key -> shape list of a checkpoint with ``config`` (e.g. the list of reference §2.2)."""
    return {"net." + original_key(k): s for k, s in expected_shapes(config).items()}


def load_original_checkpoint(path: str | Path) -> dict:
    """Load a ``.pt``/``.pth`` (``weights_only=True``, memory-mapped when possible) or ``.safetensors`` file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    for mmap in (True, False):  # legacy (non-zip) files cannot be memory-mapped
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError as exc:
            if mmap and ("mmap" in str(exc).lower() or "zip" in str(exc).lower()):
                continue
            raise ConversionError(f"{path}: cannot load ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - pickle errors of foreign files become one clear line
            raise ConversionError(f"{path}: not a weights-only torch checkpoint ({type(exc).__name__}: {exc})") from None
    raise ConversionError(f"{path}: cannot load")


def unwrap_checkpoint(obj, *, ema: bool = True) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Strip the outer ``model`` / ``state_dict`` wrapping and the ``net.`` (or ``net_ema.``) prefix.

    Returns the bare state dict and the keys dropped because they belong to the other weight copy (``net.`` when
    the EMA copy ``net_ema.`` is used, or vice versa). Keys with any other prefix are kept (and then rejected as
    unknown by the strict check).
    """
    for _ in range(3):
        if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = [k for k in ("model", "state_dict", "module") if isinstance(obj.get(k), dict)]
            if not inner:
                break
            obj = obj[inner[0]]
    if not isinstance(obj, dict):
        raise ConversionError(f"checkpoint holds a {type(obj).__name__}, not a state dict")
    keys = list(obj)
    has_net = any(k.startswith("net.") for k in keys)
    has_ema = any(k.startswith("net_ema.") for k in keys)
    prefix = "net_ema." if has_ema and (ema or not has_net) else "net." if has_net else ""
    other = ("net." if prefix == "net_ema." else "net_ema.") if prefix else None
    state, dropped = {}, []
    for key, value in obj.items():
        if other and key.startswith(other):
            dropped.append(key)
            continue
        name = key[len(prefix):] if prefix and key.startswith(prefix) else key
        state[name.replace(_CHECKPOINT_INFIX, "")] = value
    return state, dropped


def detect_config(state: dict[str, torch.Tensor]) -> tuple[dict, str]:
    """Read the network configuration and the variant ("base" or "panoworld") from the tensor shapes."""
    need = ["x_embedder.proj.1.weight", "final_layer.linear.weight", "blocks.0.self_attn.q_norm.weight",
            "blocks.0.mlp.layer1.weight", "blocks.0.cross_attn.k_proj.weight",
            "blocks.0.adaln_modulation_self_attn.1.weight"]  # fmt: skip
    missing = [k for k in need if k not in state]
    if missing:
        raise ConversionError(_name_keys(["net." + k for k in missing], "not a Cosmos DiT checkpoint, missing keys"))
    patch = (1, 2, 2)
    volume = math.prod(patch)
    hidden, embed_in = state["x_embedder.proj.1.weight"].shape
    out_channels = state["final_layer.linear.weight"].shape[0] // volume
    head_dim = state["blocks.0.self_attn.q_norm.weight"].shape[0]
    reference_channels = embed_in // volume - out_channels - 2  # latent | ref | cond_mask | pad_mask
    if embed_in % volume or reference_channels < 0:
        raise ConversionError(f"net.x_embedder.proj.1.weight has {embed_in} input columns; expected 72 or 136")
    layers = 1 + max(int(m.group(1)) for k in state if (m := _BLOCK_RE.match(k)))
    has_image = "img_context_proj.0.weight" in state or any(".k_img." in k for k in state)
    cfg = panoworld_2b_config(
        out_channels=out_channels, in_channels=out_channels + 1, num_attention_heads=hidden // head_dim,
        attention_head_dim=head_dim, num_layers=layers,
        mlp_ratio=state["blocks.0.mlp.layer1.weight"].shape[0] / hidden,
        text_embed_dim=state["blocks.0.cross_attn.k_proj.weight"].shape[1],
        adaln_lora_dim=state["blocks.0.adaln_modulation_self_attn.1.weight"].shape[0],
        patch_size=patch, reference_channels=reference_channels, img_context_dim_in=None,
        use_crossattn_projection="crossattn_proj.0.weight" in state,
    )  # fmt: skip
    if cfg["use_crossattn_projection"]:
        out_dim, in_dim = state["crossattn_proj.0.weight"].shape
        cfg.update(crossattn_proj_in_channels=in_dim, encoder_hidden_states_channels=out_dim)
    if has_image:
        if "img_context_proj.0.weight" not in state:
            raise ConversionError(_name_keys(["net.img_context_proj.0.weight"], "image branch incomplete, missing keys"))
        out_dim, in_dim = state["img_context_proj.0.weight"].shape
        cfg.update(img_context_dim_in=in_dim, img_context_dim_out=out_dim)
    variant = "panoworld" if reference_channels or has_image else "base"
    cfg["rope_type"] = "equirect" if variant == "panoworld" else "linear"
    return cfg, variant


def _check_strict(state: dict, config: dict) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename every key or fail; return (renamed state, dropped training-only keys)."""
    renamed, dropped, unknown = {}, [], []
    for key, value in state.items():
        if is_training_only(key):
            dropped.append(key)
            continue
        name = target_key(key)
        if name is None or not isinstance(value, torch.Tensor):
            unknown.append(key)
        else:
            renamed[name] = value
    expected = expected_shapes(config)
    problems = []
    if unknown:
        problems.append(_name_keys(["net." + k for k in unknown], "unknown keys"))
    missing = [original_key(k) for k in expected if k not in renamed]
    if missing:
        problems.append(_name_keys(["net." + k for k in missing], "missing keys"))
    extra = [original_key(k) for k in renamed if k not in expected]
    if extra:
        problems.append(_name_keys(["net." + k for k in extra], "keys not in the detected architecture"))
    bad = [f"net.{original_key(k)} {tuple(v.shape)} != {expected[k]}" for k, v in renamed.items()
           if k in expected and tuple(v.shape) != expected[k]]  # fmt: skip
    if bad:
        problems.append(_name_keys(bad, "wrong shapes"))
    if problems:
        raise ConversionError("checkpoint does not match the Cosmos/PanoWorld layout; " + "; ".join(problems))
    return renamed, dropped


def _uniform_like(shape, fan_in: int, dtype, generator) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1).mul_(bound).to(dtype)


def _widen_to_panoworld(state: dict, config: dict, report: ConversionReport, seed: int = 0) -> dict:
    """Base -> PanoWorld: zero reference columns; image branch with v_img = 0 (output unchanged)."""
    gen = torch.Generator().manual_seed(seed)
    patch = state["patch_embed.proj.weight"]
    volume = math.prod(config["patch_size"])
    ref_cols = 16 * volume
    if config["reference_channels"] == 0:
        at = config["out_channels"] * volume
        zeros = patch.new_zeros(patch.shape[0], ref_cols)
        state["patch_embed.proj.weight"] = torch.cat([patch[:, :at], zeros, patch[:, at:]], dim=1)
        report.initialised.append("patch_embed.proj.weight[:, reference columns] = 0")
        config["reference_channels"] = 16
    if not config["img_context_dim_in"]:
        dtype = patch.dtype
        hidden = patch.shape[0]
        config.update(img_context_dim_in=1152, img_context_dim_out=hidden)
        state["img_context_proj.0.weight"] = _uniform_like((hidden, 1152), 1152, dtype, gen)
        state["img_context_proj.0.bias"] = _uniform_like((hidden,), 1152, dtype, gen)
        head_dim = config["attention_head_dim"]
        for i in range(config["num_layers"]):
            pre = f"transformer_blocks.{i}.attn2."
            state[pre + "k_img.weight"] = _uniform_like((hidden, hidden), hidden, dtype, gen)
            state[pre + "v_img.weight"] = torch.zeros(hidden, hidden, dtype=dtype)
            state[pre + "k_img_norm.weight"] = torch.ones(head_dim, dtype=dtype)
        report.initialised.append("image branch: img_context_proj, k_img random (seeded); v_img = 0; k_img_norm = 1")
    config["rope_type"] = "equirect"
    return state


def convert_state_dict(
    checkpoint,
    *,
    variant: str = "auto",
    rope_type: str | None = None,
    dtype: torch.dtype | None = None,
    ema: bool = True,
) -> tuple[dict, dict[str, torch.Tensor], ConversionReport]:
    """Original checkpoint object -> (our config, our state dict, report).

    Args:
        checkpoint: what ``load_original_checkpoint`` returned (optionally wrapped in ``model``/``state_dict``,
            keys with or without ``net.`` / ``net_ema.``).
        variant: "auto" (keep the detected variant), "base" or "panoworld" (widens a base checkpoint).
        rope_type: RoPE of the converted model; default "equirect" for PanoWorld, "linear" for base.
        dtype: cast floating tensors to this dtype; None keeps the stored dtype (bit-identical tensors).
        ema: with both ``net_ema.`` and ``net.`` copies present, take the EMA copy.
    """
    if variant not in ("auto", "base", "panoworld"):
        raise InputError(f"variant must be auto, base or panoworld, got {variant!r}")
    state, other_copy = unwrap_checkpoint(checkpoint, ema=ema)
    config, detected = detect_config(state)
    renamed, dropped = _check_strict(state, config)
    report = ConversionReport(detected, detected, mapped=len(renamed), dropped=dropped + other_copy)
    if variant == "base" and detected == "panoworld":
        raise ConversionError("this is a PanoWorld checkpoint; converting it to the base variant would drop weights")
    if variant == "panoworld" and detected == "base":
        renamed = _widen_to_panoworld(renamed, config, report)
        report.target_variant = "panoworld"
    if rope_type is not None:
        config["rope_type"] = rope_type
    if dtype is not None:
        renamed = {k: v.to(dtype) if v.is_floating_point() else v for k, v in renamed.items()}
    return config, renamed, report


def model_from_state_dict(config: dict, state: dict[str, torch.Tensor]) -> PanoWorldTransformer:
    """Build a ``PanoWorldTransformer`` that uses ``state``'s tensors directly (no extra copy, strict)."""
    with torch.device("meta"):
        model = PanoWorldTransformer(**config)
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()
