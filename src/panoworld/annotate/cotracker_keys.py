"""Strict loading of CoTracker3's released ``scaled_offline.pth`` into :class:`CoTracker3Offline`.

The mapping is the identity on names: our modules reproduce the public CoTracker3 layout
(``fnet.*`` BasicEncoder, ``updateformer.*`` with ``time_blocks``, ``space_virtual_blocks``,
``space_point2virtual_blocks``, ``space_virtual2point_blocks``, ``virual_tracks`` (sic),
``input_transform``, ``flow_head``, ``vis_conf_head``; ``corr_mlp.fc1/fc2``; the ``time_emb`` buffer).
A checkpoint wrapped as ``{"model": ...}`` is unwrapped and ``module.`` is stripped. Every released key
must be present with its shape and no other key is accepted; errors name the key.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Mapping

import torch

from .checkpoints import check_complete, strip_prefix
from .cotracker import CoTracker3Offline, CoTrackerConfig

__all__ = ["cotracker_released_shapes", "load_cotracker"]


def _linear(s: OrderedDict, name: str, out_f: int, in_f: int) -> None:
    s[f"{name}.weight"], s[f"{name}.bias"] = (out_f, in_f), (out_f,)


def _conv(s: OrderedDict, name: str, out_c: int, in_c: int, k: int) -> None:
    s[f"{name}.weight"], s[f"{name}.bias"] = (out_c, in_c, k, k), (out_c,)


def _attn_block(s: OrderedDict, name: str, h: int, cross: bool) -> None:
    attn = f"{name}.cross_attn" if cross else f"{name}.attn"
    if cross:
        s[f"{name}.norm_context.weight"], s[f"{name}.norm_context.bias"] = (h,), (h,)
    _linear(s, f"{attn}.to_q", h, h)
    _linear(s, f"{attn}.to_kv", 2 * h, h)
    _linear(s, f"{attn}.to_out", h, h)
    _linear(s, f"{name}.mlp.fc1", 4 * h, h)
    _linear(s, f"{name}.mlp.fc2", h, 4 * h)


def cotracker_released_shapes(config: CoTrackerConfig | None = None) -> "OrderedDict[str, tuple]":
    """Name -> shape of every tensor of the public CoTracker3 offline checkpoint (for ``config``)."""
    c = config or CoTrackerConfig()
    s: OrderedDict[str, tuple] = OrderedDict()
    s["time_emb"] = (1, c.window_len, c.input_dim)
    lat = c.latent_dim
    _conv(s, "fnet.conv1", lat // 2, 3, 7)
    dims = [lat // 2, lat // 4 * 3, lat, lat]
    in_planes = lat // 2
    for li, dim in enumerate(dims, start=1):
        _conv(s, f"fnet.layer{li}.0.conv1", dim, in_planes, 3)
        _conv(s, f"fnet.layer{li}.0.conv2", dim, dim, 3)
        if li > 1:
            _conv(s, f"fnet.layer{li}.0.downsample.0", dim, in_planes, 1)
        _conv(s, f"fnet.layer{li}.1.conv1", dim, dim, 3)
        _conv(s, f"fnet.layer{li}.1.conv2", dim, dim, 3)
        in_planes = dim
    _conv(s, "fnet.conv2", 2 * lat, sum(dims), 3)
    _conv(s, "fnet.conv3", lat, 2 * lat, 1)
    h = c.hidden_size
    s["updateformer.virual_tracks"] = (1, c.num_virtual_tracks, 1, h)
    _linear(s, "updateformer.input_transform", h, c.input_dim)
    _linear(s, "updateformer.flow_head", 2, h)
    _linear(s, "updateformer.vis_conf_head", 2, h)
    for i in range(c.time_depth):
        _attn_block(s, f"updateformer.time_blocks.{i}", h, cross=False)
    for i in range(c.space_depth):
        _attn_block(s, f"updateformer.space_virtual_blocks.{i}", h, cross=False)
    for i in range(c.space_depth):
        _attn_block(s, f"updateformer.space_point2virtual_blocks.{i}", h, cross=True)
    for i in range(c.space_depth):
        _attn_block(s, f"updateformer.space_virtual2point_blocks.{i}", h, cross=True)
    r = 2 * c.corr_radius + 1
    _linear(s, "corr_mlp.fc1", c.corr_hidden, r**4)
    _linear(s, "corr_mlp.fc2", c.corr_out, c.corr_hidden)
    return s


def load_cotracker(state: Mapping[str, torch.Tensor], config: CoTrackerConfig | None = None) -> CoTracker3Offline:
    """Build :class:`CoTracker3Offline` and load a released state dict strictly."""
    c = config or CoTrackerConfig()
    model = CoTracker3Offline(c)
    converted = strip_prefix(state)
    check_complete(converted, model, {}, "CoTracker3")
    model.load_state_dict(converted, strict=True)
    return model.eval()
