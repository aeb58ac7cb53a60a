"""3-D rotary position embeddings (RoPE) of the Cosmos DiT and their panoramic variants.

The head dimension ``D`` is split as in Cosmos: ``D_h = D_w = (D // 6) * 2`` and ``D_t = D - 2 D_h`` (44/42/42 for
D = 128). Each axis gets the frequencies ``omega_k = theta^(-2k / D_axis)`` with the NTK-scaled base
``theta = 10000 * s^(D_axis / (D_axis - 2))`` for the extrapolation ratio ``s`` of that axis (``rope_scale``).
A token at grid position (t, i, j) is rotated by the angles ``[p_t omega_t | p_h omega_h | p_w omega_w]``, the
64-vector duplicated to 128 and applied rotate-half style (dimension d pairs with d + D/2).

Position rules (``rope_type``):

* ``linear``   -- stock Cosmos: ``p_t = t, p_h = i, p_w = j`` (bit-identical to diffusers ``CosmosRotaryPosEmbed``).
* ``equirect`` -- the PanoWorld reference: rows sine-warped,
  ``p_h = (sin(-pi/2 + i pi / (H - 1)) + 1) / 2 * (H - 1)``; columns linear.
* ``periodic`` -- ours: equirect rows, and longitude on a circle. The width frequencies are snapped to the
  nearest multiple of ``2 pi / W`` (``omega'_k = 2 pi n_k / W`` with ``n_k = round(omega_k W / 2 pi)``) and the
  angle is computed as ``2 pi ((n_k j) mod W) / W`` from an exact integer, so the table of column ``j`` equals the
  table of column ``j + W`` bit for bit: rolling the token grid by k columns rolls the RoPE table by k columns.
  See docs/rope.md.

No width or height cap: positions are generated for any grid size.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ROPE_TYPES", "PanoWorldRotaryPosEmbed", "equirect_row_positions", "periodic_width_harmonics"]

ROPE_TYPES = ("linear", "equirect", "periodic")


def equirect_row_positions(height: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """Latitude-warped RoPE row positions of the PanoWorld reference, shape (height,), float32.

    ``p_i = (sin(-pi/2 + i pi / (H - 1)) + 1) / 2 * (H - 1)``: endpoints 0 and H - 1 are kept, the spacing is
    ``~ (pi/2) cos(latitude)`` position units per row (1.57 at the equator, ~0.08 next to a pole for H = 32).
    A single row (H = 1) sits at position 0.
    """
    if height <= 1:
        return torch.zeros(max(height, 0), device=device, dtype=torch.float32)
    i = torch.arange(height, device=device, dtype=torch.float64)
    phi = -math.pi / 2 + i * (math.pi / (height - 1))
    return ((torch.sin(phi) + 1) / 2 * (height - 1)).to(torch.float32)


def periodic_width_harmonics(freqs: torch.Tensor, width: int) -> torch.Tensor:
    """Integer harmonics ``n_k = round(omega_k W / (2 pi))`` of the W-periodic width frequencies, int64 (K,).

    ``omega'_k = 2 pi n_k / W`` is the W-periodic frequency nearest to ``omega_k``; ``n_k = 0`` marks a frequency
    too low to complete half a turn over the whole circumference (its channel carries no longitude information,
    as it carries almost none in the stock table at that width).
    """
    return torch.round(freqs.double() * width / (2 * math.pi)).to(torch.int64)


class PanoWorldRotaryPosEmbed(nn.Module):
    """Weightless 3-D RoPE table generator: ``forward(hidden_states, fps=None) -> (cos, sin)``.

    Args:
        hidden_size: attention head dimension D (128 for Cosmos-2B).
        patch_size: (p_t, p_h, p_w) of the patch embedding; the token grid is (T/p_t, H/p_h, W/p_w).
        rope_scale: NTK extrapolation ratios (t, h, w); Cosmos-Predict2.5 uses (1, 3, 3).
        rope_type: "linear", "equirect" or "periodic" (see the module docstring).
        base_fps: reference frame rate for fps modulation (only used when ``fps_modulation`` is on).
        fps_modulation: scale temporal positions by ``base_fps / fps`` when an fps is given (stock Cosmos-Predict2
            behaviour; Predict2.5 and PanoWorld run with it off, ``p_t`` = latent frame index).

    ``forward`` takes the latent tensor (B, C, T, H, W) only for its shape and device and returns ``cos`` and
    ``sin`` of shape (T' H' W', D), float32, tokens in (t, h, w) raster order.
    """

    def __init__(
        self,
        hidden_size: int,
        patch_size: tuple[int, int, int] = (1, 2, 2),
        rope_scale: tuple[float, float, float] = (1.0, 3.0, 3.0),
        rope_type: str = "linear",
        base_fps: int = 24,
        fps_modulation: bool = False,
    ) -> None:
        super().__init__()
        if rope_type not in ROPE_TYPES:
            raise ValueError(f"rope_type must be one of {ROPE_TYPES}, got {rope_type!r}")
        self.patch_size = tuple(patch_size)
        self.rope_type = rope_type
        self.base_fps = base_fps
        self.fps_modulation = fps_modulation
        self.dim_h = hidden_size // 6 * 2
        self.dim_w = hidden_size // 6 * 2
        self.dim_t = hidden_size - self.dim_h - self.dim_w
        self.h_ntk_factor = rope_scale[1] ** (self.dim_h / (self.dim_h - 2))
        self.w_ntk_factor = rope_scale[2] ** (self.dim_w / (self.dim_w - 2))
        self.t_ntk_factor = rope_scale[0] ** (self.dim_t / (self.dim_t - 2))

    @staticmethod
    def _freqs(dim: int, theta: float, device: torch.device) -> torch.Tensor:
        rng = torch.arange(0, dim, 2, device=device, dtype=torch.float32)[: dim // 2] / dim
        return 1.0 / (theta**rng)

    def frequencies(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The stock (t, h, w) frequency vectors, float32, lengths (D_t/2, D_h/2, D_w/2)."""
        device = torch.device(device)
        return (
            self._freqs(self.dim_t, 10000.0 * self.t_ntk_factor, device),
            self._freqs(self.dim_h, 10000.0 * self.h_ntk_factor, device),
            self._freqs(self.dim_w, 10000.0 * self.w_ntk_factor, device),
        )

    def angles(self, grid: tuple[int, int, int], device: torch.device | str = "cpu", fps=None) -> torch.Tensor:
        """Rotation angles per token, (T H W, D/2) float32, for a token grid (T, H, W)."""
        num_t, num_h, num_w = grid
        device = torch.device(device)
        t_freqs, h_freqs, w_freqs = self.frequencies(device)
        pos_t = torch.arange(num_t, device=device, dtype=torch.float32)
        if fps is not None and self.fps_modulation:
            pos_t = pos_t / fps * self.base_fps
        if self.rope_type == "linear":
            pos_h = torch.arange(num_h, device=device, dtype=torch.float32)
        else:
            pos_h = equirect_row_positions(num_h, device=device)
        emb_t = torch.outer(pos_t, t_freqs)
        emb_h = torch.outer(pos_h, h_freqs)
        if self.rope_type == "periodic":
            harmonics = periodic_width_harmonics(w_freqs, num_w).to(device)
            cols = torch.arange(num_w, device=device, dtype=torch.int64)
            phase = torch.remainder(torch.outer(cols, harmonics), num_w)  # exact integers in [0, W)
            emb_w = (phase.double() * (2 * math.pi / num_w)).to(torch.float32)
        else:
            pos_w = torch.arange(num_w, device=device, dtype=torch.float32)
            emb_w = torch.outer(pos_w, w_freqs)
        emb_t = emb_t[:, None, None, :].expand(num_t, num_h, num_w, -1)
        emb_h = emb_h[None, :, None, :].expand(num_t, num_h, num_w, -1)
        emb_w = emb_w[None, None, :, :].expand(num_t, num_h, num_w, -1)
        return torch.cat([emb_t, emb_h, emb_w], dim=-1).flatten(0, 2)

    def forward(self, hidden_states: torch.Tensor, fps=None) -> tuple[torch.Tensor, torch.Tensor]:
        _, _, num_frames, height, width = hidden_states.shape
        p_t, p_h, p_w = self.patch_size
        grid = (num_frames // p_t, height // p_h, width // p_w)
        freqs = self.angles(grid, hidden_states.device, fps=fps)
        cos, sin = torch.cos(freqs), torch.sin(freqs)
        return torch.cat([cos, cos], dim=-1), torch.cat([sin, sin], dim=-1)
