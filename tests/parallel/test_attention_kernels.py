"""The log-sum-exp attention kernels behind ring attention equal plain attention (CPU always; CUDA when present)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from panoworld.parallel.attention import attention_with_lse


def _check(device: str, dtype: torch.dtype, tolerance: float) -> None:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, n, 64, generator=g).to(device, dtype) for n in (96, 80, 80))
    out, lse = attention_with_lse(q, k, v)
    assert out.dtype == dtype and lse.dtype == torch.float32 and lse.shape == (2, 4, 96)
    scores = torch.einsum("bhqd,bhkd->bhqk", q.float(), k.float()) / 8.0
    torch.testing.assert_close(lse, torch.logsumexp(scores, -1), atol=tolerance, rtol=tolerance)
    torch.testing.assert_close(out.float(), F.scaled_dot_product_attention(q.float(), k.float(), v.float()),
                               atol=tolerance, rtol=tolerance)


def test_cpu_kernel_returns_attention_and_its_log_sum_exp():
    _check("cpu", torch.float32, 1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype, tolerance", [(torch.bfloat16, 2e-2), (torch.float32, 1e-4)])
def test_cuda_kernels_return_attention_and_its_log_sum_exp(dtype, tolerance):
    _check("cuda", dtype, tolerance)
