"""FP8 matmuls for the transformer blocks (opt-in ``--fast fp8``): e4m3 operands with per-row scales, bf16 output.

``fp8_linear(x, W)`` computes ``x Wᵀ`` as ``torch._scaled_mm(q(x), q(W)ᵀ, s_x, s_W)``: every row of ``x`` (a token)
and every row of ``W`` (an output channel) is scaled by its own ``amax / 448`` and rounded to float8 e4m3, the
product accumulates in float32 inside the kernel and is written in the activation dtype (bf16 on the GPU). The
weights are quantized on the fly at every call (a read of the bf16 weights, ~3 ms per 2B forward on an H100), so
nothing extra is stored and every offload mode moves exactly the tensors it always did.

Which layers: the token-count-sized matmuls of each block (self-attention q/k/v/out, the cross-attention query
and output, the two MLP layers): ≈ 98 % of the linear FLOPs. The text and image key/value projections (512 and 729
tokens), the AdaLN modulation (float32) and everything outside the blocks stay as they are. Attention itself stays
bf16 (PyTorch has no FP8 attention kernel).

Use :func:`fp8_matmuls` around sampling: it turns the target layers into :class:`Fp8Linear` (the same module
objects and parameters, a subclass with another forward) once, and switches them on for the ``with`` block only.
Hardware: CUDA GPUs of compute capability 8.9 or newer (Ada, Hopper, Blackwell); PyTorch's CPU ``_scaled_mm`` runs
the same arithmetic (slowly) so the CPU tests check the numerics.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FP8_DTYPE", "FP8_TARGETS", "Fp8Linear", "fp8_linear", "fp8_matmuls", "fp8_supported", "quantize_rows"]

FP8_DTYPE = torch.float8_e4m3fn
FP8_MAX = 448.0
#: Linear layers (names relative to a transformer block) that run in FP8.
FP8_TARGETS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_out.0",
               "ff.net.0.proj", "ff.net.2")
#: CUDA compute capability from which ``torch._scaled_mm`` has FP8 kernels.
FP8_CAPABILITY = (8, 9)


def fp8_supported(device: torch.device | str) -> bool:
    """True where FP8 matmuls run: CUDA GPUs of compute capability >= 8.9, and the CPU (emulated speed)."""
    device = torch.device(device)
    if not hasattr(torch, "_scaled_mm"):
        return False
    if device.type == "cpu":
        return True
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_capability(device) >= FP8_CAPABILITY
    return False


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(M, K) -> (float8 e4m3 (M, K), float32 (M, 1) scales) with ``x ≈ q * scale`` row by row."""
    xf = x.float()
    scale = xf.abs().amax(dim=-1, keepdim=True).clamp_min(1e-12) / FP8_MAX
    q = (xf / scale).clamp(-FP8_MAX, FP8_MAX).to(FP8_DTYPE)
    return q, scale


def _fits(k: int, n: int) -> bool:
    return k % 16 == 0 and n % 16 == 0


def fp8_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` with FP8 operands (per-row scales), result in ``x.dtype``.

    Args:
        x: (..., K) activations (bf16 on the GPU).
        weight: (N, K). bias: (N,) or None (added in the output dtype).
    Shapes with K or N not a multiple of 16 fall back to ``F.linear``.
    """
    n, k = weight.shape
    if not _fits(k, n):
        return F.linear(x, weight, bias)
    lead = x.shape[:-1]
    qx, sx = quantize_rows(x.reshape(-1, k))
    qw, sw = quantize_rows(weight)
    out_dtype = x.dtype if x.dtype in (torch.bfloat16, torch.float16) else torch.bfloat16
    out = torch._scaled_mm(qx, qw.t(), scale_a=sx, scale_b=sw.t(), out_dtype=out_dtype)
    out = out.to(x.dtype)
    if bias is not None:
        out = out + bias.to(out.dtype)
    return out.reshape(*lead, n)


class Fp8Linear(nn.Linear):
    """``nn.Linear`` whose forward uses :func:`fp8_linear` while ``fp8_active`` is True (same parameters)."""

    fp8_active = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fp8_active:
            return fp8_linear(x, self.weight, self.bias)
        return F.linear(x, self.weight, self.bias)


def _targets(transformer: nn.Module) -> list[nn.Linear]:
    found = []
    for block in getattr(transformer, "transformer_blocks", []):
        for name in FP8_TARGETS:
            module = block.get_submodule(name) if _has(block, name) else None
            if isinstance(module, nn.Linear):
                found.append(module)
    return found


def _has(module: nn.Module, name: str) -> bool:
    try:
        module.get_submodule(name)
    except AttributeError:
        return False
    return True


@contextlib.contextmanager
def fp8_matmuls(transformer: nn.Module, active: bool = True) -> Iterator[int]:
    """Run the target layers of ``transformer``'s blocks in FP8 inside the ``with`` block (yields their count;
    ``active=False`` changes nothing and yields 0)."""
    if not active:
        yield 0
        return
    layers = _targets(transformer)
    for layer in layers:
        if type(layer) is nn.Linear:
            layer.__class__ = Fp8Linear  # same object and parameters; only the forward differs
        layer.fp8_active = True
    try:
        yield len(layers)
    finally:
        for layer in layers:
            layer.fp8_active = False
