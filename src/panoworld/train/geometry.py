"""The geometry terms of one micro-batch (depth, track, rigidity), every sample and frame pair in one batch.

The random choices (which two latent frames, which tracks) are drawn on the CPU from each sample's generator, in
the order of the per-sample definition (docs/train.md), then padded into (P, N) arrays so that each loss runs once
for the whole micro-batch. Only the network's head outputs live on the device; targets and track positions are
moved there in one copy each, and nothing in here waits on the device except the final sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import LossConfig
from .losses import depth_loss, rigidity_loss, track_loss

__all__ = ["FramePairs", "draw_frame_pairs", "geometry_terms"]

RIGIDITY_MAX_POINTS = 64


@dataclass
class FramePairs:
    """P (sample, frame a, frame b) pairs with their padded track positions.

    ``sample``, ``a``, ``b``: (P,) long; ``xy_a``, ``xy_b``: (P, N, 2) latent-cell positions (0 on padding);
    ``valid``: (P, N) bool."""

    sample: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    xy_a: torch.Tensor
    xy_b: torch.Tensor
    valid: torch.Tensor

    @property
    def count(self) -> int:
        return int(self.sample.numel())

    @classmethod
    def pad(cls, rows: list[tuple[int, int, int, torch.Tensor, torch.Tensor]]) -> "FramePairs":
        """From ``(sample, a, b, xy_a (n, 2), xy_b (n, 2))`` rows."""
        n = max((len(r[3]) for r in rows), default=0)
        xy = torch.zeros(2, len(rows), n, 2, dtype=torch.float32)
        valid = torch.zeros(len(rows), n, dtype=torch.bool)
        for k, (_, _, _, pa, pb) in enumerate(rows):
            xy[0, k, : len(pa)], xy[1, k, : len(pb)] = pa, pb
            valid[k, : len(pa)] = True
        index = torch.tensor([r[:3] for r in rows], dtype=torch.long).reshape(-1, 3)
        return cls(index[:, 0], index[:, 1], index[:, 2], xy[0], xy[1], valid)


def draw_frame_pairs(tracks: list, gens: list[torch.Generator], lo: LossConfig) -> dict[str, FramePairs]:
    """The track and rigidity pairs of a micro-batch: {"track": ..., "rigidity": ...} (only the active terms).

    ``tracks[i]``: None or ((N, T, 2) xy, (N, T) visible, (N,) static) of sample i, on the CPU; ``gens[i]``: its
    generator. Per sample, ``lo.track_pairs`` times: two distinct latent frames with >= 2 visible tracks, the tracks
    visible in both (>= 2, else the draw is skipped), up to ``lo.track_max_points`` of them for the track term and
    up to 64 static ones for rigidity."""
    rows: dict[str, list] = {"track": [], "rigidity": []}
    if not (lo.track_weight > 0 or lo.rigidity_weight > 0):
        return {}
    for i, sample_tracks in enumerate(tracks):
        if sample_tracks is None:
            continue
        xy, visible, static = (x.cpu() for x in sample_tracks)
        frames = torch.nonzero(visible.sum(0) >= 2).squeeze(1).tolist()
        for _ in range(lo.track_pairs if len(frames) >= 2 else 0):
            pick = torch.randperm(len(frames), generator=gens[i])[:2]
            a, b = frames[int(pick[0])], frames[int(pick[1])]
            both = torch.nonzero(visible[:, a] & visible[:, b]).squeeze(1)
            if both.numel() < 2:
                continue
            if lo.track_weight > 0:
                idx = both[torch.randperm(both.numel(), generator=gens[i])[: lo.track_max_points]]
                rows["track"].append((i, a, b, xy[idx, a], xy[idx, b]))
            still = both[static[both]]
            if lo.rigidity_weight > 0 and still.numel() >= 2:
                still = still[torch.randperm(still.numel(), generator=gens[i])[:RIGIDITY_MAX_POINTS]]
                rows["rigidity"].append((i, a, b, xy[still, a], xy[still, b]))
    return {name: FramePairs.pad(found) for name, found in rows.items() if found}


def _per_sample_mean(losses: torch.Tensor, sample: torch.Tensor, size: int) -> tuple[torch.Tensor, int]:
    """Sum over samples of each sample's mean over its pairs, and the number of samples with a pair."""
    counts = torch.bincount(sample, minlength=size)
    present = counts > 0
    sums = torch.zeros(size, dtype=losses.dtype, device=losses.device).index_add(0, sample.to(losses.device), losses)
    mean = sums[present.to(losses.device)] / counts[present].to(losses.device, losses.dtype)
    return mean.sum(), int(present.sum())


def geometry_terms(out, batch, t: torch.Tensor, gens: list[torch.Generator], weights: torch.Tensor,
                   lo: LossConfig) -> dict[str, tuple[torch.Tensor, int]]:
    """{name: (sum over the micro-batch, samples counted)} of the active geometry terms.

    ``out``: the network output with heads (``depth`` (B, 1, T, h, w) log range, ``descriptors`` (B, C, T, h, w));
    ``batch``: its ``samples.Batch`` (depth targets and tracks on the CPU); ``t``: (B, T) flow times (depth is
    supervised on samples whose largest time is <= ``lo.depth_max_t``); ``gens``: one generator per sample;
    ``weights``: (h, 1) row weights."""
    terms: dict[str, tuple[torch.Tensor, int]] = {}
    if lo.depth_weight > 0:
        t_max = t.detach().amax(1).tolist()
        rows = [i for i, target in enumerate(batch.depth) if target is not None and t_max[i] <= lo.depth_max_t
                and bool(torch.isfinite(target).any())]
        if rows:
            target = torch.stack([batch.depth[i] for i in rows]).to(out.depth.device, non_blocking=True)
            per = depth_loss(out.depth[rows, 0], target, weights, lo.depth_scale_invariance)
            terms["depth"] = (per.sum(), len(rows))
    pairs = draw_frame_pairs(batch.tracks, gens, lo)
    if "track" in pairs:
        p = pairs["track"]
        desc = out.descriptors
        losses = track_loss(desc[p.sample, :, p.a], desc[p.sample, :, p.b], p.xy_a, p.xy_b,
                            temperature=lo.track_temperature, negative_radius_deg=lo.track_negative_radius_deg,
                            valid=p.valid)
        terms["track"] = _per_sample_mean(losses, p.sample, batch.size)
    if "rigidity" in pairs:
        p = pairs["rigidity"]
        losses = rigidity_loss(out.depth[p.sample, 0, p.a], out.depth[p.sample, 0, p.b], p.xy_a, p.xy_b, p.valid)
        terms["rigidity"] = _per_sample_mean(losses, p.sample, batch.size)
    return terms
