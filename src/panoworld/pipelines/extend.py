"""Long videos: extension rounds chained after the first clip, cross-faded and streamed to a sink.

An extension round (reference ``--extend_rounds --latent_extension``, §1.1) is the Round-2 conditioning with K
clean latent frames instead of one: its first K latent frames are the previous round's last K latent frames (no VAE
re-encode), frame-replaced with the conditional-frame timestep; the panoramic conditioning the model was trained
with stays (the reference drops it): a reference latent made from the previous round's latent and the first clip's
SigLIP tokens. Each round has its own prompt (:meth:`GenerationConfig.round_prompt`) and seed
(:func:`~panoworld.pipelines.timeline.round_seed`).

Reference latent of an extension round (``extend_reference``):

* ``aligned`` (default): the previous round's latent from its last K frames on, the last frame held to the round's
  length, so that reference frame 0 is the round's frame 0 as in Round 2 (whose reference, VAE(Round-1 video),
  starts at the conditioning frame) and the rest is a still continuation, like the trainer's Round-2 proxy at
  speed 0 (docs/train.md);
* ``previous``: the previous round's latent as it is (its time axis ends where the new round begins).

Frames are cross-faded where rounds overlap and handed to a :class:`FrameSink` as soon as they are final
(:class:`FrameStitcher`), so memory does not grow with the number of rounds: between rounds only the previous
round's latent (the next conditioning), the overlap frames and the prompt embeddings are kept.
"""

from __future__ import annotations

import time

import torch

from panoworld.models.heads import latent_depth_to_video
from panoworld.sphere import resize_erp

from .conditioning import FrameConditioning
from .config import GenerationConfig
from .guidance import DenoiserInputs
from .timeline import ExtensionPlan, round_seed

__all__ = ["FrameSink", "CollectFrames", "FrameStitcher", "crossfade_weights", "extension_conditioning",
           "extend_video"]


class FrameSink:
    """Receives the output video in order: :meth:`begin` once, then :meth:`write` with consecutive frames."""

    def begin(self, perspective: torch.Tensor) -> None:
        """Called before the first frames with the perspective input ((1 or T, 3, h, w) in [0, 1])."""

    def write(self, frames: torch.Tensor, depth: torch.Tensor | None) -> None:
        """Consecutive frames (t, 3, H, W) in [0, 1] and their depth (t, H/8, W/8) metres (None without a head)."""
        raise NotImplementedError


class CollectFrames(FrameSink):
    """Keeps everything in memory (what ``PanoWorldPipeline.__call__`` uses when no sink is given)."""

    def __init__(self):
        self.frames: list[torch.Tensor] = []
        self.depths: list[torch.Tensor] = []

    def write(self, frames: torch.Tensor, depth: torch.Tensor | None) -> None:
        self.frames.append(frames)
        if depth is not None:
            self.depths.append(depth)

    def video(self) -> torch.Tensor:
        """(T, 3, H, W) in [0, 1]."""
        return torch.cat(self.frames)

    def depth(self, size: tuple[int, int]) -> torch.Tensor | None:
        """(T, H, W) metres at ``size``, bilinear in log range with the seam wrapped; None without a depth head."""
        if not self.depths:
            return None
        return resize_erp(torch.cat(self.depths).log()[:, None], size)[:, 0].exp()


def crossfade_weights(count: int) -> torch.Tensor:
    """(count,) weight of the newer round on each overlap frame: (i + 1) / (count + 1), rising from old to new."""
    return torch.arange(1, count + 1, dtype=torch.float32) / (count + 1)


def _blend(old: torch.Tensor | None, new: torch.Tensor | None) -> torch.Tensor | None:
    if old is None or new is None:
        return new
    w = crossfade_weights(new.shape[0]).view(-1, *([1] * (new.dim() - 1)))
    return (1 - w) * old + w * new


class FrameStitcher:
    """Turns per-round frames into one continuous video on the :class:`ExtensionPlan`'s clock.

    ``add(round_index, frames, depth)`` with the round's decoded (T, 3, H, W) frames cross-fades its first
    ``plan.overlap`` frames with the previous round's held last ones, emits every frame that no later round
    touches to the sink, and holds the round's last ``plan.overlap`` frames (none after the last round). Frames
    past ``plan.total_frames`` are dropped.
    """

    def __init__(self, plan: ExtensionPlan, sink: FrameSink):
        self.plan, self.sink = plan, sink
        self.emitted = 0
        self._tail: tuple[torch.Tensor, torch.Tensor | None] | None = None

    @property
    def held_frames(self) -> int:
        """Frames held back for the next cross-fade."""
        return 0 if self._tail is None else int(self._tail[0].shape[0])

    def _emit(self, frames: torch.Tensor, depth: torch.Tensor | None) -> None:
        room = self.plan.total_frames - self.emitted
        if room <= 0 or frames.shape[0] == 0:
            return
        frames = frames[:room]
        self.sink.write(frames, None if depth is None else depth[:room])
        self.emitted += int(frames.shape[0])

    def add(self, round_index: int, frames: torch.Tensor, depth: torch.Tensor | None) -> None:
        if frames.shape[0] != self.plan.num_frames:
            raise ValueError(f"round {round_index} has {frames.shape[0]} frames, expected {self.plan.num_frames}")
        if self.emitted != min(self.plan.start(round_index), self.plan.total_frames):
            raise ValueError(f"round {round_index} added out of order")
        if round_index > 0:
            n = self.plan.overlap
            old_frames, old_depth = self._tail
            frames = torch.cat([_blend(old_frames, frames[:n]), frames[n:]])
            if depth is not None:
                depth = torch.cat([_blend(old_depth, depth[:n]), depth[n:]])
        keep = 0 if round_index == self.plan.rounds - 1 else self.plan.overlap
        cut = frames.shape[0] - keep
        self._emit(frames[:cut], None if depth is None else depth[:cut])
        self._tail = None if keep == 0 else (frames[cut:].clone(), None if depth is None else depth[cut:].clone())

    def finish(self) -> None:
        """Check that the whole plan was emitted."""
        if self.emitted != self.plan.total_frames:
            raise RuntimeError(f"emitted {self.emitted} frames, expected {self.plan.total_frames}")


