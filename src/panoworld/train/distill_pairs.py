"""Teacher ODE solves for the optional regression warm-up, cached in ``<run>/teacher_pairs/`` (resumable).

Pair p is the training sample ``(clip, seed)`` with clip ``names[p mod n]`` of the cached training clips and seed
``sample_seed(run.seed + PAIR_SEED_OFFSET, 0, p)``, built by the trainer's sample builder. The teacher's many-step
sampler (``GuidedDenoiser`` + UniPC: the Karras rungs of ``distill.teacher_steps`` below ``t_0`` plus every student
flow time, CFG ``guidance`` against the negative prompt, FOV paste or frame replace) integrates from
``initial_noise(shape, p)`` at ``t_0``; the latent is recorded at each student time ``t_k`` (``states``, (N, C, T,
h, w)) and at t = 0 (``x0``, the regression target). One file per pair, written atomically with the settings key of
everything it depends on; a re-run keeps pairs with the same key and redoes the others (every process takes the
pairs p = rank mod world size).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from panoworld.formats.job_record import settings_key
from panoworld.formats.training import teacher_pair_path
from panoworld.io.atomic import atomic_path

from .samples import Batch, build_sample, collate, sample_seed

__all__ = ["PAIR_SEED_OFFSET", "PAIR_STEP", "teacher_schedule", "denoiser_inputs", "TeacherPairs"]

PAIR_SEED_OFFSET = 7_777_777
#: Offset on a training sample's seed of the generator choosing its pair's student step.
PAIR_STEP = 505


def teacher_schedule(times, teacher_steps: int):
    """``FlowSchedule`` of the teacher's solve and {schedule index: student step k} of the recorded rungs."""
    from panoworld.pipelines.schedule import FlowSchedule, karras_flow_schedule

    times = [float(t) for t in times]
    rungs = [float(s) for s in karras_flow_schedule(teacher_steps).sigmas[:-1] if s < times[0] - 1e-9]
    merged = sorted({round(t, 12) for t in times + rungs}, reverse=True)
    sigmas = np.asarray(merged, dtype=np.float64)
    schedule = FlowSchedule(sigmas=np.concatenate([sigmas, [0.0]]),
                            timesteps=np.floor(sigmas * 1000.0).astype(np.int64))
    return schedule, {merged.index(round(t, 12)): k for k, t in enumerate(times)}


def denoiser_inputs(batch: Batch, negative: torch.Tensor | None, noise: torch.Tensor):
    """The inference conditioning (``DenoiserInputs``) of a one-sample training batch: Round 2 (a clean first
    frame) -> frame replace, Round 1 -> FOV paste; the mask channel and reference as in training."""
    from panoworld.pipelines.guidance import DenoiserInputs

    frames = batch.cond_frames[0]
    common = dict(text=batch.text, negative_text=None if negative is None else negative[None].to(batch.text),
                  image=batch.image, reference=batch.reference, mask_channel=batch.clean_mask, noise=noise)
    if bool(frames.any()):
        return DenoiserInputs(frame_latent=batch.clean, frames=frames.cpu(), **common)
    return DenoiserInputs(paste_latent=batch.clean, paste_mask=batch.clean_mask, **common)


class _Recorder:
    """Wraps a denoiser; keeps the latent handed to it at the recorded schedule indices."""

    def __init__(self, denoiser, rungs: dict[int, int]):
        self.denoiser, self.rungs, self.inputs = denoiser, rungs, denoiser.inputs
        self.states: dict[int, torch.Tensor] = {}

    def __call__(self, x: torch.Tensor, index: int):
        if index in self.rungs:
            self.states[self.rungs[index]] = x[0].detach().float().cpu().clone()
        return self.denoiser(x, index)


