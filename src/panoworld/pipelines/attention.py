"""Choice of the scaled-dot-product-attention kernel for the sampling loop (CUDA).

At 49,152 video tokens self-attention is about three quarters of the transformer's FLOPs, so the kernel
matters. ``auto`` leaves PyTorch's choice; ``cudnn`` / ``flash`` / ``efficient`` put that backend first and keep
the others as fallbacks (``torch.nn.attention.sdpa_kernel(..., set_priority=True)``), so an unsupported kernel
never fails a run. The kernels compute the same attention up to float rounding.
"""

from __future__ import annotations

import contextlib

__all__ = ["ATTENTION_BACKENDS", "attention_backend"]

ATTENTION_BACKENDS = ("auto", "cudnn", "flash", "efficient")


def attention_backend(name: str = "auto"):
    """Context manager preferring the named SDPA backend (``auto`` = no preference)."""
    if name not in ATTENTION_BACKENDS:
        raise ValueError(f"attention backend must be one of {', '.join(ATTENTION_BACKENDS)}, got {name!r}")
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
