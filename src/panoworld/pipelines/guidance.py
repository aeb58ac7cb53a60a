"""The guided denoiser: everything the reference does around one network evaluation, in one place.

Per evaluation at flow time t (reference §2.6-§2.7, §4.4):

1. FOV paste: ``x~ = m * guide + (1 - m) * x`` (the clean guide, never re-noised); ``x~`` is also what the
   solver integrates from.
2. Frame replace: conditional latent frames of the network input are the clean latent, and get timestep
   ``0.1 / 1000`` instead of ``floor(1000 t) / 1000``.
3. Network input ``[x_in | reference]`` (+ mask channel), text embedding, SigLIP tokens (conditional branch
   only), negative prompt in the unconditional branch.
4. CFG ``v = v_c + g (v_c - v_u)``; on conditional frames the velocity is replaced by ``noise - x0``.

CFG branches run batched (one forward of batch 2) or sequentially with identical results: the unconditional
half never sees the image context. A transformer that applies an ``image_hidden_states`` of batch 1 to the
first row of a batch only (``supports_partial_image_batch = True``) gets one batched call; any other
transformer gets two calls (the sequential path) whenever an image context is present.

With ``want_depth`` the conditional branch of the last evaluation also runs the transformer's depth head
(``return_heads=True``; same velocity): ``depth`` then holds its (1, 1, T_lat, h, w) log range in metres, rolled
back to the unrotated latent.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .schedule import CONDITIONAL_FRAME_TIMESTEP, FlowSchedule

__all__ = ["DenoiserInputs", "GuidedDenoiser"]

_SPATIAL = ("reference", "mask_channel", "paste_latent", "paste_mask", "frame_latent", "noise")


@dataclass
class DenoiserInputs:
    """What conditions the network besides the noisy latent (all latents (1, C, T_lat, h, w), float32).

    Attributes:
        text: (1, L, D) prompt embedding.
        negative_text: (1, L, D) negative-prompt embedding (unconditional branch); None disables CFG.
        image: (1, N, D_img) SigLIP tokens for the conditional branch, or None.
        reference: (1, 16, ...) reference latent for a ``reference_channels=16`` network, or None.
        mask_channel: (1, 1, ...) the network's condition-mask channel, or None (zeros).
        paste_latent / paste_mask: clean guide and its (1, 1, ...) mask for the FOV paste, or None.
        frame_latent / frames: clean latent and (T_lat,) bool conditional latent frames, or None.
        noise: the initial noise (frame-replace velocity ``noise - x0``).
    """

    text: torch.Tensor
    negative_text: torch.Tensor | None = None
    image: torch.Tensor | None = None
    reference: torch.Tensor | None = None
    mask_channel: torch.Tensor | None = None
    paste_latent: torch.Tensor | None = None
    paste_mask: torch.Tensor | None = None
    frame_latent: torch.Tensor | None = None
    frames: torch.Tensor | None = None
    noise: torch.Tensor | None = None

    def rolled(self, shift: int) -> "DenoiserInputs":
        """A copy with every spatial latent rolled by ``shift`` columns (rotated denoising)."""
        if shift == 0:
            return self
        values = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in _SPATIAL:
            if values[key] is not None:
                values[key] = torch.roll(values[key], shift, dims=-1)
        return DenoiserInputs(**values)


class GuidedDenoiser:
    """Callable ``(x, index) -> (x_solver, velocity)`` for :func:`panoworld.pipelines.sampler.sample`.

    Args:
        transformer: a ``PanoWorldTransformer`` (or anything with its forward signature).
        inputs: the conditioning (on the transformer's device).
        schedule: the run's :class:`FlowSchedule` (gives the network timestep of every evaluation).
        guidance: CFG weight g >= 0 in ``v_c + g (v_c - v_u)``; 0 skips the unconditional branch.
        cfg_batch: "batched" (cond and uncond in one forward), "sequential", or "auto" (= batched).
        compute_dtype: dtype of the network inputs (bf16 on GPU); outputs are float32.
        bf16_timesteps: round the timestep in 1/1000 units to bfloat16 before the 0.001 scale (995 -> 996,
            0.1 -> 0.10009765625), as the reference's monkey-patched forward does by casting every float input to
            bf16. Off by default: the network sees the exact ``floor(1000 t) * 0.001`` it was trained with.
        want_depth: keep the depth head's prediction of the last evaluation in ``self.depth``.
        step_cache: a :class:`~panoworld.pipelines.step_cache.StepCache` attached to the transformer, told about
            every network call (evaluation index and CFG slot), or None.
    """

    def __init__(self, transformer, inputs: DenoiserInputs, schedule: FlowSchedule, *, guidance: float = 7.0,
                 cfg_batch: str = "auto", compute_dtype: torch.dtype | None = None, bf16_timesteps: bool = False,
                 want_depth: bool = False, step_cache=None):
        if guidance < 0:
            raise ValueError(f"guidance must be >= 0, got {guidance}")
        if cfg_batch not in ("auto", "batched", "sequential"):
            raise ValueError(f"cfg_batch must be auto, batched or sequential, got {cfg_batch!r}")
        self.transformer = transformer
        self.inputs = inputs
        self.schedule = schedule
        self.guidance = float(guidance)
        self.cfg_batch = "batched" if cfg_batch == "auto" else cfg_batch
        self.compute_dtype = compute_dtype
        self.bf16_timesteps = bool(bf16_timesteps)
        self.shift = 0
        self._rolled = inputs
        self.want_depth = bool(want_depth)
        self.depth: torch.Tensor | None = None
        self._heads = False
        self.step_cache = step_cache
        self._index = 0

    def roll(self, shift: int) -> None:
        """Rotated denoising: the latent was rolled by ``shift`` columns; roll every spatial input with it."""
        self.shift += int(shift)
        self._rolled = self.inputs.rolled(self.shift)

    def _timestep(self, index: int, num_frames: int, device) -> torch.Tensor:
        units = torch.full((num_frames,), float(self.schedule.timesteps[index]), dtype=torch.float64)
        if self.inputs.frames is not None:
            units[self.inputs.frames.cpu()] = CONDITIONAL_FRAME_TIMESTEP
        if self.bf16_timesteps:
            units = units.to(torch.bfloat16).double()
        return (units * 0.001).float()[None].to(device)

    def _net(self, hidden, timestep, text, image, mask, slot="cond"):
        if self.step_cache is not None:
            self.step_cache.begin(self._index, self.schedule.num_evals, slot, force_full=self._heads)
        dtype = self.compute_dtype or hidden.dtype
        cast = (lambda x: None if x is None else x.to(dtype))
        heads = {"return_heads": True} if self._heads else {}
        out = self.transformer(
            hidden_states=cast(hidden), timestep=timestep, encoder_hidden_states=cast(text),
            image_hidden_states=cast(image), condition_mask=cast(mask), return_dict=False, **heads,
        )
        if self._heads:  # the first row is the conditional branch
            self._heads = False
            self.depth = torch.roll(out[1][:1].float(), -self.shift, dims=-1)
        return out[0].float()

    def _branches(self, hidden, timestep, mask) -> tuple[torch.Tensor, torch.Tensor | None]:
        inp = self._rolled
        if inp.negative_text is None or self.guidance == 0:
            return self._net(hidden, timestep, inp.text, inp.image, mask), None
        partial = inp.image is None or getattr(self.transformer, "supports_partial_image_batch", False)
        if self.cfg_batch == "batched" and partial:
            texts = torch.cat([inp.text, inp.negative_text])
            if getattr(self.transformer, "supports_shared_latent_batch", False):  # one latent, two contexts
                out = self._net(hidden, timestep, texts, inp.image, mask, "batched")
            else:
                two = lambda x: None if x is None else torch.cat([x, x])  # noqa: E731
                out = self._net(two(hidden), two(timestep), texts, inp.image, two(mask), "batched")
            return out[:1], out[1:]
        v_c = self._net(hidden, timestep, inp.text, inp.image, mask)
        v_u = self._net(hidden, timestep, inp.negative_text, None, mask, "uncond")
        return v_c, v_u

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        inp = self._rolled
        x_solver = x
        if inp.paste_latent is not None:
            x_solver = inp.paste_mask * inp.paste_latent + (1 - inp.paste_mask) * x
        x_in = x_solver
        frame_mask = None
        if inp.frame_latent is not None:
            frame_mask = inp.frames.to(x.device, x.dtype).view(1, 1, -1, 1, 1)
            x_in = frame_mask * inp.frame_latent + (1 - frame_mask) * x_solver
        hidden = x_in if inp.reference is None else torch.cat([x_in, inp.reference], dim=1)
        timestep = self._timestep(index, x.shape[2], x.device)
        self._index = index
        self._heads = self.want_depth and index == self.schedule.num_evals - 1
        v_c, v_u = self._branches(hidden, timestep, inp.mask_channel)
        velocity = v_c if v_u is None else v_c + self.guidance * (v_c - v_u)
        if frame_mask is not None:
            velocity = frame_mask * (inp.noise - inp.frame_latent) + (1 - frame_mask) * velocity
        return x_solver, velocity