def extension_conditioning(previous: torch.Tensor, cond_frames: int,
                           reference: str = "aligned") -> tuple[FrameConditioning, torch.Tensor]:
    """Conditioning of an extension round from the previous round's (1, C, T_lat, h, w) latent.

    Returns the clean first ``cond_frames`` latent frames (the previous round's last ones) with their frame mask,
    and the reference latent (see the module docstring for ``reference``).
    """
    t_lat = previous.shape[2]
    if not 1 <= cond_frames < t_lat:
        raise ValueError(f"cond_frames must be in [1, {t_lat - 1}], got {cond_frames}")
    carried = previous[:, :, t_lat - cond_frames:]
    latent = torch.zeros_like(previous)
    latent[:, :, :cond_frames] = carried
    frames = torch.zeros(t_lat, dtype=torch.bool)
    frames[:cond_frames] = True
    if reference == "aligned":
        held = previous[:, :, -1:].expand(-1, -1, t_lat - cond_frames, -1, -1)
        ref = torch.cat([carried, held], dim=2)
    elif reference == "previous":
        ref = previous
    else:
        raise ValueError(f"reference must be aligned or previous, got {reference!r}")
    return FrameConditioning(latent=latent, frames=frames), ref


def _grid_depth(log_depth: torch.Tensor | None, num_frames: int) -> torch.Tensor | None:
    """(1, 1, T_lat, h, w) log range -> (num_frames, h, w) metres on the CPU (nearest latent frame in time)."""
    if log_depth is None:
        return None
    return latent_depth_to_video(log_depth.cpu(), num_frames, tuple(log_depth.shape[-2:]))


def _extension_round(pipe, previous: torch.Tensor, prompt: str, tokens, cfg: GenerationConfig, round_index: int, *,
                     progress, info) -> torch.Tensor:
    """Sample extension round ``round_index`` after ``previous``; return its latent."""
    text, negative = pipe.encode_text([prompt, cfg.negative_prompt])
    cond, reference = extension_conditioning(previous, cfg.extend_frames, cfg.extend_reference)
    round_cfg = cfg.replace(seed=round_seed(cfg.seed, round_index))
    noise = pipe._noise(tuple(previous.shape), round_cfg, erp=True)
    inputs = DenoiserInputs(
        text=text, negative_text=negative, image=tokens, reference=reference.to(pipe.device),
        mask_channel=cond.mask().to(pipe.device), frame_latent=cond.latent.to(pipe.device), frames=cond.frames,
        noise=noise,
    )
    return pipe._sample(pipe.transformer, inputs, noise, round_cfg, "extend", progress, info)


def extend_video(pipe, cfg: GenerationConfig, plan: ExtensionPlan, *, latent: torch.Tensor, video: torch.Tensor,
                 log_depth: torch.Tensor | None, pano_prompt: str, tokens, sink: FrameSink | None,
                 perspective: torch.Tensor, timer, progress, info) -> tuple[torch.Tensor, FrameSink]:
    """Stream the first clip (``latent``, ``video``, ``log_depth``) and ``plan.rounds - 1`` extension rounds to
    ``sink`` (a :class:`CollectFrames` when None); return the last round's latent and the sink.

    ``pipe`` is the :class:`~panoworld.pipelines.panoworld.PanoWorldPipeline`; ``timer``, ``progress`` and
    ``info`` are its run's (per-round seconds go to ``info["round_seconds"]``).
    """
    sink = CollectFrames() if sink is None else sink
    stitcher = FrameStitcher(plan, sink)
    sink.begin(perspective)
    stitcher.add(0, video, _grid_depth(log_depth, plan.num_frames))
    del video
    info["extension"] = plan.to_dict()
    info["round_seconds"] = []
    for r in range(1, plan.rounds):
        start = time.perf_counter()
        prompt = cfg.round_prompt(pano_prompt, r)
        with timer("extend_sampling"):
            latent = _extension_round(pipe, latent, prompt, tokens, cfg, r, progress=progress, info=info)
        with timer("extend_decode"):
            frames = pipe._decode(latent, cfg.latent_padding)
        stitcher.add(r, frames, _grid_depth(pipe._depth.pop("extend", None), plan.num_frames))
        del frames
        info["round_seconds"].append(round(time.perf_counter() - start, 3))
    stitcher.finish()
    return latent, sink
