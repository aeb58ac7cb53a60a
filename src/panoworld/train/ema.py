"""fp32 exponential moving average of the trained parameters (the weights every checkpoint exports).

After the n-th optimizer step: ``shadow <- shadow + (1 - d_n) (param - shadow)`` with
``d_n = min(decay, (1 + n) / (10 + n))`` when ``warmup`` (so early EMA weights follow the model), else ``decay``.
Shadows live on the parameters' device (DTensor shards under FSDP).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EMA"]


class EMA:
    """EMA of named parameters.

    Args:
        params: (name, parameter) pairs to follow.
        decay: the long-run decay in (0, 1).
        warmup: use ``min(decay, (1 + n) / (10 + n))``.
    """

    def __init__(self, params: list[tuple[str, nn.Parameter]], decay: float, warmup: bool = True):
        self.params = dict(params)
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.updates = 0
        self.shadow = {n: p.detach().float().clone() for n, p in self.params.items()}

    def current_decay(self) -> float:
        """Decay used by the next update."""
        n = self.updates
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self) -> None:
        """Move every shadow towards its parameter."""
        weight = 1.0 - self.current_decay()
        for name, param in self.params.items():
            self.shadow[name].lerp_(param.detach().float(), weight)
        self.updates += 1

    def state_dict(self) -> dict:
        """{"updates": int, "shadow": {name: tensor}}."""
        return {"updates": self.updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict, assign=None) -> None:
        """Restore shadows into the existing tensors (devices and shardings are kept); ``assign(dst, value)``
        overrides the copy (e.g. to re-shard a full tensor)."""
        missing = set(self.shadow) - set(state["shadow"])
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)[:3]}")
        with torch.no_grad():
            for name, tensor in self.shadow.items():
                if assign is not None:
                    assign(tensor, state["shadow"][name])
                else:
                    tensor.copy_(state["shadow"][name])
        self.updates = int(state["updates"])
