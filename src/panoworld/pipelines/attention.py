"""Choice of the scaled-dot-product-attention kernel for the sampling loop (CUDA).

At 49,152 video tokens self-attention is about three quarters of the transformer's FLOPs, so the kernel
matters. ``cudnn`` / ``flash`` / ``efficient`` put that backend first and keep the others as fallbacks
(``torch.nn.attention.sdpa_kernel(..., set_priority=True)``), so an unsupported kernel never fails a run.
``auto`` puts cuDNN first on Hopper and newer GPUs (compute capability >= 9.0) and otherwise leaves PyTorch's
order: PyTorch tries FlashAttention-2 first, which on an H200 takes 1.73x as long as cuDNN at this size
(3.11 s vs 1.80 s for the 28 self-attentions of a guided step; docs/benchmarks.md). The kernels compute the
same attention up to float rounding.
"""

from __future__ import annotations

import contextlib

import torch

from .config import ATTENTION_BACKENDS

__all__ = ["ATTENTION_BACKENDS", "attention_backend", "resolve_attention_backend"]

#: GPUs from this compute capability on get cuDNN attention first under ``auto``.
CUDNN_FIRST_CAPABILITY = (9, 0)


def resolve_attention_backend(name: str, device: torch.device | str | None = None) -> str:
    """The backend ``name`` stands for on ``device``: ``auto`` becomes ``cudnn`` on CUDA GPUs of compute
    capability >= 9.0, else stays ``auto`` (PyTorch's own order); other names are returned as they are."""
    if name not in ATTENTION_BACKENDS:
        raise ValueError(f"attention backend must be one of {', '.join(ATTENTION_BACKENDS)}, got {name!r}")
    if name != "auto" or device is None:
        return name
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return name
    return "cudnn" if torch.cuda.get_device_capability(device) >= CUDNN_FIRST_CAPABILITY else name


def attention_backend(name: str = "auto", device: torch.device | str | None = None):
    """Context manager preferring the SDPA backend ``name`` on ``device`` (see :func:`resolve_attention_backend`)."""
    name = resolve_attention_backend(name, device)
    if name == "auto":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    order = {
        "cudnn": SDPBackend.CUDNN_ATTENTION,
        "flash": SDPBackend.FLASH_ATTENTION,
        "efficient": SDPBackend.EFFICIENT_ATTENTION,
    }
    first = order[name]
    rest = [b for b in (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION)
            if b != first]
    return sdpa_kernel([first, *rest, SDPBackend.MATH], set_priority=True)
