"""The per-step objective, pluggable: flow matching with depth / track supervision now, distillation later.

An :class:`Objective` owns its networks and says which parameters each optimizer trains and which optimizers step
at a given step; the trainer owns everything around it (distributed wrapping, accumulation, clipping, EMA,
checkpoints, logging). The distillation objective (``distill_objective``) returns ``{"student": ..., "critic":
...}`` from :meth:`Objective.networks`, one optimizer per network, and alternates them in :meth:`Objective.updates`.

:class:`FlowMatchingObjective` (every formula in docs/train.md)::

    x_t = (1 - t) x0 + t eps,   x_in = m clean + (1 - m) x_t,   v = eps - x0
    L = L_flow + depth_weight L_depth + track_weight L_track + rigidity_weight L_rigid

with ``m`` the clean mask (Round 1: the latent FOV mask and the FOV guide; Round 2: latent frame 0), the network
input ``[x_in | reference]``, ``m`` as the mask channel, the conditional-frame timestep on clean frames, SigLIP
tokens only on rows that keep them; losses are per sample and summed / ``normaliser`` (global batch / processes),
so a multi-process run averages to the same global mean as one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .config import TrainConfig
from .flow import flow_loss, interpolate, network_timestep, row_weights, sample_flow_time
from .geometry import geometry_terms
from .samples import Batch

__all__ = ["LossOutput", "Objective", "FlowMatchingObjective", "head_usage", "conditioned_forward"]

_KEEP = object()


@dataclass
class LossOutput:
    """``total``: the scalar to back-propagate; ``sums`` / ``counts``: per-term sums over this micro-batch."""

    total: torch.Tensor
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class Objective:
    """Interface of a training objective (see the module docstring)."""

    def networks(self) -> dict[str, nn.Module]:
        """Named networks this objective trains (unwrapped)."""
        raise NotImplementedError

    def optimizer_groups(self) -> dict[str, list[tuple[str, nn.Parameter]]]:
        """Optimizer name -> the named parameters it trains (``network.param`` names)."""
        raise NotImplementedError

    def updates(self, step: int) -> list[str]:
        """Optimizer names stepped at ``step``, in order."""
        return list(self.optimizer_groups())

    def bind(self, forward_modules: dict[str, nn.Module]) -> None:
        """Modules to call in ``loss`` (the distributed wrappers of :meth:`networks`)."""
        self._forward = dict(forward_modules)

    def loss(self, update: str, batch: Batch, step: int, normaliser: float) -> LossOutput:
        raise NotImplementedError

    def exported(self) -> dict[str, nn.Module]:
        """Networks written into every checkpoint's model folder (slot -> network)."""
        raise NotImplementedError

    #: Heads the exported transformer keeps ({"depth_head": bool, "descriptor_head": bool}).
    heads: dict[str, bool] = {}
    #: ``provenance.trained_by`` of the exported model folders.
    trained_by = "panoworld train"
    #: ``kind`` of the run record (``formats.training``).
    run_kind = "train"

    def lr_scale(self, update: str) -> float:
        """Factor on ``optim.lr`` (and its schedule) for optimizer ``update``."""
        return 1.0

    def ema_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """The named parameters the EMA follows (default: everything an optimizer trains)."""
        return [item for params in self.optimizer_groups().values() for item in params]

    def term_weights(self) -> dict[str, float]:
        """Logged term -> its weight in the logged ``loss`` (the weighted sum of the terms' batch means)."""
        raise NotImplementedError

    def info(self) -> dict:
        """Extra provenance written into every checkpoint's ``state.json`` and model index."""
        return {}

    def sampler_spec(self, cfg: TrainConfig):
        """The sampler the exported model is made for (``formats.model_folder.SamplerSpec``)."""
        from panoworld.formats.model_folder import SamplerSpec

        return SamplerSpec(kind="unipc-karras", num_steps=cfg.validation.num_steps, guidance=cfg.validation.guidance)


