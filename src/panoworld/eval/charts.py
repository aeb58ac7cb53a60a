"""Bar charts as PNG drawn with Pillow (matplotlib is not a dependency): one bar per method, 95 % CI whiskers."""

from __future__ import annotations

import math
import os

from PIL import Image, ImageDraw, ImageFont

from panoworld.io import atomic_path

__all__ = ["bar_chart", "canvas"]

PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v:
            return m * exp
    return 10 * exp


def canvas(title: str, subtitle: str, width: int, height: int, left: int):
    """(image, draw, font) of a white chart with its title (and subtitle) at x = ``left``."""
    font = ImageFont.load_default()
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((left, 10), title, fill="black", font=font)
    if subtitle:
        draw.text((left, 26), subtitle, fill=(90, 90, 90), font=font)
    return img, draw, font


def bar_chart(path: str | os.PathLike, title: str, labels: list[str], values: list[float], errors: list[float],
              *, subtitle: str = "", width: int = 720, height: int = 420) -> None:
    """Write a vertical bar chart PNG (atomically). NaN values are drawn as 'n/a'; errors are CI half-widths."""
    left, right, top, bottom = 70, 20, 50, 80
    img, draw, font = canvas(title, subtitle, width, height, left)
    finite = [v + (e if math.isfinite(e) else 0) for v, e in zip(values, errors) if math.isfinite(v)]
    lo = min([0.0] + [v - (e if math.isfinite(e) else 0) for v, e in zip(values, errors) if math.isfinite(v)])
    hi = _nice_max(max(finite + [0.0])) if finite else 1.0
    lo = -_nice_max(-lo) if lo < 0 else 0.0
    plot_h, plot_w = height - top - bottom, width - left - right

    def y_of(v: float) -> float:
        return top + plot_h * (hi - v) / (hi - lo)

    for k in range(6):
        v = lo + (hi - lo) * k / 5
        y = y_of(v)
        draw.line([(left, y), (width - right, y)], fill=(225, 225, 225))
        draw.text((5, y - 6), f"{v:.3g}", fill="black", font=font)
    draw.line([(left, y_of(0)), (width - right, y_of(0))], fill="black")
    n = max(1, len(labels))
    slot = plot_w / n
    for i, (label, v, e) in enumerate(zip(labels, values, errors)):
        x0, x1 = left + slot * i + slot * 0.15, left + slot * (i + 1) - slot * 0.15
        if math.isfinite(v):
            draw.rectangle([x0, min(y_of(v), y_of(0)), x1, max(y_of(v), y_of(0))], fill=PALETTE[i % len(PALETTE)])
            if math.isfinite(e) and e > 0:
                xc = (x0 + x1) / 2
                draw.line([(xc, y_of(v - e)), (xc, y_of(v + e))], fill="black", width=2)
                draw.line([(xc - 6, y_of(v + e)), (xc + 6, y_of(v + e))], fill="black", width=2)
                draw.line([(xc - 6, y_of(v - e)), (xc + 6, y_of(v - e))], fill="black", width=2)
            draw.text((x0, min(y_of(v), y_of(0)) - 14), f"{v:.4g}", fill="black", font=font)
        else:
            draw.text((x0, y_of(0) - 14), "n/a", fill="black", font=font)
        draw.text((x0, height - bottom + 8), label[:18], fill="black", font=font)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
