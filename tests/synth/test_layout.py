"""Planar (column-major) hit arrays and the exact lamp shadow-map columns used by the fast renderer."""

from __future__ import annotations

import math

import torch

from panoworld.synth.shading import put_rows_, take_rows
from panoworld.synth.shadows import ShadowMap


def test_take_and_put_rows_match_indexing_in_both_layouts():
    g = torch.Generator().manual_seed(0)
    rows = torch.rand(50, 3, generator=g)
    planar = rows.T.contiguous().T
    index = torch.tensor([4, 0, 49, 7, 7])
    for x in (rows, planar):
        got = take_rows(x, index)
        assert torch.equal(got, rows[index])
        dest = x.clone()
        src = torch.rand(3, 3, generator=g)
        put_rows_(dest, torch.tensor([1, 2, 3]), src)
        expected = rows.clone()
        expected[1:4] = src
        assert torch.equal(dest, expected) and dest.stride() == x.stride()
    assert take_rows(planar, index).stride(0) == 1  # planar in, planar out


def test_lamp_columns_equal_the_scalar_atan2_texels():
    class Map:
        cols = 1024

    g = torch.Generator().manual_seed(1)
    v = torch.randn(400_000, 3, generator=g) * 5
    # Points exactly on texel edges (the hardest case) next to random ones.
    edges = (torch.arange(Map.cols, dtype=torch.float64) * 2 * math.pi / Map.cols - math.pi)
    v[: Map.cols, 0] = torch.sin(edges).float()
    v[: Map.cols, 2] = torch.cos(edges).float()
    u = ShadowMap._lamp_columns(Map(), v[:, 0], v[:, 2])
    scalar = (torch.atan2(v[:, 0], v[:, 2]) + math.pi) * (Map.cols / (2 * math.pi))  # strided: scalar path
    assert torch.equal(u.long(), scalar.long())
