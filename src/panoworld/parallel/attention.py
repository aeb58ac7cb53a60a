"""Self-attention over a token sequence split across processes: all-to-all (Ulysses) and ring attention.

Every process holds the queries, keys and values of its own contiguous slice of the sequence, shaped
(B, heads, L/N, D) for N processes of the group; both functions return that process's slice of
``softmax(q kᵀ / sqrt(D)) v`` over the *whole* sequence, (B, heads, L/N, D), equal to one process's
``scaled_dot_product_attention`` on the gathered tensors up to float rounding.

* **Ulysses** (all-to-all over heads): one all-to-all turns (B, H, L/N, D) sequence shards into (B, H/N, L, D)
  head shards, each process runs ordinary attention on its heads over the whole sequence, a second all-to-all
  turns the result back. Traffic per process ≈ 4 x its q/k/v/out slice; needs ``heads % N == 0``
  (16 heads of the 2B model: N in 1, 2, 4, 8, 16).
* **Ring**: the queries stay; the key/value slices travel around the ring of processes in N - 1 steps
  (sent to the next process while the current block is computed); the partial outputs are merged with their
  log-sum-exp. Any head count; traffic ≈ 2 (N - 1) x the k/v slice.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F

from panoworld.models.attention import PanoWorldAttnProcessor

__all__ = ["CP_MODES", "attention_with_lse", "ulysses_attention", "ring_attention", "ContextParallelAttnProcessor"]

#: Context-parallel attention variants.
CP_MODES = ("ulysses", "ring")


def attention_with_lse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention and its log-sum-exp: q (B, H, Lq, D), k/v (B, H, Lk, D) -> out (B, H, Lq, D) in q's dtype and
    lse (B, H, Lq) float32 = ``log sum_j exp(q·k_j / sqrt(D))`` (scale 1/sqrt(D), no mask).

    Uses PyTorch's fused kernels that return the log-sum-exp (CPU flash kernel; CUDA flash for fp16/bf16, memory-
    efficient attention otherwise); other devices compute it explicitly.
    """
    length = q.shape[-2]
    if q.device.type == "cpu":
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v)[:2]
    elif q.device.type == "cuda" and q.dtype in (torch.float16, torch.bfloat16):
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention(q, k, v)[:2]
    elif q.device.type == "cuda":
        out, lse = torch.ops.aten._scaled_dot_product_efficient_attention(q, k, v, None, True)[:2]
    else:
        scores = torch.einsum("bhqd,bhkd->bhqk", q.float(), k.float()) * q.shape[-1] ** -0.5
        lse = torch.logsumexp(scores, dim=-1)
        out = torch.einsum("bhqk,bhkd->bhqd", torch.exp(scores - lse[..., None]), v.float()).to(q.dtype)
    return out, lse[..., :length].float()


def _all_to_all(x: torch.Tensor, group) -> torch.Tensor:
    """(N, ...) chunks: chunk j goes to rank j of ``group``; returns (N, ...) with chunk i received from rank i."""
    x = x.contiguous()
    out = torch.empty_like(x)
    dist.all_to_all_single(out, x, group=group)
    return out


def ulysses_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, group=None) -> torch.Tensor:
    """All-to-all context-parallel attention (see the module docstring); (B, H, L/N, D) slices in and out."""
    n = dist.get_world_size(group)
    batch, heads, local, dim = q.shape
    if heads % n:
        raise ValueError(f"Ulysses attention over {n} processes needs the head count ({heads}) to be a multiple of {n}")

    def to_heads(x: torch.Tensor) -> torch.Tensor:  # (B, H, L/N, D) -> (B, H/N, L, D)
        chunks = x.reshape(batch, n, heads // n, local, dim).transpose(0, 1)  # (N dest, B, H/N, L/N, D)
        got = _all_to_all(chunks, group)  # (N source = sequence chunk, B, H/N, L/N, D)
        return got.permute(1, 2, 0, 3, 4).reshape(batch, heads // n, n * local, dim)

    out = F.scaled_dot_product_attention(to_heads(q), to_heads(k), to_heads(v))  # (B, H/N, L, D)
    chunks = out.reshape(batch, heads // n, n, local, dim).permute(2, 0, 1, 3, 4)  # (N dest, B, H/N, L/N, D)
    got = _all_to_all(chunks, group)  # (N source = head group, B, H/N, L/N, D)
    return got.transpose(0, 1).reshape(batch, heads, local, dim)


def ring_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, group=None) -> torch.Tensor:
    """Ring context-parallel attention (see the module docstring); (B, H, L/N, D) slices in and out."""
    n = dist.get_world_size(group)
    if n == 1:
        return F.scaled_dot_product_attention(q, k, v)
    rank = dist.get_rank(group)
    send_to = dist.get_global_rank(group, (rank + 1) % n) if group is not None else (rank + 1) % n
    recv_from = dist.get_global_rank(group, (rank - 1) % n) if group is not None else (rank - 1) % n
    kv = torch.stack([k, v.to(k.dtype)]).contiguous()
    out = lse = None
    for step in range(n):
        pending = None
        if step < n - 1:
            incoming = torch.empty_like(kv)
            ops = [dist.P2POp(dist.isend, kv, send_to, group), dist.P2POp(dist.irecv, incoming, recv_from, group)]
            pending = dist.batch_isend_irecv(ops)
        block_out, block_lse = attention_with_lse(q, kv[0], kv[1].to(q.dtype))
        if out is None:
            out, lse = block_out.float(), block_lse
        else:
            merged = torch.logaddexp(lse, block_lse)
            out = out * torch.exp(lse - merged)[..., None] + block_out.float() * torch.exp(block_lse - merged)[..., None]
            lse = merged
        if pending is not None:
            for request in pending:
                request.wait()
            kv = incoming
    return out.to(q.dtype)


class ContextParallelAttnProcessor(PanoWorldAttnProcessor):
    """``PanoWorldAttnProcessor`` whose self-attention spans the whole sequence split over ``group``.

    Args:
        group: the process group holding the sequence slices (None = the default group).
        mode: "ulysses" or "ring".

    Cross-attention is unchanged (each query token attends to the full text / image context on its own process).
    """

    def __init__(self, group=None, mode: str = "ulysses") -> None:
        if mode not in CP_MODES:
            raise ValueError(f"context-parallel mode must be one of {', '.join(CP_MODES)}, got {mode!r}")
        self.group = group
        self.mode = mode

    def self_attention(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        attend = ulysses_attention if self.mode == "ulysses" else ring_attention
        return attend(query, key, value, self.group)
