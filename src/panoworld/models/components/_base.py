"""Shared surface of the component wrappers: ``.device``, ``.dtype``, ``.to(...)`` over one wrapped module."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ComponentBase", "first_param"]


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
