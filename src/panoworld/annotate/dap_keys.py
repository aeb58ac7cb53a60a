"""Strict mapping from the released DAP ``model.pth`` names to :class:`~panoworld.annotate.dap.DAPModel`.

Released names (DAP wraps ``DepthAnythingV2`` as ``core``; its ``pretrained`` is a DINOv3 adapter holding
the hub ViT as ``model`` plus an extra ``norm``)::

    core.pretrained.model.cls_token              (1, 1, D)   -> backbone.embeddings.cls_token
    core.pretrained.model.storage_tokens         (1, R, D)   -> backbone.embeddings.register_tokens
    core.pretrained.model.mask_token             (1, D)      -> backbone.embeddings.mask_token (1, 1, D)
    core.pretrained.model.patch_embed.proj.*                 -> backbone.embeddings.patch_embeddings.*
    core.pretrained.model.rope_embed.periods     (Dh/4,)     -> checked against rope_theta, not stored
    core.pretrained.model.blocks.i.norm1|norm2.*             -> backbone.model.layer.i.norm1|norm2.*
    core.pretrained.model.blocks.i.attn.qkv.weight (3D, D)   -> ...attention.q_proj|k_proj|v_proj.weight
    core.pretrained.model.blocks.i.attn.qkv.bias   (3D,)     -> ...attention.q_proj|v_proj.bias (the key bias
                                                                is masked in DINOv3 and cancels in softmax)
    core.pretrained.model.blocks.i.attn.qkv.bias_mask        -> checked only (buffer)
    core.pretrained.model.blocks.i.attn.proj.*               -> ...attention.o_proj.*
    core.pretrained.model.blocks.i.ls1|ls2.gamma             -> ...layer_scale1|layer_scale2.lambda1
    core.pretrained.model.blocks.i.mlp.fc1|fc2.*             -> ...mlp.up_proj|down_proj.*
    core.pretrained.model.norm.*                             -> backbone.norm.*
    core.pretrained.norm.*                                   -> dap_norm.*
    core.depth_head.* / core.mask_head.*                     -> depth_head.* / mask_head.* (same DPT names)

A leading ``module.`` (DataParallel) is stripped. ``core.pretrained.blocks.*`` (the adapter's second
reference to the same blocks, present when the model was saved with ``state_dict()``) is accepted only
if equal to the ``model.blocks`` tensor. Anything else is an error naming the key.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Mapping

import torch

from .checkpoints import CheckpointKeyError, check_complete, strip_prefix
from .dap import DAPConfig, DAPModel

__all__ = ["dap_released_shapes", "convert_dap_state_dict", "load_dap"]

_VIT = "core.pretrained.model."
_BLOCK = re.compile(r"^blocks\.(\d+)\.(.+)$")
_BLOCK_MAP = {
    "norm1.weight": "norm1.weight", "norm1.bias": "norm1.bias", "norm2.weight": "norm2.weight",
    "norm2.bias": "norm2.bias", "attn.proj.weight": "attention.o_proj.weight",
    "attn.proj.bias": "attention.o_proj.bias",
    "ls1.gamma": "layer_scale1.lambda1", "ls2.gamma": "layer_scale2.lambda1", "mlp.fc1.weight": "mlp.up_proj.weight",
    "mlp.fc1.bias": "mlp.up_proj.bias", "mlp.fc2.weight": "mlp.down_proj.weight", "mlp.fc2.bias": "mlp.down_proj.bias",
}


def _dpt_shapes(prefix: str, c: DAPConfig) -> "OrderedDict[str, tuple]":
    d, f, oc = c.hidden_size, c.features, c.out_channels
    s: OrderedDict[str, tuple] = OrderedDict()
    for i, ch in enumerate(oc):
        s[f"{prefix}.projects.{i}.weight"], s[f"{prefix}.projects.{i}.bias"] = (ch, d, 1, 1), (ch,)
    s[f"{prefix}.resize_layers.0.weight"], s[f"{prefix}.resize_layers.0.bias"] = (oc[0], oc[0], 4, 4), (oc[0],)
    s[f"{prefix}.resize_layers.1.weight"], s[f"{prefix}.resize_layers.1.bias"] = (oc[1], oc[1], 2, 2), (oc[1],)
    s[f"{prefix}.resize_layers.3.weight"], s[f"{prefix}.resize_layers.3.bias"] = (oc[3], oc[3], 3, 3), (oc[3],)
    for i, ch in enumerate(oc, start=1):
        s[f"{prefix}.scratch.layer{i}_rn.weight"] = (f, ch, 3, 3)
    for i in range(1, 5):
        r = f"{prefix}.scratch.refinenet{i}"
        s[f"{r}.out_conv.weight"], s[f"{r}.out_conv.bias"] = (f, f, 1, 1), (f,)
        for u in (1, 2):
            for conv in (1, 2):
                s[f"{r}.resConfUnit{u}.conv{conv}.weight"] = (f, f, 3, 3)
                s[f"{r}.resConfUnit{u}.conv{conv}.bias"] = (f,)
    s[f"{prefix}.scratch.output_conv1.weight"], s[f"{prefix}.scratch.output_conv1.bias"] = (f // 2, f, 3, 3), (f // 2,)
    s[f"{prefix}.scratch.output_conv2.0.weight"], s[f"{prefix}.scratch.output_conv2.0.bias"] = (32, f // 2, 3, 3), (32,)
    s[f"{prefix}.scratch.output_conv2.2.weight"], s[f"{prefix}.scratch.output_conv2.2.bias"] = (1, 32, 1, 1), (1,)
    return s


def dap_released_shapes(config: DAPConfig | None = None) -> "OrderedDict[str, tuple]":
    """Name -> shape of every tensor in DAP's released ``model.pth`` (without aliases or ``module.``)."""
    c = config or DAPConfig()
    d, r, hd = c.hidden_size, c.num_register_tokens, c.hidden_size // c.num_heads
    s: OrderedDict[str, tuple] = OrderedDict()
    s[_VIT + "cls_token"], s[_VIT + "storage_tokens"], s[_VIT + "mask_token"] = (1, 1, d), (1, r, d), (1, d)
    s[_VIT + "patch_embed.proj.weight"] = (d, 3, c.patch_size, c.patch_size)
    s[_VIT + "patch_embed.proj.bias"] = (d,)
    s[_VIT + "rope_embed.periods"] = (hd // 4,)
    for i in range(c.num_layers):
        b = f"{_VIT}blocks.{i}."
        s[b + "norm1.weight"], s[b + "norm1.bias"] = (d,), (d,)
        s[b + "attn.qkv.weight"], s[b + "attn.qkv.bias"], s[b + "attn.qkv.bias_mask"] = (3 * d, d), (3 * d,), (3 * d,)
        s[b + "attn.proj.weight"], s[b + "attn.proj.bias"] = (d, d), (d,)
        s[b + "ls1.gamma"] = (d,)
        s[b + "norm2.weight"], s[b + "norm2.bias"] = (d,), (d,)
        s[b + "mlp.fc1.weight"], s[b + "mlp.fc1.bias"] = (c.intermediate_size, d), (c.intermediate_size,)
        s[b + "mlp.fc2.weight"], s[b + "mlp.fc2.bias"] = (d, c.intermediate_size), (d,)
        s[b + "ls2.gamma"] = (d,)
    s[_VIT + "norm.weight"], s[_VIT + "norm.bias"] = (d,), (d,)
    s["core.pretrained.norm.weight"], s["core.pretrained.norm.bias"] = (d,), (d,)
    s.update(_dpt_shapes("core.depth_head", c))
    s.update(_dpt_shapes("core.mask_head", c))
    return s


def _expected_periods(c: DAPConfig) -> torch.Tensor:
    hd = c.hidden_size // c.num_heads
    return c.rope_theta ** (4 * torch.arange(hd // 4, dtype=torch.float64) / hd)


def convert_dap_state_dict(
    state: Mapping[str, torch.Tensor], config: DAPConfig | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Released names -> ours. Returns (converted state, our name -> released name). Raises on unknown keys."""
    c = config or DAPConfig()
    d = c.hidden_size
    state = strip_prefix(state)
    out: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}

    def put(ours: str, value: torch.Tensor, released: str) -> None:
        out[ours] = value
        origin[ours] = released

    for key, val in state.items():
        if key.startswith("core.depth_head.") or key.startswith("core.mask_head."):
            put(key[len("core.") :], val, key)
        elif key in ("core.pretrained.norm.weight", "core.pretrained.norm.bias"):
            put("dap_norm." + key.rsplit(".", 1)[1], val, key)
        elif key.startswith("core.pretrained.blocks."):
            twin = _VIT + key[len("core.pretrained.") :]
            if twin not in state or not torch.equal(state[twin], val):
                raise CheckpointKeyError(f"DAP checkpoint key {key!r} does not mirror {twin!r}")
        elif key.startswith(_VIT):
            _convert_vit_key(key, key[len(_VIT) :], val, c, d, put)
        else:
            raise CheckpointKeyError(f"DAP checkpoint has unexpected key {key!r}")
    return out, origin


def _convert_vit_key(key: str, name: str, val: torch.Tensor, c: DAPConfig, d: int, put) -> None:
    emb = "backbone.embeddings."
    simple = {"cls_token": emb + "cls_token", "storage_tokens": emb + "register_tokens",
              "patch_embed.proj.weight": emb + "patch_embeddings.weight",
              "patch_embed.proj.bias": emb + "patch_embeddings.bias",
              "norm.weight": "backbone.norm.weight", "norm.bias": "backbone.norm.bias"}
    if name in simple:
        put(simple[name], val, key)
        return
    if name == "mask_token":
        put(emb + "mask_token", val.reshape(1, 1, -1), key)
        return
    if name == "rope_embed.periods":
        if val.shape != _expected_periods(c).shape or not torch.allclose(val.double(), _expected_periods(c), rtol=1e-3):
            raise CheckpointKeyError(f"DAP checkpoint key {key!r} does not match rope_theta={c.rope_theta}")
        return
    m = _BLOCK.match(name)
    if m is None:
        raise CheckpointKeyError(f"DAP checkpoint has unexpected key {key!r}")
    layer, rest = int(m.group(1)), m.group(2)
    if layer >= c.num_layers:
        raise CheckpointKeyError(f"DAP checkpoint has unexpected key {key!r}")
    base = f"backbone.model.layer.{layer}."
    if rest in _BLOCK_MAP:
        put(base + _BLOCK_MAP[rest], val, key)
    elif rest == "attn.qkv.weight":
        q, k, v = val.split(d, dim=0) if val.shape[0] == 3 * d else (val, val, val)
        put(base + "attention.q_proj.weight", q, key)
        put(base + "attention.k_proj.weight", k, key)
        put(base + "attention.v_proj.weight", v, key)
    elif rest == "attn.qkv.bias":
        q, _, v = val.split(d, dim=0) if val.shape[0] == 3 * d else (val, val, val)
        put(base + "attention.q_proj.bias", q, key)
        put(base + "attention.v_proj.bias", v, key)
    elif rest == "attn.qkv.bias_mask":
        if tuple(val.shape) != (3 * d,):
            raise CheckpointKeyError(f"DAP checkpoint key {key!r} has shape {tuple(val.shape)}, expected {(3 * d,)}")
    else:
        raise CheckpointKeyError(f"DAP checkpoint has unexpected key {key!r}")


def load_dap(state: Mapping[str, torch.Tensor], config: DAPConfig | None = None) -> DAPModel:
    """Build a :class:`DAPModel` and load a released state dict strictly (every key mapped, none ignored)."""
    c = config or DAPConfig()
    model = DAPModel(c)
    stripped = strip_prefix(state)
    for released in dap_released_shapes(c):
        if released not in stripped:
            raise CheckpointKeyError(f"DAP checkpoint is missing key {released!r}")
    converted, origin = convert_dap_state_dict(stripped, c)
    check_complete(converted, model, origin, "DAP")
    model.load_state_dict(converted, strict=True)
    return model.eval()
