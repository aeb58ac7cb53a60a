"""The training loop: cached samples -> objective -> AdamW (+ accumulation, clipping, EMA) -> logs, checkpoints.

Order of work (every check that can fail runs before anything expensive): config, cache (settings, completeness,
the annotations a non-zero loss weight needs), processes and batch split, model, resume, loop.

Batches: optimizer step ``s`` uses global samples ``g = s * batch_size + j`` (j < batch_size); sample g is clip
``perm_e[g mod n]`` of epoch ``e = g // n`` (``perm_e`` a seeded permutation of the n training clips) with seed
``sample_seed(run.seed, s, j)`` for everything random in it. Process r takes ``j`` in
``[r b / P, (r + 1) b / P)`` in micro-batches of ``data.micro_batch_size``; each micro-batch loss is divided by
``b / P`` and DDP averages over the P processes, so the update equals one process's on the whole batch. The
learning rate of step s is ``lr * warm-up(s) * schedule(s)`` (linear warm-up over ``optim.warmup_steps``, then
cosine to ``min_lr_ratio * lr`` at ``run.max_steps``), set explicitly every step (no scheduler state).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from panoworld.errors import InputError

from .cache import EMPTY, NEGATIVE, TrainCache
from .checkpoint import export_transformer, find_latest, load_checkpoint, save_checkpoint
from .config import TrainConfig, config_to_dict
from .distributed import DistContext, all_reduce_sum, no_sync, setup_distributed, wrap_network
from .ema import EMA
from .monitor import MetricsLogger, ProgressDisplay, open_run_record
from .objective import FlowMatchingObjective, Objective
from .samples import build_sample, collate, sample_seed

__all__ = ["TrainingDiverged", "TrainResult", "Trainer", "learning_rate_factor", "train", "check_cache_fits"]

OOM_HINT = ("set model.gradient_checkpointing=true, lower data.micro_batch_size (gradient accumulation keeps the "
            "batch), use lora.enabled=true or distributed.strategy=fsdp")


class TrainingDiverged(InputError):
    """The loss or gradient norm became NaN/inf; the run stopped before the bad update."""


@dataclass
class TrainResult:
    """What a finished (or stopped) run leaves: its folder, the last step and checkpoint, the last metrics."""

    run_dir: Path
    step: int
    checkpoint: Path | None
    metrics: dict


def learning_rate_factor(step: int, cfg: TrainConfig) -> float:
    """Multiplier of ``optim.lr`` at optimizer step ``step`` (0-based)."""
    o = cfg.optim
    if o.warmup_steps and step < o.warmup_steps:
        return (step + 1) / o.warmup_steps
    if o.schedule == "constant":
        return 1.0
    span = max(1, cfg.run.max_steps - o.warmup_steps)
    progress = min(1.0, (step - o.warmup_steps) / span)
    return o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def _make_optimizer(named: list, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    o = cfg.optim
    decay = [p for n, p in named if p.ndim >= 2]
    no_decay = [p for n, p in named if p.ndim < 2]
    fused = o.fused == "on" or (o.fused == "auto" and device.type == "cuda")
    groups = [g for g in ({"params": decay, "weight_decay": o.weight_decay},
                          {"params": no_decay, "weight_decay": 0.0}) if g["params"]]
    kwargs = {"fused": True} if fused else {"foreach": device.type == "cuda"}
    return torch.optim.AdamW(groups, lr=o.lr, betas=tuple(o.betas), eps=o.eps, **kwargs)


def check_cache_fits(model, cache: TrainCache) -> None:
    """Refuse (one line) a transformer whose text or SigLIP input width differs from the cached embeddings'."""
    entry = cache.entry(cache.names("train")[0])
    text = cache.text(NEGATIVE)
    cfg = model.config
    if cfg.use_crossattn_projection and text.shape[-1] != cfg.crossattn_proj_in_channels:
        raise InputError(f"the cached text embeddings are {text.shape[-1]}-d but the transformer expects "
                         f"{cfg.crossattn_proj_in_channels} (crossattn_proj_in_channels)")
    tokens = entry.view(0)[3]
    if cfg.img_context_dim_in and tokens.shape[-1] != cfg.img_context_dim_in:
        raise InputError(f"the cached SigLIP tokens are {tokens.shape[-1]}-d but the transformer expects "
                         f"{cfg.img_context_dim_in} (img_context_dim_in)")


