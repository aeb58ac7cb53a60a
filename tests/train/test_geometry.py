"""The batched geometry terms of a micro-batch equal the per-sample, per-pair definition (docs/train.md): same
random draws, same values, same gradients, with padding of pairs of unequal track counts contributing nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from panoworld.train.config import LossConfig
from panoworld.train.flow import row_weights
from panoworld.train.geometry import draw_frame_pairs, geometry_terms
from panoworld.train.losses import depth_loss, rigidity_loss, track_loss

B, C, T, H, W = 5, 6, 4, 8, 16


def _tracks(gen: torch.Generator, n: int) -> tuple:
    xy = torch.rand(n, T, 2, generator=gen) * torch.tensor([W, H - 1.0])
    visible = torch.rand(n, T, generator=gen) > 0.35
    static = torch.rand(n, generator=gen) > 0.4
    return xy, visible, static


def _batch():
    gen = torch.Generator().manual_seed(3)
    depth = [torch.randn(T, H, W, generator=gen) for _ in range(B)]
    depth[1][:2] = float("nan")
    depth[3] = None
    depth[4] = torch.full((T, H, W), float("nan"))  # no supervised cell: not counted
    tracks = [_tracks(gen, n) for n in (30, 7, 0, 12, 40)]
    tracks[2] = None
    out = SimpleNamespace(depth=torch.randn(B, 1, T, H, W, requires_grad=True),
                          descriptors=torch.randn(B, C, T, H, W, requires_grad=True))
    t = torch.tensor([[0.2] * T, [0.5] * T, [0.9] * T, [0.1] * T, [0.3] * T])
    return SimpleNamespace(depth=depth, tracks=tracks, size=B), out, t


def _reference(out, batch, t, gens, weights, lo: LossConfig) -> dict:
    """The per-sample loop the batched version replaces."""
    terms: dict[str, list] = {}
    for i in range(batch.size):
        target = batch.depth[i]
        if lo.depth_weight > 0 and target is not None and float(t[i].max()) <= lo.depth_max_t \
                and bool(torch.isfinite(target).any()):
            terms.setdefault("depth", []).append(depth_loss(out.depth[i, 0], target, weights,
                                                            lo.depth_scale_invariance))
        if batch.tracks[i] is None:
            continue
        xy, visible, static = batch.tracks[i]
        frames = [k for k in range(visible.shape[1]) if int(visible[:, k].sum()) >= 2]
        found: dict[str, list] = {}
        for _ in range(lo.track_pairs if len(frames) >= 2 else 0):
            pick = torch.randperm(len(frames), generator=gens[i])[:2]
            a, b = frames[int(pick[0])], frames[int(pick[1])]
            both = torch.nonzero(visible[:, a] & visible[:, b]).squeeze(1)
            if both.numel() < 2:
                continue
            idx = both[torch.randperm(both.numel(), generator=gens[i])[: lo.track_max_points]]
            found.setdefault("track", []).append(track_loss(
                out.descriptors[i, :, a], out.descriptors[i, :, b], xy[idx, a], xy[idx, b],
                temperature=lo.track_temperature, negative_radius_deg=lo.track_negative_radius_deg))
            still = both[static[both]]
            if still.numel() >= 2:
                still = still[torch.randperm(still.numel(), generator=gens[i])[:64]]
                found.setdefault("rigidity", []).append(
                    rigidity_loss(out.depth[i, 0, a], out.depth[i, 0, b], xy[still, a], xy[still, b]))
        for name, values in found.items():
            terms.setdefault(name, []).append(torch.stack(values).mean())
    return {k: (torch.stack(v).sum(), len(v)) for k, v in terms.items()}


def _gens():
    return [torch.Generator().manual_seed(100 + i) for i in range(B)]


def test_batched_terms_match_the_per_sample_definition_in_value_and_gradient():
    lo = LossConfig(depth_weight=0.5, track_weight=0.1, rigidity_weight=0.2, depth_max_t=0.6, track_pairs=3,
                    track_max_points=9, track_negative_radius_deg=20.0)
    batch, out, t = _batch()
    weights = row_weights(H, solid_angle=True)
    got = geometry_terms(out, batch, t, _gens(), weights, lo)
    want = _reference(out, batch, t, _gens(), weights, lo)
    assert sorted(got) == sorted(want) == ["depth", "rigidity", "track"]
    assert got["depth"][1] == 2  # sample 2 is past depth_max_t, 3 has no target, 4 no supervised cell
    for name in want:
        assert got[name][1] == want[name][1]
        assert got[name][0].item() == pytest.approx(want[name][0].item(), rel=1e-5, abs=1e-6)
        g_got = torch.autograd.grad(got[name][0], [out.depth, out.descriptors], allow_unused=True)
        g_want = torch.autograd.grad(want[name][0], [out.depth, out.descriptors], allow_unused=True)
        for a, b in zip(g_got, g_want):
            assert (a is None) == (b is None)
            if a is not None:
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_padding_of_a_shorter_pair_does_not_change_its_loss():
    gen = torch.Generator().manual_seed(0)
    desc = torch.randn(2, C, H, W, generator=gen)
    xy = torch.rand(2, 10, 2, generator=gen) * torch.tensor([W, H - 1.0])
    valid = torch.ones(2, 10, dtype=torch.bool)
    valid[1, 4:] = False
    batched = track_loss(desc, desc.roll(1, -1), xy, xy + 0.5, temperature=0.1, negative_radius_deg=2.0, valid=valid)
    alone = track_loss(desc[1], desc[1].roll(1, -1), xy[1, :4], xy[1, :4] + 0.5, temperature=0.1,
                       negative_radius_deg=2.0)
    assert torch.isfinite(batched).all()
    assert batched[1].item() == pytest.approx(alone.item(), rel=1e-6)
    rigid = rigidity_loss(desc[:, 0], desc[:, 1], xy, xy + 0.5, valid)
    assert rigid[1].item() == pytest.approx(rigidity_loss(desc[1, 0], desc[1, 1], xy[1, :4], xy[1, :4] + 0.5).item(),
                                            rel=1e-6)


def test_inactive_terms_draw_nothing():
    batch, _, _ = _batch()
    assert draw_frame_pairs(batch.tracks, _gens(), LossConfig(depth_weight=1.0)) == {}
    pairs = draw_frame_pairs(batch.tracks, _gens(), LossConfig(track_weight=1.0, track_max_points=5))
    assert set(pairs) == {"track"} and pairs["track"].valid.sum(1).max() <= 5
    assert 2 not in pairs["track"].sample.tolist()  # no tracks