def conditioned_forward(net, batch: Batch, x_t: torch.Tensor, t: torch.Tensor, *, quantize: bool = True,
                        text: torch.Tensor | None = None, image=_KEEP, return_heads: bool = False):
    """``net`` on the noisy latent ``x_t`` at flow times ``t`` (B, T), conditioned as at inference.

    The clean latent ``batch.clean`` is pasted where ``batch.clean_mask`` is 1 (FOV paste / frame replace), the
    reference latent is concatenated, clean whole frames get the conditional-frame timestep, the mask is the
    network's mask channel. ``text`` / ``image`` replace the batch's text embeddings / SigLIP tokens (``image=None``:
    no image context, the unconditional branch). Returns the network's output (``.sample``, heads when asked).
    """
    m = batch.clean_mask
    x_in = m * batch.clean + (1 - m) * x_t
    timestep = network_timestep(t, batch.cond_frames, quantize=quantize)
    return net(hidden_states=torch.cat([x_in, batch.reference], 1), timestep=timestep,
               encoder_hidden_states=batch.text if text is None else text,
               image_hidden_states=batch.image if image is _KEEP else image, condition_mask=m,
               return_heads=return_heads, return_dict=True)


def head_usage(cfg: TrainConfig) -> dict[str, bool]:
    """Which heads a config trains (a head with zero loss weight stays untouched and is not exported)."""
    lo = cfg.loss
    return {"depth_head": lo.depth_weight > 0 or lo.rigidity_weight > 0, "descriptor_head": lo.track_weight > 0}


class FlowMatchingObjective(Objective):
    """Flow matching + depth + track supervision of one ``PanoWorldTransformer`` (optimizer "transformer")."""

    def __init__(self, transformer: nn.Module, cfg: TrainConfig):
        self.transformer = transformer
        self.cfg = cfg
        self.heads = head_usage(cfg)
        self._forward = {"transformer": transformer}

    def networks(self) -> dict[str, nn.Module]:
        return {"transformer": self.transformer}

    def optimizer_groups(self) -> dict[str, list[tuple[str, nn.Parameter]]]:
        return {"transformer": [(f"transformer.{n}", p) for n, p in self.transformer.named_parameters()
                                if p.requires_grad]}

    def exported(self) -> dict[str, nn.Module]:
        return {"transformer": self.transformer}

    def term_weights(self) -> dict[str, float]:
        lo = self.cfg.loss
        return {"flow": 1.0, "depth": lo.depth_weight, "track": lo.track_weight, "rigidity": lo.rigidity_weight}

    def _draws(self, batch: Batch, device) -> tuple[torch.Tensor, torch.Tensor, list[torch.Generator]]:
        frames = batch.x0.shape[2]
        gens = [torch.Generator().manual_seed(seed + 1) for seed in batch.seeds]
        shape = (frames,) if self.cfg.flow.per_frame else (1,)
        t = torch.stack([sample_flow_time(self.cfg.flow, g, shape).expand(frames) for g in gens])
        noise = torch.stack([torch.randn(batch.x0.shape[1:], generator=g) for g in gens])
        return t.to(device), noise.to(device), gens

    def loss(self, update: str, batch: Batch, step: int, normaliser: float) -> LossOutput:
        cfg = self.cfg
        net = self._forward["transformer"]
        device = batch.x0.device
        t, noise, gens = self._draws(batch, device)
        x_t = interpolate(batch.x0, noise, t)
        out = conditioned_forward(net, batch, x_t, t, quantize=cfg.flow.quantize,
                                  return_heads=any(self.heads.values()))
        weights = row_weights(batch.x0.shape[-2], solid_angle=cfg.flow.solid_angle_weighting, device=device)
        per_flow = flow_loss(out.sample, noise - batch.x0, 1 - batch.clean_mask, weights)
        total = per_flow.sum()
        sums = {"flow": float(per_flow.detach().sum())}
        counts = {"flow": batch.size}
        total = total + self.add_geometry(self.geometry_terms(out, batch, t, gens, weights), sums, counts)
        return LossOutput(total=total / normaliser, sums=sums, counts=counts)

    def add_geometry(self, terms: dict, sums: dict, counts: dict) -> torch.Tensor | float:
        """The weighted sum of :meth:`geometry_terms`' sums; records each term's sum and count."""
        total = 0.0
        weights = self.term_weights()
        for name, (value, count) in terms.items():
            total = total + weights[name] * value
            sums[name], counts[name] = float(value.detach()), count
        return total

    def geometry_terms(self, out, batch: Batch, t: torch.Tensor, gens, weights) -> dict:
        """Sums over the micro-batch of the active geometry terms: {name: (sum tensor, samples counted)}.

        ``out``: the network output with heads for ``batch`` at flow times ``t`` (B, T); ``gens``: one generator per
        sample (track pairs); ``weights``: (h, 1) row weights. Batched over samples and frame pairs
        (``train.geometry``)."""
        return geometry_terms(out, batch, t, gens, weights, self.cfg.loss)