def flow_matching_objective(cfg: TrainConfig, cache: TrainCache, ctx: DistContext) -> Objective:
    """The default objective: the configured transformer (``modeling.build_transformer``) with flow matching."""
    from .modeling import build_transformer

    model = build_transformer(cfg)
    check_cache_fits(model, cache)
    return FlowMatchingObjective(model.to(ctx.device), cfg)


class Trainer:
    """One training run of ``cfg``; ``on_step(step, metrics)`` is called on every process after each step.

    ``build_objective(cfg, cache, ctx)`` makes the objective (its networks on ``ctx.device``); default
    :func:`flow_matching_objective` (``train.distill`` passes the distillation objective).
    """

    def __init__(self, cfg: TrainConfig, *, on_step: Callable[[int, dict], None] | None = None,
                 build_objective: Callable[[TrainConfig, TrainCache, DistContext], Objective] | None = None):
        self.cfg = cfg.validate()
        self.on_step = on_step
        self.build_objective = build_objective or flow_matching_objective
        self.run_dir = Path(cfg.run.out_dir)

    # ------------------------------------------------------------------ checks
    def _check_data(self, cache: TrainCache, ctx: DistContext) -> None:
        cfg = self.cfg
        names = cache.names("train")
        if not names:
            raise InputError("the cache holds no training clips")
        for kind, weight in (("depth", cfg.loss.depth_weight + cfg.loss.rigidity_weight),
                             ("tracks", cfg.loss.track_weight + cfg.loss.rigidity_weight)):
            lacking = cache.annotated("train", kind) if weight > 0 else []
            if lacking:
                raise InputError(f"{len(lacking)} training clip(s) have no {kind} annotations (e.g. {lacking[0]}) but "
                                 f"a loss weight that needs them is > 0; annotate them or set it to 0")
        b, p = cfg.data.batch_size, ctx.world_size
        micro = cfg.data.micro_batch_size or b // p
        if b % p or (b // p) % micro:
            raise InputError(f"data.batch_size {b} must split evenly over {p} process(es) and micro-batches of "
                             f"{micro} (data.micro_batch_size)")

    # ------------------------------------------------------------------ data
    def _clip_order(self, epoch: int, count: int) -> np.ndarray:
        return np.random.RandomState((self.cfg.run.seed * 1_000_003 + epoch) % 2**32).permutation(count)

    def _micro_batches(self, step: int, cache: TrainCache, ctx: DistContext, uncond: torch.Tensor) -> list:
        cfg = self.cfg
        names = cache.names("train")
        b = cfg.data.batch_size
        per = b // ctx.world_size
        micro = cfg.data.micro_batch_size or per
        mine = range(ctx.rank * per, (ctx.rank + 1) * per)
        batches = []
        for start in range(mine.start, mine.stop, micro):
            samples = []
            for j in range(start, start + micro):
                g = step * b + j
                clip = names[int(self._clip_order(g // len(names), len(names))[g % len(names)])]
                samples.append(build_sample(cache.entry(clip), cache.texts, cfg.samples,
                                            sample_seed(cfg.run.seed, step, j), uncond))
            batches.append(collate(samples))
        return batches

    def _uncond(self, cache: TrainCache) -> torch.Tensor:
        mode = self.cfg.samples.uncond_text
        if mode == "zeros":
            return torch.zeros_like(cache.text(EMPTY))
        return cache.text(NEGATIVE if mode == "negative" else EMPTY)

    # ------------------------------------------------------------------ run
    def run(self) -> TrainResult:
        """Train to ``run.max_steps`` (resuming from the newest checkpoint in ``run.out_dir``)."""
        ctx = setup_distributed(self.cfg.run.device)
        try:
            return self._run(ctx)
        except torch.cuda.OutOfMemoryError:
            raise InputError(f"CUDA out of memory on {ctx.device}; {OOM_HINT}") from None
        finally:
            ctx.close()

    def _run(self, ctx: DistContext) -> TrainResult:
        cfg = self.cfg
        cache = TrainCache.open(cfg)
        self._check_data(cache, ctx)
        objective = self.build_objective(cfg, cache, ctx)
        wrapped = {k: wrap_network(net, ctx, cfg.distributed.strategy,
                                   find_unused=cfg.distributed.find_unused_parameters)
                   for k, net in objective.networks().items()}
        objective.bind(wrapped)
        groups = objective.optimizer_groups()
        optimizers = {k: _make_optimizer(v, cfg, ctx.device) for k, v in groups.items()}
        ema = EMA(objective.ema_parameters(), cfg.ema.decay, cfg.ema.warmup)
        start, checkpoint = 0, find_latest(self.run_dir)
        if checkpoint is not None:
            start = int(load_checkpoint(checkpoint, ctx, objective=objective, optimizers=optimizers, ema=ema,
                                        cfg=cfg)["step"])
        return self._loop(ctx, cache, objective, wrapped, optimizers, ema, start, checkpoint)

    def _autocast(self, device: torch.device):
        precision = self.cfg.run.precision
        if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
            return nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16)

    def _info(self, ctx: DistContext, step: int, seconds: float, objective: Objective) -> dict:
        return {"world_size": ctx.world_size, "samples_seen": step * self.cfg.data.batch_size,
                "heads_trained": dict(objective.heads), "train_seconds": round(seconds, 1),
                "device": str(ctx.device), **objective.info()}

    def _out_of_time(self, began: float, ctx: DistContext) -> bool:
        """True on every process once ``run.max_minutes`` of this session have passed (rank 0's clock decides)."""
        budget = self.cfg.run.max_minutes
        if not budget:
            return False
        late = float(ctx.is_main and time.perf_counter() - began >= 60.0 * budget)
        return all_reduce_sum([late], ctx)[0] > 0

    def _loop(self, ctx, cache, objective, wrapped, optimizers, ema, start, checkpoint) -> TrainResult:
        cfg = self.cfg
        main = ctx.is_main
        logger = MetricsLogger(self.run_dir, tensorboard=cfg.logging.tensorboard, resume_step=start) if main else None
        record = open_run_record(self.run_dir, {"config": config_to_dict(cfg), "world_size": ctx.world_size,
                                                "device": str(ctx.device)}, objective.run_kind) if main else None
        if record is not None:
            record.update(status="running", step=start, tensorboard=logger.tensorboard_note)
        display = ProgressDisplay(cfg.run.max_steps, start, cfg.logging.progress and main)
        uncond = self._uncond(cache)
        normaliser = cfg.data.batch_size / ctx.world_size
        trained = {k: [p for _, p in v] for k, v in objective.optimizer_groups().items()}
        vae, metrics, step = None, {}, start
        window = {"time": time.perf_counter(), "steps": 0, "sums": {}, "counts": {}}
        began = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=1)
        pending = pool.submit(self._micro_batches, start, cache, ctx, uncond) if start < cfg.run.max_steps else None
        try:
            for step in range(start, cfg.run.max_steps):
                batches = pending.result()
                if step + 1 < cfg.run.max_steps:
                    pending = pool.submit(self._micro_batches, step + 1, cache, ctx, uncond)
                factor = learning_rate_factor(step, cfg)
                for update in objective.updates(step):
                    optimizer = optimizers[update]
                    for group in optimizer.param_groups:
                        group["lr"] = cfg.optim.lr * factor * objective.lr_scale(update)
                    optimizer.zero_grad(set_to_none=True)
                    for i, batch in enumerate(batches):
                        batch = batch.to(ctx.device)
                        with no_sync(wrapped[update], i < len(batches) - 1), self._autocast(ctx.device):
                            out = objective.loss(update, batch, step, normaliser)
                        if not torch.isfinite(out.total):
                            raise self._diverged(step, "loss", out.sums, checkpoint)
                        out.total.backward()
                        for key, value in out.sums.items():
                            window["sums"][key] = window["sums"].get(key, 0.0) + value
                            window["counts"][key] = window["counts"].get(key, 0) + out.counts[key]
                    clip = cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else float("inf")
                    norm = torch.nn.utils.clip_grad_norm_(trained[update], clip)
                    if not torch.isfinite(norm):
                        raise self._diverged(step, "gradient norm", {}, checkpoint)
                    optimizer.step()
                    key = "grad_norm" if len(optimizers) == 1 else f"grad_norm/{update}"
                    window["sums"][key] = window["sums"].get(key, 0.0) + float(norm) * ctx.world_size
                    window["counts"][key] = window["counts"].get(key, 0) + ctx.world_size
                ema.update()
                done = step + 1
                window["steps"] += 1
                stop = self._out_of_time(began, ctx)
                if done % cfg.run.log_every == 0 or done == cfg.run.max_steps or stop:
                    metrics = self._reduce(window, ctx, factor, objective)
                    if main:
                        logger.log(done, metrics)
                        display.update(done, metrics.get("loss"), metrics.get("steps_per_s"))
                if done % cfg.run.checkpoint_every == 0 or done == cfg.run.max_steps or stop:
                    seconds = time.perf_counter() - began
                    checkpoint = save_checkpoint(ctx, self.run_dir, done, objective=objective, optimizers=optimizers,
                                                 ema=ema, cfg=cfg, info=self._info(ctx, done, seconds, objective))
                    if record is not None:
                        record.update(step=done, checkpoint=str(checkpoint))
                if cfg.validation.every and done % cfg.validation.every == 0:
                    vae = self._validate(ctx, cache, objective, ema, done, vae, logger)
                if main:
                    display.update(done)
                if self.on_step is not None:
                    self.on_step(done, metrics)
                step = done
                if stop:
                    break
        except BaseException as exc:
            if record is not None:
                record.update(status=f"stopped: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}", step=step)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            display.close()
            if logger is not None:
                logger.close()
        if record is not None:
            status = "finished" if step >= cfg.run.max_steps else f"stopped: run.max_minutes={cfg.run.max_minutes}"
            record.update(status=status, step=step, train_seconds=round(time.perf_counter() - began, 1))
        return TrainResult(self.run_dir, step, checkpoint, metrics)

    def _reduce(self, window: dict, ctx: DistContext, factor: float, objective: Objective) -> dict:
        keys = sorted(window["sums"])
        totals = all_reduce_sum([window["sums"][k] for k in keys] + [window["counts"][k] for k in keys], ctx)
        sums, counts = totals[: len(keys)], totals[len(keys):]
        elapsed = time.perf_counter() - window["time"]
        out = {k: s / c for k, s, c in zip(keys, sums, counts) if c}
        weights = objective.term_weights()
        out["loss"] = sum(weights[k] * out[k] for k in weights if k in out)
        out["lr"] = self.cfg.optim.lr * factor
        out["steps_per_s"] = window["steps"] / max(elapsed, 1e-9)
        out["samples_per_s"] = out["steps_per_s"] * self.cfg.data.batch_size
        if ctx.device.type == "cuda":
            out["peak_memory_gib"] = torch.cuda.max_memory_allocated(ctx.device) / 2**30
        window.update(time=time.perf_counter(), steps=0, sums={}, counts={})
        return out

    def _diverged(self, step: int, what: str, sums: dict, checkpoint: Path | None) -> TrainingDiverged:
        terms = ", ".join(f"{k}={v:.4g}" for k, v in sums.items())
        kept = f"the last good checkpoint is {checkpoint}" if checkpoint else "no checkpoint was written yet"
        return TrainingDiverged(f"the {what} became NaN/inf at step {step + 1}{f' ({terms})' if terms else ''}; "
                                f"stopped before the update, {kept}; lower optim.lr or raise optim.warmup_steps")

    def _validate(self, ctx, cache, objective, ema, step, vae, logger):
        from . import components
        from .validation import validate

        model = export_transformer(objective, ema, self.cfg, build=ctx.is_main)
        if ctx.is_main:
            if vae is None:
                vae = components.load_vae(self.cfg.components.vae, ctx.device, self.cfg.components.dtype)
            model = model.to(ctx.device)
            values = validate(model, vae, cache, self.cfg, step, self.run_dir, ctx.device,
                              sampler=objective.sampler_spec(self.cfg))
            logger.log(step, values)
            del model
        from .distributed import barrier

        barrier(ctx)
        return vae


def train(cfg: TrainConfig, **kwargs) -> TrainResult:
    """Run :class:`Trainer` for ``cfg``."""
    return Trainer(cfg, **kwargs).run()
