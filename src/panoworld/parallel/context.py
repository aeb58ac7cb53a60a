"""Context parallelism for one transformer call: the video tokens of a clip split across processes.

``ContextParallel`` is the transformer's token-sharding hook (``PanoWorldTransformer.context_parallel``): after the
patch embedding each of the N processes of the group keeps the tokens of T/N consecutive latent frames (tokens
are in (t, h, w) raster order, so that is one contiguous slice) with the matching rows of the per-frame AdaLN
conditioning and of the RoPE tables; the blocks run on the slice (self-attention through
:class:`~panoworld.parallel.attention.ContextParallelAttnProcessor`; cross-attention, MLP and modulation are per
token); the slices are all-gathered before the output projection, so every process returns the full velocity.
Splitting whole latent frames keeps the per-frame modulation local and needs ``T % N == 0`` (24 latent frames of
a 93-frame clip: N in 1, 2, 3, 4, 6, 8).

    with context_parallel(transformer, group, "ulysses"):
        velocity = transformer(...)   # same arguments and result as without, on every process of the group
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.distributed as dist

from panoworld.errors import InputError

from .attention import ContextParallelAttnProcessor

__all__ = ["ContextParallel", "context_parallel"]


class ContextParallel:
    """Token split / gather over ``group`` (None = the default process group); see the module docstring."""

    def __init__(self, group=None) -> None:
        self.group = group
        self.size = dist.get_world_size(group)
        self.rank = dist.get_rank(group)

    def split(self, x: torch.Tensor, temb: torch.Tensor, embedded: torch.Tensor, rope_cos, rope_sin):
        """This process's share: x (B, T*S, D) -> (B, T/N*S, D); temb / embedded (B, T, .) -> (B, T/N, .);
        RoPE tables (T*S, head_dim) -> (T/N*S, head_dim)."""
        frames = temb.shape[1]
        if frames % self.size:
            raise InputError(f"context parallelism over {self.size} processes needs a latent frame count divisible "
                             f"by {self.size}, got {frames} (choose --frames so that (frames - 1) / 4 + 1 is)")
        per = frames // self.size
        tokens = x.shape[1] // frames * per
        rows = slice(self.rank * tokens, (self.rank + 1) * tokens)
        cols = slice(self.rank * per, (self.rank + 1) * per)
        cut = (lambda table: None if table is None else table[rows])  # noqa: E731
        return x[:, rows], temb[:, cols], embedded[:, cols], cut(rope_cos), cut(rope_sin)

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L/N, D) slices of every process -> (B, L, D), in rank order."""
        x = x.contiguous()
        parts = [torch.empty_like(x) for _ in range(self.size)]
        dist.all_gather(parts, x, group=self.group)
        return torch.cat(parts, dim=1)


@contextlib.contextmanager
def context_parallel(transformer, group=None, mode: str = "ulysses") -> Iterator[ContextParallel]:
    """Run ``transformer`` (a ``PanoWorldTransformer``) context-parallel over ``group`` inside the block.

    Sets its ``context_parallel`` hook and gives every block's self-attention one shared
    :class:`ContextParallelAttnProcessor`; both are restored on exit. A group of one process changes nothing.
    """
    processor = ContextParallelAttnProcessor(group, mode)
    shards = ContextParallel(group)
    blocks = list(transformer.transformer_blocks)
    previous = [block.attn1.processor for block in blocks]
    transformer.context_parallel = shards
    for block in blocks:
        block.attn1.set_processor(processor)
    try:
        yield shards
    finally:
        for block, old in zip(blocks, previous):
            block.attn1.set_processor(old)
        transformer.context_parallel = None
