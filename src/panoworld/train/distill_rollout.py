"""The student's side of distillation: its clean prediction, its few-step rollout, and batch row plumbing.

With the student's flow times ``t_0 > ... > t_{N-1}`` (``distill.timesteps``) and a step index k per sample:

- ``predict_clean``: ``x0^ = m c + (1 - m) (x_t - t v(x_t, t))`` (the clean latent ``c`` pasted where the clean
  mask ``m`` is 1, exactly what ``pipelines.few_step`` computes at inference);
- ``rollout_inputs``: the student's input ``x_{t_k}``. Backward simulation (DMD2 section 4.5): ``x_{t_0} = eps_0``
  and ``x_{t_{j+1}} = (1 - t_{j+1}) x0^_j + t_{j+1} eps_{j+1}`` for j < k, run by the student itself without
  gradients, as the few-step sampler does at inference; otherwise (``backward_simulation = false``) the clip's
  latent noised, ``(1 - t_k) x0 + t_k eps`` (pure noise for k = 0).

Every random draw of sample j comes from its own generator (seeded from the sample's seed), so a sample is the
same whatever the micro-batch or the number of processes.
"""

from __future__ import annotations

import torch

from .objective import conditioned_forward
from .samples import Batch

__all__ = ["batch_rows", "stack_batches", "predict_clean", "draw_steps", "rollout_inputs", "step_times"]


def batch_rows(batch: Batch, rows: list[int]) -> Batch:
    """The sub-batch of ``rows`` (ascending; rows with image tokens stay first)."""
    index = torch.tensor(rows, dtype=torch.long)
    with_image = 0 if batch.image is None else batch.image.shape[0]
    image_rows = [r for r in rows if r < with_image]

    def take(x):
        return x[index.to(x.device)]

    image = batch.image[torch.tensor(image_rows, device=batch.image.device)] if image_rows else None
    return Batch(x0=take(batch.x0), reference=take(batch.reference), clean=take(batch.clean),
                 clean_mask=take(batch.clean_mask), cond_frames=take(batch.cond_frames), text=take(batch.text),
                 image=image, depth=[batch.depth[r] for r in rows], tracks=[batch.tracks[r] for r in rows],
                 seeds=[batch.seeds[r] for r in rows], kinds=[batch.kinds[r] for r in rows])


def stack_batches(a: Batch, b: Batch) -> tuple[Batch, torch.Tensor]:
    """One batch of ``a``'s rows then ``b``'s, reordered so that every row with image tokens comes first.

    Returns ``(stacked, order)``: row i of ``stacked`` is row ``order[i]`` of ``cat(a, b)``; ``x[order]`` reorders
    a (len(a) + len(b), ...) tensor the same way, ``y[order.argsort()]`` undoes it.
    """
    na = 0 if a.image is None else a.image.shape[0]
    nb = 0 if b.image is None else b.image.shape[0]
    sa, sb = a.size, b.size
    order = torch.tensor(list(range(na)) + list(range(sa, sa + nb)) + list(range(na, sa)) +
                         list(range(sa + nb, sa + sb)), dtype=torch.long)

    def cat(name):
        joined = torch.cat([getattr(a, name), getattr(b, name)])
        return joined[order.to(joined.device)]

    images = [x for x in (a.image, b.image) if x is not None]
    def both(name):
        return [getattr(a, name)[i] if i < sa else getattr(b, name)[i - sa] for i in order.tolist()]

    stacked = Batch(x0=cat("x0"), reference=cat("reference"), clean=cat("clean"), clean_mask=cat("clean_mask"),
                    cond_frames=cat("cond_frames"), text=cat("text"), image=torch.cat(images) if images else None,
                    depth=both("depth"), tracks=both("tracks"), seeds=both("seeds"), kinds=both("kinds"))
    return stacked, order


def step_times(times: torch.Tensor, k: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, frames) flow times ``times[k]`` (float64, on ``k``'s device)."""
    return times.to(k.device)[k][:, None].expand(-1, frames).clone()


def predict_clean(net, batch: Batch, x_t: torch.Tensor, t: torch.Tensor, *, quantize: bool = True,
                  return_heads: bool = False):
    """(x0^ (B, C, T, h, w) float32, network output): the clean prediction at flow times ``t`` (B, T)."""
    out = conditioned_forward(net, batch, x_t, t, quantize=quantize, return_heads=return_heads)
    tt = t.to(x_t.dtype)[:, None, :, None, None]
    m = batch.clean_mask
    x0 = m * batch.clean + (1 - m) * (x_t - tt * out.sample.float())
    return x0, out


def draw_steps(gens: list[torch.Generator], count: int) -> torch.Tensor:
    """(B,) step indices k, uniform over the ``count`` student steps, one per sample's generator."""
    return torch.stack([torch.randint(count, (), generator=g) for g in gens])


@torch.no_grad()
def rollout_inputs(student, batch: Batch, times: torch.Tensor, k: torch.Tensor, gens: list[torch.Generator], *,
                   backward_simulation: bool, quantize: bool = True, steps: int | None = None) -> torch.Tensor:
    """(B, C, T, h, w) student inputs ``x_{t_k}`` (see the module docstring); ``times`` (N,) float64.

    ``steps`` (>= max k): number of student evaluations to make; FSDP needs the same number on every process, so
    an evaluation with no row of this batch still runs (on the whole batch, its result unused)."""
    device = batch.x0.device
    shape = batch.x0.shape[1:]
    x = torch.stack([torch.randn(shape, generator=g) for g in gens]).to(device)
    if not backward_simulation:
        t = times[k.cpu()].to(device, x.dtype)[:, None, None, None, None]
        noisy = (1 - t) * batch.x0 + t * x
        return torch.where((k.to(device) > 0)[:, None, None, None, None], noisy, x)
    for j in range(int(k.max()) if steps is None else steps):
        rows = [i for i in range(batch.size) if int(k[i]) > j]
        if not rows:  # only to keep the processes' collectives in step
            predict_clean(student, batch, x, torch.full(x.shape[:1] + x.shape[2:3], float(times[j]),
                                                        dtype=torch.float64, device=device), quantize=quantize)
            continue
        sub = batch_rows(batch, rows)
        t_j = torch.full((len(rows), x.shape[2]), float(times[j]), dtype=torch.float64, device=device)
        x0, _ = predict_clean(student, sub, x[rows], t_j, quantize=quantize)
        t_next = float(times[j + 1])
        fresh = torch.stack([torch.randn(shape, generator=gens[i]) for i in rows]).to(device)
        x[rows] = ((1 - t_next) * x0 + t_next * fresh).to(x.dtype)
    return x
