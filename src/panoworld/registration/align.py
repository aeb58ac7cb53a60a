"""Least-squares rigid / similarity alignment of paired 3-D point sets (Kabsch-Umeyama), batched torch.

The one alignment of panoworld: annotate's RANSAC camera motion (rigid, weighted) and eval's trajectory and
3-D track errors (Sim(3)) both call :func:`align_points`. Points are in any consistent length unit
(metres throughout panoworld); the returned translation is in the unit of ``dst``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["Similarity", "align_points", "apply_similarity"]


class Similarity(NamedTuple):
    """``dst ≈ scale * rotation @ src + translation`` for a batch of point sets."""

    scale: torch.Tensor  # (...,) unitless; 1 unless fitted with_scale
    rotation: torch.Tensor  # (..., 3, 3) proper rotation (det +1)
    translation: torch.Tensor  # (..., 3) unit of dst; 0 unless fitted with_translation


def align_points(
    src: torch.Tensor,
    dst: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    with_scale: bool = False,
    with_translation: bool = True,
) -> Similarity:
    """Least-squares ``dst ≈ s R src + t`` over paired points (Umeyama 1991, weighted).

    Args:
        src, dst: (..., N, 3) finite floating-point points paired by index; leading dims are a batch.
        weights: optional (..., N) non-negative weights (broadcast against the batch); None = all 1.
        with_scale: fit the scale s (Sim(3)); else s = 1 (rigid).
        with_translation: fit t about the weighted centroids; else t = 0 and R (and s) act about the origin.

    Returns:
        :class:`Similarity` with scale (...,), rotation (..., 3, 3), translation (..., 3), in src's dtype.

    A reflection is never returned: when the best orthogonal fit would be one, the axis of the smallest
    singular value is flipped (det R = +1). When either point set has no spread (all points coincide, or the
    weights sum to 0) the rotation is undefined: the result is R = I, s = 1 and t aligns the centroids.
    """
    if src.shape != dst.shape or src.shape[-1] != 3:
        raise ValueError(f"align_points needs paired (..., N, 3) points, got {tuple(src.shape)} and {tuple(dst.shape)}")
    dtype = src.dtype
    dst = dst.to(dtype)
    w = torch.ones(src.shape[:-1], dtype=dtype, device=src.device) if weights is None else weights.to(dtype)
    w = w.expand(src.shape[:-1])
    wsum = w.sum(-1, keepdim=True)
    wn = w / wsum.clamp_min(torch.finfo(dtype).tiny)
    if with_translation:
        mu_s = (wn[..., None] * src).sum(-2)
        mu_d = (wn[..., None] * dst).sum(-2)
    else:
        mu_s = mu_d = torch.zeros(src.shape[:-2] + (3,), dtype=dtype, device=src.device)
    xs, xd = src - mu_s[..., None, :], dst - mu_d[..., None, :]
    cov = (xd * wn[..., None]).transpose(-1, -2) @ xs  # (..., 3, 3) = E_w[xd xs^T]
    u, sv, vh = torch.linalg.svd(cov)
    sign = torch.sign(torch.det(u) * torch.det(vh))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    flip = torch.stack([torch.ones_like(sign), torch.ones_like(sign), sign], -1)
    rot = u @ (flip[..., None] * vh)

    eps = torch.finfo(dtype).eps
    var_s = (wn * xs.square().sum(-1)).sum(-1)
    var_d = (wn * xd.square().sum(-1)).sum(-1)
    flat = (var_s <= eps * (wn * src.square().sum(-1)).sum(-1)) | (var_d <= eps * (wn * dst.square().sum(-1)).sum(-1))
    flat = flat | (wsum[..., 0] <= 0)
    eye = torch.eye(3, dtype=dtype, device=src.device).expand_as(rot)
    rot = torch.where(flat[..., None, None], eye, rot)
    if with_scale:
        scale = (sv * flip).sum(-1) / var_s.clamp_min(torch.finfo(dtype).tiny)
        scale = torch.where(flat, torch.ones_like(scale), scale)
    else:
        scale = torch.ones(src.shape[:-2], dtype=dtype, device=src.device)
    trans = mu_d - scale[..., None] * (rot @ mu_s[..., None])[..., 0]
    return Similarity(scale, rot, trans)


def apply_similarity(points: torch.Tensor, sim: Similarity) -> torch.Tensor:
    """``s R p + t`` for (..., N, 3) points and a :class:`Similarity` with batch shape (...)."""
    rotated = points @ sim.rotation.transpose(-1, -2)
    return sim.scale[..., None, None] * rotated + sim.translation[..., None, :]
