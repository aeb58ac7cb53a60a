"""Step-cache reuse (opt-in ``--fast cache``): skip the transformer's later blocks on evaluations where the first
block's output barely changed since the last full evaluation (the First-Block-Cache rule).

Per network call, with ``x0`` the input of block 0 and ``x1`` its output:

* ``d = x1 - x0`` is the first block's residual; ``change = mean|d - d_ref| / mean|d_ref|`` compares it with
  ``d_ref``, the residual at the last *full* evaluation of the same call slot (so the error cannot drift through
  a chain of reuses);
* a reuse returns ``x1 + R_ref`` as the last block's output, where ``R_ref = x_L - x1`` was the rest of the
  network's residual at that full evaluation; blocks 1 … L-1 do not run. The output projection runs as usual;
* a call is reused only when ``change < threshold``, it is past the first ``warmup`` evaluations, it is not the
  schedule's last evaluation (the final clean estimate and the geometry heads always see the full network), the
  caller did not force a full call, and fewer than ``max_reuse`` evaluations in a row were reused. With
  ``threshold = 0`` nothing is ever reused: the forward is the plain one, bit for bit.

Call slots keep separate references: ``"batched"`` (both CFG branches in one forward), ``"cond"`` and
``"uncond"`` (sequential CFG). The caller announces every network call with :meth:`StepCache.begin`; a call that
was not announced runs the full network and leaves the cache untouched. ``reuse`` replaces the rule with a fixed
set of evaluation indices (benchmarks use it to time a known number of reuses on random weights).

Attach with ``with cache.attach(transformer): ...``: the transformer's ``transformer_blocks`` list is swapped for
thin wrappers around the same block modules for the duration (compiled blocks, offload hooks and weights stay as
they are) and restored afterwards.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import torch
from torch import nn

__all__ = ["StepCache", "check_fast", "fast_paths"]


@dataclass
class _Slot:
    residual_first: torch.Tensor | None = None  # d_ref
    residual_rest: torch.Tensor | None = None  # R_ref
    in_a_row: int = 0


@dataclass
class _Call:
    slot: str
    index: int
    allowed: bool
    reuse: bool = False
    x1: torch.Tensor | None = None
    residual_first: torch.Tensor | None = None


@dataclass
class StepCache:
    """First-block residual cache for one sampling run (create a new one per run).

    Attributes:
        threshold: relative change of the first block's residual below which a call reuses the cached rest.
        warmup: evaluations at the start that always run in full.
        max_reuse: most consecutive reused evaluations per slot.
        reuse: fixed evaluation indices to reuse instead of the rule (still never the warm-up, the last evaluation
            or a forced call), or None.
        reused: per slot, the evaluation indices that were reused (filled while sampling).
        changes: per slot, (evaluation index, relative change) of every decided call.
    """

    threshold: float
    warmup: int = 4
    max_reuse: int = 3
    reuse: Iterable[int] | None = None
    reused: dict[str, list[int]] = field(default_factory=dict)
    changes: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.threshold < 1:
            raise ValueError(f"step-cache threshold must be in [0, 1), got {self.threshold}")
        if self.warmup < 0 or self.max_reuse < 0:
            raise ValueError("warmup and max_reuse must be >= 0")
        self.reuse = None if self.reuse is None else frozenset(int(i) for i in self.reuse)
        self._slots: dict[str, _Slot] = {}
        self._call: _Call | None = None

    # ------------------------------------------------------------------ caller side
    def begin(self, index: int, num_evals: int, slot: str = "batched", *, force_full: bool = False) -> None:
        """Announce the next network call: evaluation ``index`` of ``num_evals``, in call slot ``slot``."""
        allowed = not force_full and self.warmup <= index < num_evals - 1
        self._call = _Call(slot=slot, index=int(index), allowed=allowed)

    @property
    def num_reused(self) -> int:
        """Network calls reused so far (all slots)."""
        return sum(len(v) for v in self.reused.values())

    @contextlib.contextmanager
    def attach(self, transformer: nn.Module) -> Iterator["StepCache"]:
        """Route ``transformer.transformer_blocks`` through the cache for the ``with`` block."""
        blocks = getattr(transformer, "transformer_blocks", None)
        if blocks is None or len(blocks) < 2:  # nothing to skip
            yield self
            return
        wrapped = nn.ModuleList(
            [_FirstBlock(blocks[0], self)]
            + [_LaterBlock(block, self, last=i == len(blocks) - 1) for i, block in enumerate(blocks) if i > 0]
        )
        transformer._modules["transformer_blocks"] = wrapped
        try:
            yield self
        finally:
            transformer._modules["transformer_blocks"] = blocks
            self._call = None

    # ------------------------------------------------------------------ block side
    def _after_first(self, x0: torch.Tensor, x1: torch.Tensor) -> None:
        call = self._call
        if call is None:
            return
        slot = self._slots.setdefault(call.slot, _Slot())
        d = x1 - x0
        call.x1, call.residual_first = x1, d
        ready = (call.allowed and slot.residual_rest is not None and slot.in_a_row < self.max_reuse
                 and slot.residual_rest.shape == x1.shape and slot.residual_first.shape == d.shape)
        if ready:
            ref = slot.residual_first
            change = float((d - ref).abs().mean(dtype=torch.float32) / ref.abs().mean(dtype=torch.float32).clamp_min(
                1e-12))
            self.changes.setdefault(call.slot, []).append((call.index, change))
            call.reuse = call.index in self.reuse if self.reuse is not None else change < self.threshold
        if call.reuse:
            slot.in_a_row += 1
            self.reused.setdefault(call.slot, []).append(call.index)
        else:
            slot.in_a_row = 0

    def _reusing(self) -> bool:
        return self._call is not None and self._call.reuse

    def _reused_output(self, x1: torch.Tensor) -> torch.Tensor:
        call = self._call
        self._call = None
        return x1 + self._slots[call.slot].residual_rest

    def _after_last(self, x_last: torch.Tensor) -> None:
        call = self._call
        if call is None or call.x1 is None:
            return
        slot = self._slots[call.slot]
        slot.residual_first, slot.residual_rest = call.residual_first, x_last - call.x1
        self._call = None


class _FirstBlock(nn.Module):
    """Block 0: runs as usual, then lets the cache decide about the rest of this call."""

    def __init__(self, block: nn.Module, cache: StepCache):
        super().__init__()
        self.block = block
        self._cache = [cache]  # a list, so the cache is not registered as a submodule

    def forward(self, hidden_states, *args, **kwargs):
        out = self.block(hidden_states, *args, **kwargs)
        self._cache[0]._after_first(hidden_states, out)
        return out


class _LaterBlock(nn.Module):
    """Blocks 1 … L-1: skipped on a reused call (the last one then returns ``x1 + R_ref``)."""

    def __init__(self, block: nn.Module, cache: StepCache, *, last: bool):
        super().__init__()
        self.block = block
        self.last = last
        self._cache = [cache]

    def forward(self, hidden_states, *args, **kwargs):
        cache = self._cache[0]
        if cache._reusing():
            return cache._reused_output(hidden_states) if self.last else hidden_states
        out = self.block(hidden_states, *args, **kwargs)
        if self.last:
            cache._after_last(out)
        return out


def check_fast(config, device: torch.device) -> None:
    """Refuse (``InputError``, one line) fast switches the device cannot run, before any work."""
    from panoworld.errors import InputError
    from panoworld.models.fp8 import fp8_supported

    if config.fp8 and not fp8_supported(device):
        raise InputError(f"--fast fp8 needs a CUDA GPU of compute capability 8.9 or newer (Ada, Hopper); {device} "
                         "has no FP8 matmul")


@contextlib.contextmanager
def fast_paths(transformer: nn.Module, cache: StepCache | None, fp8: bool) -> Iterator[None]:
    """The opt-in approximations of one sampling run around ``transformer``: the step cache (None = off) and
    FP8 matmuls."""
    from panoworld.models.fp8 import fp8_matmuls

    with contextlib.ExitStack() as stack:
        stack.enter_context(fp8_matmuls(transformer, fp8))  # first: it finds the layers in the plain blocks
        if cache is not None:
            stack.enter_context(cache.attach(transformer))
        yield
