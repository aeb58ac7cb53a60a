"""Depth in metres -> colours on a logarithmic scale, and the legend (ticks in metres) that explains them.

Near is red, far is dark blue; the scale spans the 1st..99th percentile of the clip's valid depths, so a sky
dome at 150 m does not flatten the room. Invalid depths (NaN, inf, <= 0) are black.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DepthScale", "depth_scale", "colourise", "legend"]

#: (position, RGB) anchors of the colour ramp, far (0) -> near (1).
RAMP = np.array([
    (0.00, 0.19, 0.07, 0.23),
    (0.15, 0.27, 0.40, 0.90),
    (0.30, 0.16, 0.68, 0.97),
    (0.45, 0.10, 0.88, 0.74),
    (0.60, 0.45, 0.99, 0.37),
    (0.72, 0.80, 0.93, 0.20),
    (0.84, 0.99, 0.65, 0.14),
    (1.00, 0.70, 0.05, 0.01),
])
#: Round values per decade for the legend's ticks: the coarsest set that gives at least 3 ticks is used.
NICE_STEPS = ((1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0))


@dataclass(frozen=True)
class DepthScale:
    """The metres mapped to the two ends of the ramp (near = ``near_m``, far = ``far_m``), log-spaced."""

    near_m: float
    far_m: float

    def position(self, metres: np.ndarray) -> np.ndarray:
        """0 at ``near_m`` .. 1 at ``far_m`` (clipped), logarithmic in metres."""
        span = math.log(self.far_m) - math.log(self.near_m)
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = (np.log(metres) - math.log(self.near_m)) / span
        return np.clip(pos, 0.0, 1.0)


def depth_scale(depth: np.ndarray, *, low: float = 1.0, high: float = 99.0) -> DepthScale:
    """Scale spanning the ``low``..``high`` percentiles of the valid values of ``depth`` (any shape, metres)."""
    flat = np.asarray(depth, np.float32).reshape(-1)
    flat = flat[:: max(1, flat.size // 2_000_000)]
    valid = flat[np.isfinite(flat) & (flat > 0)]
    if valid.size == 0:
        return DepthScale(1.0, 10.0)
    near, far = (float(v) for v in np.percentile(valid, [low, high]))
    near = max(near, 1e-3)
    return DepthScale(near, max(far, near * 1.5))


def _ramp(t: np.ndarray) -> np.ndarray:
    """(...) in [0, 1] (1 = near) -> (..., 3) RGB in [0, 1]."""
    return np.stack([np.interp(t, RAMP[:, 0], RAMP[:, c]) for c in (1, 2, 3)], axis=-1)


def colourise(depth: np.ndarray, scale: DepthScale) -> np.ndarray:
    """(..., H, W) metres -> (..., H, W, 3) float32 RGB in [0, 1]; invalid pixels black."""
    depth = np.asarray(depth, np.float32)
    rgb = _ramp(1.0 - scale.position(depth)).astype(np.float32)
    rgb[~(np.isfinite(depth) & (depth > 0))] = 0.0
    return rgb


def _label(metres: float) -> str:
    return f"{metres:.3g} m" if metres < 100 else f"{metres:.0f} m"


def _round_values(low: float, high: float, steps: tuple[float, ...]) -> list[float]:
    """The values step * 10^k (k integer) inside [low, high], ascending."""
    values, decade = [], math.floor(math.log10(low))
    while 10.0**decade <= high:
        values += [s * 10.0**decade for s in steps if low <= s * 10.0**decade <= high]
        decade += 1
    return values


def legend(scale: DepthScale, *, stops: int = 16) -> dict:
    """What the page draws under the depth video: the colour ramp near -> far as CSS colours, and tick marks at
    round values (1-2-5 steps, finer for a narrow range), each with its position in [0, 1] along the bar and a
    label in metres."""
    colours = _ramp(1.0 - np.linspace(0.0, 1.0, stops))
    for steps in NICE_STEPS:
        ticks = [{"at": round(float(scale.position(np.float64(v))), 4), "label": _label(v)}
                 for v in _round_values(scale.near_m, scale.far_m, steps)]
        if len(ticks) >= 3:
            break
    if len(ticks) < 2:
        ticks = [{"at": 0.0, "label": _label(scale.near_m)}, {"at": 1.0, "label": _label(scale.far_m)}]
    return {
        "near_m": round(scale.near_m, 4),
        "far_m": round(scale.far_m, 4),
        "scale": "log",
        "colours": ["#%02x%02x%02x" % tuple(round(255 * float(c)) for c in rgb) for rgb in colours],
        "ticks": ticks,
    }
