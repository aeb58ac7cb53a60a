"""Procedural textures evaluated analytically from hit coordinates (metres), so they are continuous
across the ERP seam and move with the object they are attached to.

Each pattern maps local hit points ``p`` (M, 3), local unit normals ``n`` (M, 3), two colours ``a``,
``b`` (M, 3) in [0, 1] and a scale ``s`` (M,) in metres to an albedo (M, 3).
"""

from __future__ import annotations

import math

import torch

__all__ = ["PATTERNS", "evaluate_pattern", "planar_uv", "scale_rows", "sky_color"]

PATTERNS = ("flat", "noise", "tiles", "wood", "brick", "stripes", "checker", "facade", "ball", "person", "road", "sky")


def _fract(x: torch.Tensor) -> torch.Tensor:
    return x - torch.floor(x)


def scale_rows(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``x * w[:, None]`` for (M, C) ``x`` and (M,) ``w``, computed channel-major (contiguous for planar
    ``x``, see :func:`panoworld.synth.shading.take_rows`); the same values in any layout."""
    return (x.T * w).T


def _hash2(i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """Deterministic pseudo-random value in [0, 1) per integer cell (i, j)."""
    return _fract(torch.sin(i * 12.9898 + j * 78.233) * 43758.5453)


def _noise(p: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Smooth band-limited noise in [0, 1]: a product of two incommensurate sinusoids of the 3-D point."""
    q = (p.T / s).T
    x, y, z = q.unbind(-1)
    v = torch.sin(1.7 * x + 2.3 * z + 0.5 * y) * torch.sin(3.1 * z - 2.9 * y + 1.3 * x + 1.0)
    return v.mul_(0.5).add_(0.5)


def planar_uv(p: torch.Tensor, n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Texture coordinates (u, v) in metres on the plane most facing the normal (v runs along -y where vertical)."""
    # The first axis of largest |n| (as argmax), written out: argmax over a size-3 axis is slow.
    nx, ny, nz = n.abs().unbind(-1)
    ax = torch.where((nx >= ny) & (nx >= nz), 0, torch.where(ny >= nz, 1, 2))
    x, y, z = p.unbind(-1)
    u = torch.where(ax == 0, z, x)
    v = torch.where(ax == 1, z, -y)
    return u, v


def _mix(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``a + (b - a) * w[:, None]``, with in-place steps on one temporary (memory traffic dominates)."""
    out = (b - a).T
    return out.mul_(w).add_(a.T).T


def _lines(u: torch.Tensor, width: float) -> torch.Tensor:
    """1 on thin lines at integer u (line width as a fraction of the period), else 0."""
    f = _fract(u)
    return ((f < width) | (f > 1 - width)).to(u.dtype)


def evaluate_pattern(name: str, p, n, a, b, s) -> torch.Tensor:
    """Albedo (M, 3) of pattern ``name`` (one of :data:`PATTERNS` except ``sky``, see :func:`sky_color`)."""
    if name == "flat":
        return a.clone()
    if name == "noise":
        return _mix(a, b, _noise(p, s))
    if name == "checker":
        u, v = planar_uv(p, n)
        c = (torch.floor(u / s) + torch.floor(v / s)) % 2
        return _mix(a, b, c)
    if name == "ball":
        pc = p.contiguous()  # row-major whatever the caller's layout: the same atan2 code path
        ang = torch.atan2(pc[..., 0], pc[..., 2])
        seg = torch.floor((ang + math.pi) / (math.pi / 3)) % 2
        cap = (p[..., 1].abs() > 0.8 * s).to(p.dtype)
        return _mix(_mix(a, b, seg), torch.ones_like(a), cap)
    if name == "person":
        # Shirt colour above the belt (local y < 0 is up), trousers below, darker shoes.
        y = p[..., 1]
        pants = (y > 0.05).to(p.dtype)
        shoes = (y > 0.75 * s).to(p.dtype)
        out = _mix(a, b, pants)
        return _mix(out, torch.full_like(a, 0.08), shoes)
    if name == "road":
        asphalt = _mix(a, a * 0.75, _noise(p, torch.full_like(s, 0.4)))
        mark = ((p[..., 2].abs() < 0.08) & (_fract(p[..., 0] / 6.0) < 0.5)).to(p.dtype)
        edge = ((p[..., 2].abs() - s).abs() < 0.1).to(p.dtype)
        curb = (p[..., 2].abs() > s + 0.1).to(p.dtype)
        side = _mix(b, b * 0.85, torch.maximum(_lines(p[..., 0] / 1.5, 0.02), _lines(p[..., 2] / 1.5, 0.02)))
        out = _mix(asphalt, side, curb)
        return _mix(out, torch.full_like(a, 0.92), torch.maximum(mark, edge) * (1 - curb))
    u, v = planar_uv(p, n)
    us, vs = u / s, v / s
    if name == "tiles":
        grout = torch.maximum(_lines(us, 0.03), _lines(vs, 0.03))
        tint = 0.85 + 0.3 * _hash2(torch.floor(us), torch.floor(vs))
        return _mix(scale_rows(a, tint.clamp(0, 1.2)), b, grout).clamp(0, 1)
    if name == "wood":
        plank_w = 0.25
        row = torch.floor(vs / plank_w)
        offset = _hash2(row, row * 0.37 + 1.0) * 3.0
        seam_u = _lines((us + offset) / 4.0, 0.004)
        seam = torch.maximum(_lines(vs / plank_w, 0.03), seam_u)
        grain = 0.5 + 0.5 * torch.sin(40.0 * vs + 3.0 * torch.sin(2.0 * us + row))
        tint = 0.8 + 0.35 * _hash2(row, torch.floor((us + offset) / 4.0))
        base = scale_rows(_mix(a, b, 0.35 * grain), tint)
        return scale_rows(base, 1 - 0.5 * seam).clamp(0, 1)
    if name == "brick":
        bh, bw = 0.5, 1.0
        row = torch.floor(vs / bh)
        uu = us / bw + 0.5 * (row % 2)
        mortar = torch.maximum(_lines(vs / bh, 0.08), _lines(uu, 0.04))
        tint = 0.8 + 0.35 * _hash2(row, torch.floor(uu))
        return _mix(scale_rows(a, tint).clamp(0, 1), b, mortar)
    if name == "stripes":
        w = (torch.sin(2 * math.pi * us) > 0.3).to(p.dtype)
        return _mix(a, b, 0.85 * w)
    if name == "facade":
        # Window grid: 3 m storeys, 2.5 m bays; windows are dark glass with a light frame.
        fu, fv = _fract(u / 2.5), _fract(v / 3.0)
        win = ((fu > 0.22) & (fu < 0.78) & (fv > 0.25) & (fv < 0.8) & (v > 0.5)).to(p.dtype)
        lit = _hash2(torch.floor(u / 2.5), torch.floor(v / 3.0))
        glass = torch.stack([0.18 + 0.5 * lit * (lit > 0.8), 0.22 + 0.45 * lit * (lit > 0.8), 0.3 + 0.1 * lit], -1)
        wall = _mix(a, b, 0.3 * _noise(p, torch.full_like(s, 0.7)))
        return _mix(wall, glass.clamp(0, 1), win)
    raise ValueError(f"unknown pattern {name!r}; expected one of {PATTERNS}")


def sky_color(d: torch.Tensor, sun: torch.Tensor, zenith, horizon) -> torch.Tensor:
    """Sky radiance (M, 3) for world directions ``d`` (M, 3): zenith/horizon gradient, clouds and a sun disc.

    ``sun`` is the unit direction towards the sun (3,); up is -y.
    """
    up = (-d[..., 1]).clamp(-1, 1)
    zen = torch.as_tensor(zenith, dtype=d.dtype, device=d.device)
    hor = torch.as_tensor(horizon, dtype=d.dtype, device=d.device)
    w = up.clamp_min(0).pow(0.6)
    col = hor + (zen - hor) * w.unsqueeze(-1)
    # Clouds: noise on the plane the ray reaches at unit height, faded towards the horizon.
    h = up.clamp_min(0.05)
    cx, cz = d[..., 0] / h, d[..., 2] / h
    c = torch.sin(1.3 * cx + 0.4 * torch.sin(2.1 * cz)) * torch.sin(1.1 * cz + 0.7) + 0.5 * torch.sin(3.3 * cx - 2.7 * cz)
    cloud = ((c - 0.35) * 1.6).clamp(0, 1) * (up > 0.03).to(d.dtype) * (1 - (-(up - 0.03) * 8).exp())
    col = col + (0.95 - col) * (0.8 * cloud).unsqueeze(-1)
    cos_sun = d[..., 0] * sun[0] + d[..., 1] * sun[1] + d[..., 2] * sun[2]
    glow = (cos_sun.clamp_min(0) ** 64) * 0.4 + (cos_sun > 0.9995).to(d.dtype) * 2.0
    return (col + glow.unsqueeze(-1) * torch.tensor([1.0, 0.95, 0.8], dtype=d.dtype, device=d.device)).clamp(0, 1)