class TeacherPairs:
    """The cached teacher solves of one run; :meth:`build` makes the missing ones, :meth:`inputs` serves them."""

    def __init__(self, run_dir: Path, cfg, cache, uncond: torch.Tensor):
        self.run_dir = Path(run_dir)
        self.cfg, self.cache, self.uncond = cfg, cache, uncond
        self.count = cfg.distill.regression_pairs
        self._loaded: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def path(self, p: int) -> Path:
        return teacher_pair_path(self.run_dir, p)

    def sample(self, p: int):
        """(clip name, seed, TrainingSample) of pair ``p``."""
        names = self.cache.names("train")
        clip = names[p % len(names)]
        seed = sample_seed(self.cfg.run.seed + PAIR_SEED_OFFSET, 0, p)
        return clip, seed, build_sample(self.cache.entry(clip), self.cache.texts, self.cfg.samples, seed, self.uncond)

    def key(self, teacher_id: dict, guidance: float) -> str:
        d = self.cfg.distill
        return settings_key({"teacher": teacher_id, "guidance": guidance, "times": list(d.timesteps),
                             "teacher_steps": d.teacher_steps, "seed": self.cfg.run.seed,
                             "cache": self.cache.manifest["settings"], "quantize": self.cfg.flow.quantize})

    def _done(self, p: int, key: str) -> bool:
        if not self.path(p).is_file():
            return False
        with safe_open(str(self.path(p)), framework="pt") as fh:
            return json.loads(fh.metadata()["meta"]).get("key") == key

    @torch.no_grad()
    def build(self, teacher, negative: torch.Tensor, guidance: float, key: str, *, rank: int = 0, world: int = 1,
              device=torch.device("cpu"), progress=None) -> int:
        """Solve the missing pairs of this process; returns how many were solved."""
        from panoworld.pipelines.guidance import GuidedDenoiser
        from panoworld.pipelines.noise import initial_noise
        from panoworld.pipelines.sampler import sample

        schedule, rungs = teacher_schedule(self.cfg.distill.timesteps, self.cfg.distill.teacher_steps)
        todo = [p for p in range(rank, self.count, world) if not self._done(p, key)]
        dtype = next(teacher.parameters()).dtype
        for i, p in enumerate(todo):
            clip, seed, one = self.sample(p)
            batch = collate([one]).to(device)
            noise = initial_noise(tuple(batch.x0.shape), p).to(device)
            denoiser = _Recorder(GuidedDenoiser(teacher, denoiser_inputs(batch, negative.to(device), noise), schedule,
                                                guidance=guidance, compute_dtype=dtype), rungs)
            x0 = sample(denoiser, noise, schedule)[0].float().cpu()
            states = torch.stack([denoiser.states[k] for k in range(len(rungs))])
            with atomic_path(self.path(p)) as tmp:
                save_file({"states": states.contiguous(), "x0": x0.contiguous()}, str(tmp),
                          metadata={"meta": json.dumps({"clip": clip, "seed": seed, "key": key})})
            if progress is not None:
                progress(i + 1, len(todo))
        return len(todo)

    def _pair(self, p: int) -> tuple[torch.Tensor, torch.Tensor]:
        if p not in self._loaded:
            with safe_open(str(self.path(p)), framework="pt") as fh:
                self._loaded[p] = (fh.get_tensor("states"), fh.get_tensor("x0"))
        return self._loaded[p]

    def inputs(self, seeds: list[int], device) -> tuple[Batch, torch.Tensor, torch.Tensor, torch.Tensor]:
        """For the samples ``seeds`` of a step: (pair batch, student inputs x_{t_k}, (B, T) t_k, targets x0).

        Sample j uses pair ``seed_j mod regression_pairs`` at step k ~ U{0..N-1} drawn from ``seed_j + PAIR_STEP``.
        """
        rows = []
        times = self.cfg.distill.timesteps
        for seed in seeds:
            p = int(seed) % self.count
            k = int(torch.randint(len(times), (), generator=torch.Generator().manual_seed(int(seed) + PAIR_STEP)))
            states, x0 = self._pair(p)
            rows.append((self.sample(p)[2], states[k], x0, times[k]))
        rows.sort(key=lambda r: r[0].image is None)  # collate's order: rows with image tokens first
        batch = collate([r[0] for r in rows]).to(device)
        frames = batch.x0.shape[2]
        t = torch.tensor([[r[3]] * frames for r in rows], dtype=torch.float64, device=device)
        return (batch, torch.stack([r[1] for r in rows]).to(device), t,
                torch.stack([r[2] for r in rows]).to(device))
