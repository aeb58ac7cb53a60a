"""Where the models live during a run: ``none`` | ``model`` | ``group`` offloading.

* ``none``: every component stays on the compute device (fastest, most memory).
* ``model``: components wait on the CPU and move to the device only for their phase (text encoding, SigLIP,
  VAE, sampling), like diffusers' ``enable_model_cpu_offload``; peak memory is the largest single component
  plus activations.
* ``group``: as ``model``, and the transformer itself is streamed block by block with diffusers' group
  offloading (``diffusers.hooks.apply_group_offloading``, one block per group, CUDA stream prefetch, the copies
  marked with ``record_stream`` so releasing a block does not wait for the compute stream), so its 2.3 B
  parameters never sit on the device at once.

With ``--compile`` the blocks' ``forward`` is compiled (``PanoWorldTransformer.compile_blocks``) and the offload
hooks wrap it from outside, running eagerly: dynamo never traces them, so the per-block hook state cannot make
the block graph recompile (it used to, past dynamo's recompile limit of 8, in ``group_offloading.py``).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from .config import OFFLOAD_MODES

__all__ = ["OFFLOAD_MODES", "Offloader"]


def _move(component, device: torch.device) -> None:
    """``component.to(device)`` unless it is already there (moving wrappers can be costly or noisy)."""
    current = getattr(component, "device", None)
    if current is not None and torch.device(current) == device:
        return
    component.to(device)


def _module_of(component):
    """The ``nn.Module`` behind a component wrapper (or the module itself)."""
    if isinstance(component, torch.nn.Module):
        return component
    for name in ("model", "module", "vae"):
        inner = getattr(component, name, None)
        if isinstance(inner, torch.nn.Module):
            return inner
    return None


class Offloader:
    """Places components on ``device`` according to ``mode``; use :meth:`use` around each phase.

    Args:
        mode: "none", "model" or "group".
        device: the compute device.
    """

    def __init__(self, mode: str, device: torch.device | str):
        if mode not in OFFLOAD_MODES:
            raise ValueError(f"offload mode must be one of {', '.join(OFFLOAD_MODES)}, got {mode!r}")
        self.mode = mode
        self.device = torch.device(device)
        self._grouped: set[int] = set()

    @property
    def active(self) -> bool:
        """True when components are moved off the device between phases."""
        return self.mode != "none" and self.device.type != "cpu"

    def place(self, component, *, transformer: bool = False):
        """Initial placement: on the device (mode none) or the CPU; group-offload hooks for transformers."""
        if component is None:
            return None
        if not self.active:
            _move(component, self.device)
            return component
        if transformer and self.mode == "group":
            module = _module_of(component)
            from diffusers.hooks import apply_group_offloading

            apply_group_offloading(
                module, onload_device=self.device, offload_device=torch.device("cpu"), offload_type="block_level",
                num_blocks_per_group=1, use_stream=self.device.type == "cuda",
                record_stream=self.device.type == "cuda",
            )
            self._grouped.add(id(component))
            return component
        _move(component, torch.device("cpu"))
        return component

    @contextlib.contextmanager
    def use(self, *components) -> Iterator[None]:
        """Bring ``components`` to the device for the block (and send them back to the CPU after it)."""
        moved = [c for c in components if c is not None and self.active and id(c) not in self._grouped]
        for component in moved:
            _move(component, self.device)
        try:
            yield
        finally:
            for component in moved:
                _move(component, torch.device("cpu"))
            if moved and self.device.type == "cuda":
                torch.cuda.empty_cache()
