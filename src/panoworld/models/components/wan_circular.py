"""Circular (seam-wrapped) longitude padding for the Wan VAE (diffusers ``AutoencoderKLWan``), encode and decode.

ERP longitude is periodic: the first and the last pixel column are neighbours across the ±180° meridian. Wan's
convolutions zero-pad the width, so both the encoder and the decoder see a hard edge there and an encode → decode
round trip leaves a visible seam. :func:`set_circular_longitude` switches every width padding of the model to wrapped
columns; height padding (zeros) and time padding (causal zeros / the chunk cache) stay as the architecture has them:

- ``WanCausalConv3d`` (3×3×3, its padding lives in ``_padding``): ``p`` wrapped columns per side;
- ``nn.Conv2d`` with width padding (the 3×3 convolution after the nearest ×2 upsampling): wrapped instead of zeros;
- ``nn.ZeroPad2d`` (the right column before each stride-2 downsampling convolution): column 0 instead of zeros.

Attention, norms and 1×1 convolutions have no padding. Consequence (tested): for a width that is a multiple of 8,
rolling a video by ``8k`` columns rolls its latents by ``k`` columns and vice versa for decoding, exactly up to float
rounding. Spatial tiling splits the width into tiles, which must not wrap, so the two are exclusive.

The hooks are the switch's only change to a module, and :func:`seam_padding` / :func:`is_seam_hook` tell them apart
from anything else, so ``WanVAERunner`` (:mod:`.wan_vae_fast`) can run the same wrapped padding natively.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["circular_longitude_enabled", "is_seam_hook", "seam_padding", "set_circular_longitude", "wrap_columns"]

_HANDLES = "_panoworld_circular_handles"
_SAVED = "_panoworld_saved_padding"
_MARK = "_panoworld_seam_hook"


def wrap_columns(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """(..., W) → (..., left + W + right): the last ``left`` columns prepended, the first ``right`` appended."""
    width = x.shape[-1]
    if left > width or right > width:
        raise ValueError(f"cannot wrap {max(left, right)} columns around a tensor {width} columns wide")
    parts = ([x[..., width - left:]] if left else []) + [x] + ([x[..., :right]] if right else [])
    return torch.cat(parts, dim=-1) if len(parts) > 1 else x


def _causal_conv_hook(left: int, right: int):
    def hook(module, args, kwargs):
        args = list(args)
        args[0] = wrap_columns(args[0], left, right)
        if len(args) > 1 and isinstance(args[1], torch.Tensor):
            args[1] = wrap_columns(args[1], left, right)
        if isinstance(kwargs.get("cache_x"), torch.Tensor):
            kwargs = {**kwargs, "cache_x": wrap_columns(kwargs["cache_x"], left, right)}
        return tuple(args), kwargs

    setattr(hook, _MARK, True)
    return hook


def _input_hook(left: int, right: int):
    def hook(module, args):
        return (wrap_columns(args[0], left, right), *args[1:])

    setattr(hook, _MARK, True)
    return hook


def is_seam_hook(hook) -> bool:
    """Whether ``hook`` (a forward pre-hook) is one of :func:`set_circular_longitude`'s wrapping hooks."""
    return bool(getattr(hook, _MARK, False))


def seam_padding(module: nn.Module) -> tuple | None:
    """The architecture's own padding of a module whose width padding the switch wraps (``_padding`` of a
    ``WanCausalConv3d``, ``padding`` of an ``nn.Conv2d`` or ``nn.ZeroPad2d``), or None when it does not wrap."""
    saved = module.__dict__.get(_SAVED)
    return None if saved is None else tuple(saved[1])


def _wrap_module(module: nn.Module) -> tuple | None:
    """Move ``module``'s own width padding into a wrapping pre-hook; returns (handle, saved padding) or None."""
    if isinstance(module, nn.Conv3d) and hasattr(module, "_padding"):  # WanCausalConv3d: (w, w, h, h, 2t, 0)
        saved = tuple(module._padding)
        left, right = saved[0], saved[1]
        if not (left or right):
            return None
        module._padding = (0, 0, *saved[2:])
        return module.register_forward_pre_hook(_causal_conv_hook(left, right), with_kwargs=True), ("_padding", saved)
    if isinstance(module, nn.Conv2d) and module.padding_mode == "zeros" and not isinstance(module.padding, str):
        saved = tuple(module.padding)
        if not saved[1]:
            return None
        module.padding = (saved[0], 0)
        return module.register_forward_pre_hook(_input_hook(saved[1], saved[1])), ("padding", saved)
    if isinstance(module, nn.ZeroPad2d):  # padding (left, right, top, bottom)
        saved = tuple(module.padding)
        if not (saved[0] or saved[1]):
            return None
        module.padding = (0, 0, *saved[2:])
        return module.register_forward_pre_hook(_input_hook(saved[0], saved[1])), ("padding", saved)
    return None


def circular_longitude_enabled(model: nn.Module) -> bool:
    """Whether :func:`set_circular_longitude` is on for ``model``."""
    return bool(getattr(model, _HANDLES, None))


def set_circular_longitude(model: nn.Module, enabled: bool) -> int:
    """Switch the width padding of every convolution in ``model`` (an ``AutoencoderKLWan``) to wrapped columns
    (``enabled=True``) or back to the architecture's zeros. Idempotent. Returns the number of padded layers
    now wrapping (0 when disabled); a model with none to wrap is a ``ValueError``."""
    handles = getattr(model, _HANDLES, None) or []
    if enabled and handles:
        return len(handles)
    if not enabled:
        for module in model.modules():
            saved = module.__dict__.pop(_SAVED, None)
            if saved is not None:
                setattr(module, saved[0], saved[1])
        for handle in handles:
            handle.remove()
        setattr(model, _HANDLES, [])
        return 0
    for module in model.modules():
        wrapped = _wrap_module(module)
        if wrapped is not None:
            handle, saved = wrapped
            module.__dict__[_SAVED] = saved
            handles.append(handle)
    if not handles:
        raise ValueError(f"{type(model).__name__} has no width-padded convolution to wrap")
    setattr(model, _HANDLES, handles)
    return len(handles)
