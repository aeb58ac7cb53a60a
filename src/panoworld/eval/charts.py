"""Charts as PNG drawn with Pillow (matplotlib is not a dependency): one figure per metric family, one panel per
metric, one bar per method with its 95 % CI whisker."""

from __future__ import annotations

import math
import os

from PIL import Image, ImageDraw, ImageFont

from panoworld.io import atomic_path

__all__ = ["canvas", "family_chart"]

PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
PANEL = (480, 300)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v:
            return m * exp
    return 10 * exp


def canvas(title: str, subtitle: str, width: int, height: int, left: int):
    """(image, draw, font) of a white ``width`` x ``height`` chart with its title (and subtitle) at x = ``left``."""
    font = ImageFont.load_default()
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((left, 10), title, fill="black", font=font)
    if subtitle:
        draw.text((left, 26), subtitle, fill=(90, 90, 90), font=font)
    return img, draw, font


def _panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], title: str, labels: list[str],
           values: list[float], errors: list[float], subtitle: str = "") -> None:
    """Bars of ``values`` with CI half-widths ``errors`` inside ``box`` = (x0, y0, x1, y1); NaN drawn as 'n/a'."""
    font = ImageFont.load_default()
    bx0, by0, bx1, by1 = box
    left, right, top, bottom = bx0 + 60, bx1 - 15, by0 + 42, by1 - 40
    draw.text((left, by0 + 6), title, fill="black", font=font)
    if subtitle:
        draw.text((left, by0 + 20), subtitle, fill=(90, 90, 90), font=font)
    spans = [(v - (e if math.isfinite(e) else 0), v + (e if math.isfinite(e) else 0))
             for v, e in zip(values, errors) if math.isfinite(v)]
    hi = _nice_max(max([0.0] + [b for _, b in spans])) if spans else 1.0
    lo = min([0.0] + [a for a, _ in spans])
    lo = -_nice_max(-lo) if lo < 0 else 0.0

    def y_of(v: float) -> float:
        return top + (bottom - top) * (hi - v) / (hi - lo)

    for k in range(6):
        v = lo + (hi - lo) * k / 5
        draw.line([(left, y_of(v)), (right, y_of(v))], fill=(225, 225, 225))
        draw.text((bx0 + 4, y_of(v) - 6), f"{v:.3g}", fill="black", font=font)
    draw.line([(left, y_of(0)), (right, y_of(0))], fill="black")
    slot = (right - left) / max(1, len(labels))
    for i, (label, v, e) in enumerate(zip(labels, values, errors)):
        x0, x1 = left + slot * i + slot * 0.15, left + slot * (i + 1) - slot * 0.15
        xc = (x0 + x1) / 2
        if math.isfinite(v):
            draw.rectangle([x0, min(y_of(v), y_of(0)), x1, max(y_of(v), y_of(0))], fill=PALETTE[i % len(PALETTE)])
            if math.isfinite(e) and e > 0:
                draw.line([(xc, y_of(v - e)), (xc, y_of(v + e))], fill="black", width=2)
                for y in (y_of(v + e), y_of(v - e)):
                    draw.line([(xc - 5, y), (xc + 5, y)], fill="black", width=2)
            draw.text((x0, min(y_of(v), y_of(0)) - 13), f"{v:.4g}", fill="black", font=font)
        else:
            draw.text((x0, y_of(0) - 13), "n/a", fill="black", font=font)
        draw.text((x0, bottom + 6 + 12 * (i % 2)), label[:14], fill="black", font=font)


def _save(img: Image.Image, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def family_chart(path: str | os.PathLike, title: str, labels: list[str],
                 panels: list[tuple[str, list[float], list[float], str]], columns: int = 2) -> None:
    """Write one PNG with a panel per metric: ``panels`` = [(metric, values, CI half-widths, "lower is better")]
    with one value per label (method)."""
    rows = -(-len(panels) // columns)
    width, height = PANEL[0] * min(columns, len(panels)), 30 + PANEL[1] * rows
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 8), title, fill="black", font=ImageFont.load_default())
    for k, (metric, values, errors, better) in enumerate(panels):
        x0, y0 = PANEL[0] * (k % columns), 30 + PANEL[1] * (k // columns)
        _panel(draw, (x0, y0, x0 + PANEL[0], y0 + PANEL[1]), metric, labels, values, errors, better)
    _save(img, path)
