"""Line charts over time as PNG drawn with Pillow (matplotlib is not a dependency): one series, junction markers."""

from __future__ import annotations

import math
import os

from panoworld.io import atomic_path

from .charts import PALETTE, canvas

__all__ = ["line_chart"]


def _range(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.08 or 1.0
    return lo - pad, hi + pad


def line_chart(path: str | os.PathLike, title: str, times: list[float], values: list[float], *,
               markers: list[float] = (), subtitle: str = "", x_label: str = "time (s)", width: int = 720,
               height: int = 360) -> None:
    """Write a PNG of ``values`` over ``times`` (atomically); NaN values break the line; ``markers`` are times drawn
    as dashed vertical lines (round junctions)."""
    left, right, top, bottom = 70, 20, 50, 40
    img, draw, font = canvas(title, subtitle, width, height, left)
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    t1 = t1 if t1 > t0 else t0 + 1.0
    lo, hi = _range(values)
    plot_w, plot_h = width - left - right, height - top - bottom

    def xy(t: float, v: float) -> tuple[float, float]:
        return left + plot_w * (t - t0) / (t1 - t0), top + plot_h * (hi - v) / (hi - lo)

    for k in range(5):
        v = lo + (hi - lo) * k / 4
        y = xy(t0, v)[1]
        draw.line([(left, y), (width - right, y)], fill=(225, 225, 225))
        draw.text((5, y - 6), f"{v:.3g}", fill="black", font=font)
    for k in range(6):
        t = t0 + (t1 - t0) * k / 5
        x = xy(t, lo)[0]
        draw.text((x - 10, height - bottom + 6), f"{t:.3g}", fill="black", font=font)
    draw.text((width // 2 - 20, height - 16), x_label, fill=(90, 90, 90), font=font)
    for t in markers:
        x = xy(t, lo)[0]
        for y in range(top, top + plot_h, 8):
            draw.line([(x, y), (x, min(y + 4, top + plot_h))], fill=(214, 39, 40))
    colour = PALETTE[0]
    run: list[tuple[float, float]] = []
    for t, v in list(zip(times, values)) + [(math.nan, math.nan)]:
        if math.isfinite(v) and math.isfinite(t):
            run.append(xy(t, v))
            continue
        if len(run) > 1:
            draw.line(run, fill=colour, width=2)
        elif len(run) == 1:
            x, y = run[0]
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        run = []
    draw.rectangle([left, top, width - right, top + plot_h], outline="black")
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
