"""Shared surface of the component wrappers: ``.device``, ``.dtype``, ``.to(...)`` over one wrapped module."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

__all__ = ["ComponentBase", "first_param", "load_device_kwargs", "quiet_transformers"]


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' load report while loading a sub-model on purpose (e.g. the language model only,
    whose checkpoint also holds a vision tower); missing weights are checked by the caller instead."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def load_device_kwargs(device) -> dict:
    """``from_pretrained`` kwargs that load straight onto ``device`` when ``accelerate`` is installed.

    Without ``accelerate`` transformers refuses ``device_map``; the weights then load on the CPU and the caller
    moves them (``.to(device)``) afterwards.
    """
    if device is None:
        return {}
    try:
        import accelerate  # noqa: F401
    except ImportError:
        return {}
    return {"device_map": str(device)}


def first_param(module: nn.Module) -> torch.Tensor:
    """The first parameter (or buffer) of ``module``; it carries the module's device and dtype."""
    for tensor in module.parameters():
        return tensor
    for tensor in module.buffers():
        return tensor
    raise ValueError(f"{type(module).__name__} has no parameters")


class ComponentBase:
    """Base of TextEncoder / ImageEncoder / VideoVAE; subclasses set ``self.model`` (an ``nn.Module``)."""

    model: nn.Module

    @property
    def device(self) -> torch.device:
        """Device the weights live on."""
        return first_param(self.model).device

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the weights."""
        return first_param(self.model).dtype

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        """Move/cast the weights in place; returns ``self``."""
        self.model.to(device=device, dtype=dtype)
        return self

    def eval(self):
        """Inference mode for the wrapped module (wrappers are built in eval mode); returns ``self``."""
        self.model.eval()
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device}, dtype={self.dtype})"
