"""One fused pass for the Wan VAE's ``SiLU(RMSNorm(x))``: the normalisation over channels, the gain and the
activation that precede every 3×3×3 convolution, written straight into the convolution's input buffer.

diffusers computes it as six memory passes (float32 copy, norm, divide, bf16 copy, two scalings, SiLU); on a
93 × 512 × 1024 video these elementwise passes take about as long as the convolutions. The Triton kernel reads
``x`` once and writes ``y`` once, in channels-last layout (each position's channels are contiguous), computing in
float32 and rounding once at the end: within bf16 rounding of diffusers' result (which rounds after every step).

:func:`norm_silu` uses the kernel for CUDA tensors in channels-last layout when Triton is importable, and
otherwise diffusers' exact sequence of operations (bit-identical to ``WanRMS_norm`` followed by ``SiLU``).
Tests run the kernel on the CPU under ``TRITON_INTERPRET=1``.
"""

from __future__ import annotations

import functools
import os

import torch
import torch.nn.functional as F

__all__ = ["norm_silu", "norm_silu_reference", "triton_available"]

EPS = 1e-12  # F.normalize's


def norm_silu_reference(x: torch.Tensor, gamma: torch.Tensor, scale: float, bias, *, silu: bool = True) -> torch.Tensor:
    """diffusers' ``WanRMS_norm`` (+ ``SiLU``) on (B, C, ...) ``x``: the same operations in the same order."""
    normalized = F.normalize(x.float() if x.dtype in (torch.float16, torch.bfloat16) else x, dim=1).to(x.dtype)
    y = normalized * scale * gamma + bias
    return F.silu(y) if silu else y


@functools.lru_cache(maxsize=1)
def _kernel():
    import triton
    import triton.language as tl

    @triton.jit
    def rms_silu_rows(x_ptr, y_ptr, g_ptr, b_ptr, rows, channels, scale, eps,
                      HAS_BIAS: tl.constexpr, SILU: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
        pid = tl.program_id(0)
        r = pid * BLOCK_R + tl.arange(0, BLOCK_R)
        c = tl.arange(0, BLOCK_C)
        cmask = c < channels
        mask = (r < rows)[:, None] & cmask[None, :]
        offsets = r[:, None].to(tl.int64) * channels + c[None, :]
        x = tl.load(x_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
        inv = 1.0 / tl.maximum(tl.sqrt(tl.sum(x * x, axis=1)), eps)
        g = tl.load(g_ptr + c, mask=cmask, other=0.0).to(tl.float32) * scale
        y = x * inv[:, None] * g[None, :]
        if HAS_BIAS:
            y = y + tl.load(b_ptr + c, mask=cmask, other=0.0).to(tl.float32)[None, :]
        if SILU:
            y = y * tl.sigmoid(y)
        tl.store(y_ptr + offsets, y.to(y_ptr.dtype.element_ty), mask=mask)

    return rms_silu_rows


@functools.lru_cache(maxsize=1)
def triton_available() -> bool:
    """Triton importable (and, outside the interpreter, a CUDA device present)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return os.environ.get("TRITON_INTERPRET") == "1" or torch.cuda.is_available()


def _rows(t: torch.Tensor) -> bool:
    """True when every position's channels are contiguous and the positions of each batch item are dense: a
    (B, C, ...) tensor in channels-last layout, possibly a frame slice of a larger one."""
    return t.dim() >= 3 and t[0].movedim(0, -1).is_contiguous()


def _positions(t: torch.Tensor) -> int:
    n = 1
    for s in t.shape[2:]:
        n *= s
    return n


def norm_silu(x: torch.Tensor, gamma: torch.Tensor, scale: float, bias, *, out: torch.Tensor | None = None,
              silu: bool = True, fused: bool | None = None) -> torch.Tensor:
    """``SiLU(RMSNorm(x))`` over dim 1 of a (B, C, ...) tensor, written into ``out`` when given (same shape).

    Args:
        gamma: (C, 1, ...) or (C,) gain; scale: ``sqrt(C)``; bias: a (C, ...) tensor or 0.0.
        fused: use the Triton kernel (None: when the tensors allow it, see the module docstring).
    """
    interpret = os.environ.get("TRITON_INTERPRET") == "1"
    if fused is None:
        fused = (x.is_cuda or interpret) and triton_available() and _rows(x) and (out is None or _rows(out))
    if not fused:
        y = norm_silu_reference(x, gamma, scale, bias, silu=silu)
        return y if out is None else out.copy_(y)
    if out is None:
        out = torch.empty_like(x, memory_format=torch.preserve_format)
    channels = x.shape[1]
    rows = _positions(x)
    block_c = max(16, 1 << (channels - 1).bit_length())
    block_r = max(1, min(64, 8192 // block_c))
    g = gamma.reshape(-1).contiguous()
    has_bias = torch.is_tensor(bias)
    b = bias.reshape(-1).contiguous() if has_bias else g
    kernel = _kernel()
    grid = ((rows + block_r - 1) // block_r,)
    for i in range(x.shape[0]):
        kernel[grid](x[i], out[i], g, b, rows, channels, float(scale), EPS, HAS_BIAS=has_bias, SILU=silu,
                     BLOCK_R=block_r, BLOCK_C=block_c, num_warps=4)
    return out
