"""The distillation objective: DMD2 without a GAN term, the teacher's CFG folded into the real score.

Three networks of one architecture: the **student** (trained, exported), the **critic** ("fake score", trained on
student samples) and the frozen **teacher** ("real score"). Per sample (formulas in docs/train.md,
"Distillation"; ``m`` the clean mask, ``c`` the clean latent, ``w`` the solid-angle row weights):

- student sample: a step k ~ U{0..N-1}, its input ``x_{t_k}`` (``distill_rollout``), the clean prediction
  ``x^ = m c + (1 - m)(x_{t_k} - t_k v_S)``;
- DMD (student update): ``t`` from the flow law, ``x_t = (1 - t) x^ + t eps``, ``x0_real = x_t - t v_real`` with
  ``v_real = v_T(cond) + g (v_T(cond) - v_T(uncond))``, ``x0_fake = x_t - t v_C``,
  ``G = (x0_fake - x0_real) / mean_w |x^ - x0_real|`` and ``L_dmd = 1/2 mean_w |x^ - sg(x^ - G)|^2``, whose
  gradient in ``x^`` is ``G`` (times the cell weights);
- regression warm-up (first ``regression_steps`` steps, instead of DMD): ``L_reg = mean_w |x^ - x0_teacher|^2``
  from a cached teacher ODE state ``x_{t_k}`` (``distill_pairs``);
- critic update: flow matching on the detached student sample, ``L_critic = mean_w |v_C(x_t) - (eps - x^)|^2``;
- geometry (student update, heads with a non-zero loss weight): the training depth / track / rigidity losses on
  the clip's latent noised to a student time, in the same forward pass as the student sample.

Updates: the first ``regression_steps`` steps train the student only; then every step trains the critic and every
``critic_updates``-th step (K) also the student, first (its sample is reused, detached, by that step's critic
update). The teacher never trains and is not checkpointed.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from .flow import flow_loss, interpolate, row_weights, sample_flow_time
from .objective import FlowMatchingObjective, LossOutput, Objective, conditioned_forward
from .distill_rollout import draw_steps, predict_clean, rollout_inputs, stack_batches, step_times
from .samples import Batch

__all__ = ["DistillationObjective", "ROLLOUT", "DMD", "CRITIC", "GEOMETRY", "reshard"]

#: Offsets on a sample's seed of the generators of each random draw (rollout, DMD noise, critic noise, geometry).
ROLLOUT, DMD, CRITIC, GEOMETRY = 101, 202, 303, 404


def reshard(network: nn.Module) -> None:
    """After forward passes without gradients: an FSDP2-sharded network keeps the root's gathered parameters
    registered until a backward pass that never comes; put its shards back (a no-op for other networks)."""
    if hasattr(network, "reshard"):
        network.reshard()


class DistillationObjective(Objective):
    """Student + critic (two optimizers) against a frozen teacher; see the module docstring.

    Args:
        student, critic: trainable ``PanoWorldTransformer`` copies of the teacher (on the training device).
        teacher: the frozen teacher (``requires_grad`` off).
        cfg: the ``DistillConfig``.
        negative_text: (L, D) embedding of the inference negative prompt (the teacher's unconditional branch).
        guidance: the teacher's CFG weight g.
        pairs: ``distill_pairs.TeacherPairs`` for the regression warm-up, or None.
        info: provenance recorded in every checkpoint (teacher identity, ...).
        sync_steps: ``n -> n'`` the number of rollout evaluations every process makes (FSDP: the maximum over
            processes); default ``n``.
    """

    trained_by = "panoworld train distill"
    run_kind = "distill"

    def __init__(self, student: nn.Module, critic: nn.Module, teacher: nn.Module, cfg, *,
                 negative_text: torch.Tensor, guidance: float, pairs=None, info: dict | None = None,
                 sync_steps=None):
        self.student, self.critic, self.teacher = student, critic, teacher
        self.cfg = cfg
        self.times = torch.tensor(cfg.distill.timesteps, dtype=torch.float64)
        self.negative = negative_text
        self.guidance = float(guidance)
        self.pairs = pairs
        self._info = dict(info or {})
        self.flow = FlowMatchingObjective(student, cfg)  # the geometry terms and their weights, as in training
        self.heads = {h: getattr(student, h, None) is not None for h in ("depth_head", "descriptor_head")}
        self._forward = {"student": student, "critic": critic}
        self._reuse: dict = {}
        self.sync_steps = sync_steps or (lambda n: n)

    # ------------------------------------------------------------------ trainer interface
    def networks(self) -> dict[str, nn.Module]:
        return {"student": self.student, "critic": self.critic}

    def optimizer_groups(self) -> dict[str, list[tuple[str, nn.Parameter]]]:
        return {name: [(f"{name}.{n}", p) for n, p in net.named_parameters() if p.requires_grad]
                for name, net in self.networks().items()}

    def ema_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return self.optimizer_groups()["student"]

    def exported(self) -> dict[str, nn.Module]:
        return {"transformer": self.student}

    def lr_scale(self, update: str) -> float:
        return self.cfg.distill.critic_lr_scale if update == "critic" else 1.0

    def updates(self, step: int) -> list[str]:
        d = self.cfg.distill
        if step < d.regression_steps:
            return ["student"]
        return ["student", "critic"] if (step - d.regression_steps) % d.critic_updates == 0 else ["critic"]

    def term_weights(self) -> dict[str, float]:
        return {"dmd": self.cfg.distill.dmd_weight, "regression": 1.0, "critic": 0.0,
                **{k: v for k, v in self.flow.term_weights().items() if k != "flow"}}

    def sampler_spec(self, cfg):
        from panoworld.formats.model_folder import SamplerSpec

        times = [float(t) for t in cfg.distill.timesteps]
        return SamplerSpec(kind="few-step", num_steps=len(times), guidance=0.0, timesteps=times)

    def info(self) -> dict:
        return dict(self._info)

    def loss(self, update: str, batch: Batch, step: int, normaliser: float) -> LossOutput:
        if update == "critic":
            return self._critic_loss(batch, step, normaliser)
        return self._student_loss(batch, step, normaliser)

    # ------------------------------------------------------------------ pieces
    @staticmethod
    def _gens(batch: Batch, purpose: int) -> list[torch.Generator]:
        return [torch.Generator().manual_seed(int(seed) + purpose) for seed in batch.seeds]

    def _flow_times(self, gens, frames: int, device) -> torch.Tensor:
        return torch.stack([sample_flow_time(self.cfg.flow, g, (1,)).expand(frames) for g in gens]).to(device)

    def _weights(self, batch: Batch) -> torch.Tensor:
        return row_weights(batch.x0.shape[-2], solid_angle=self.cfg.flow.solid_angle_weighting,
                           device=batch.x0.device)

    def _student_inputs(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_{t_k}, (B, T) t_k) of the rollout (no gradients)."""
        gens = self._gens(batch, ROLLOUT)
        k = draw_steps(gens, len(self.times))
        x = rollout_inputs(self.student, batch, self.times, k, gens,
                           backward_simulation=self.cfg.distill.backward_simulation, quantize=self.cfg.flow.quantize,
                           steps=self.sync_steps(int(k.max())))
        reshard(self.student)
        return x, step_times(self.times, k, batch.x0.shape[2]).to(batch.x0.device)

    def teacher_velocity(self, batch: Batch, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``v_T(cond) + g (v_T(cond) - v_T(uncond))`` (float32; uncond = negative prompt, no image tokens)."""
        q = self.cfg.flow.quantize
        v_c = conditioned_forward(self.teacher, batch, x_t, t, quantize=q).sample.float()
        if self.guidance == 0:
            return v_c
        negative = self.negative.to(batch.text.device, batch.text.dtype)[None].expand(batch.size, -1, -1)
        v_u = conditioned_forward(self.teacher, batch, x_t, t, quantize=q, text=negative, image=None).sample.float()
        return v_c + self.guidance * (v_c - v_u)

    def dmd_gradient(self, batch: Batch, sample: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``G`` of the module docstring (no gradients; NaN/inf -> 0)."""
        gens = self._gens(batch, DMD)
        with torch.no_grad():
            x = sample.detach().float()
            t = self._flow_times(gens, x.shape[2], x.device)
            eps = torch.stack([torch.randn(x.shape[1:], generator=g) for g in gens]).to(x.device)
            x_t = interpolate(x, eps, t)
            tt = t.to(x.dtype)[:, None, :, None, None]
            x0_real = x_t - tt * self.teacher_velocity(batch, x_t, t)
            v_fake = conditioned_forward(self.critic, batch, x_t, t, quantize=self.cfg.flow.quantize).sample.float()
            reshard(self.critic)
            x0_fake = x_t - tt * v_fake
            w = (1 - batch.clean_mask) * weights.to(x)
            scale = (w * (x - x0_real).abs().mean(1, keepdim=True)).flatten(1).sum(1) / \
                w.flatten(1).sum(1).clamp_min(1e-8)
            grad = (x0_fake - x0_real) / scale.clamp_min(1e-8)[:, None, None, None, None]
            return torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)

    def _student_forward(self, batch: Batch, x_k: torch.Tensor, t_k: torch.Tensor):
        """(x^, heads output or None): one forward of the student sample rows and, with trained heads, the
        geometry rows (the clip's latent noised to a random student time)."""
        net, q = self._forward["student"], self.cfg.flow.quantize
        if not any(self.flow.heads.values()):
            return predict_clean(net, batch, x_k, t_k, quantize=q)[0], None, None, None
        gens = self._gens(batch, GEOMETRY)
        t_g = step_times(self.times, draw_steps(gens, len(self.times)), batch.x0.shape[2]).to(x_k.device)
        eps = torch.stack([torch.randn(batch.x0.shape[1:], generator=g) for g in gens]).to(x_k.device)
        stacked, order = stack_batches(batch, batch)
        order = order.to(x_k.device)
        x_in = torch.cat([x_k, interpolate(batch.x0, eps, t_g)])[order]
        x0, out = predict_clean(net, stacked, x_in, torch.cat([t_k, t_g])[order], quantize=q, return_heads=True)
        back = order.argsort()
        rows = slice(batch.size, 2 * batch.size)
        heads = SimpleNamespace(sample=x0, depth=None if out.depth is None else out.depth[back][rows],
                                descriptors=None if out.descriptors is None else out.descriptors[back][rows])
        return x0[back][: batch.size], heads, t_g, gens

    def _student_loss(self, batch: Batch, step: int, normaliser: float) -> LossOutput:
        warm = step < self.cfg.distill.regression_steps
        if warm:
            batch, x_k, t_k, target = self.pairs.inputs(batch.seeds, batch.x0.device)
        else:
            x_k, t_k = self._student_inputs(batch)
        sample, heads, t_g, geo_gens = self._student_forward(batch, x_k, t_k)
        weights = self._weights(batch)
        free = 1 - batch.clean_mask
        if warm:
            name, per = "regression", flow_loss(sample, target, free, weights)
        else:
            self._reuse = {key: value for key, value in self._reuse.items() if key[0] == step}
            self._reuse[(step, tuple(batch.seeds))] = sample.detach()
            grad = self.dmd_gradient(batch, sample, weights)
            name, per = "dmd", self.cfg.distill.dmd_weight * 0.5 * flow_loss(sample, (sample.detach() - grad),
                                                                                free, weights)
        total = per.sum()
        sums, counts = {name: float(per.detach().sum())}, {name: batch.size}
        if heads is not None:
            terms = self.flow.geometry_terms(heads, batch, t_g, geo_gens, weights)
            total = total + self.flow.add_geometry(terms, sums, counts)
        return LossOutput(total=total / normaliser, sums=sums, counts=counts)

    def _critic_loss(self, batch: Batch, step: int, normaliser: float) -> LossOutput:
        sample = self._reuse.pop((step, tuple(batch.seeds)), None)
        if sample is None:
            with torch.no_grad():
                x_k, t_k = self._student_inputs(batch)
                sample = predict_clean(self.student, batch, x_k, t_k, quantize=self.cfg.flow.quantize)[0]
                reshard(self.student)
        gens = self._gens(batch, CRITIC)
        t = self._flow_times(gens, sample.shape[2], sample.device)
        eps = torch.stack([torch.randn(sample.shape[1:], generator=g) for g in gens]).to(sample.device)
        out = conditioned_forward(self._forward["critic"], batch, interpolate(sample, eps, t), t,
                                  quantize=self.cfg.flow.quantize)
        per = flow_loss(out.sample, eps - sample, 1 - batch.clean_mask, self._weights(batch))
        return LossOutput(total=per.sum() / normaliser, sums={"critic": float(per.detach().sum())},
                          counts={"critic": batch.size})
