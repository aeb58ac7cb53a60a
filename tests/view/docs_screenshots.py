"""Make the screenshots of docs/view.md from a ``panoworld synth`` clip (exact depth and tracks), small size.

    .venv/bin/python -m tests.view.docs_screenshots [--out docs]

Needs Chromium (see tests/view/browser.py). Writes docs/view_page.jpg (the 360-degree player and the input)
and docs/view_geometry.jpg (flat ERP with the input's field of view and track trails, depth with its legend in
metres, cube faces), both mid-clip.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image

from panoworld.synth import write_split
from panoworld.view import write_viewer

from .browser import Browser, find_chromium
from .test_browser import READY


def seek(browser: Browser, fraction: float) -> None:
    rect = browser.rect(".psv-video-progressbar")
    x, y = rect["x"] + rect["width"] * fraction, rect["y"] + rect["height"] / 2
    browser.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
    browser.send("Input.dispatchMouseEvent", type="mousePressed", x=x, y=y, button="left", buttons=1, clickCount=1)
    browser.send("Input.dispatchMouseEvent", type="mouseReleased", x=x, y=y, button="left", buttons=0, clickCount=1)
    browser.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y + 200)


def save_jpeg(png: Path, dest: Path, width: int = 1100) -> None:
    image = Image.open(png).convert("RGB")
    image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.save(dest, quality=82, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder for the JPEG files")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("error: no Chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_split(root / "split", clips=1, frames=33, size=(256, 512), seed=11, trajectories=(0, 0, 0, 1),
                    indoor_fraction=1.0, ann_frames=33, grid_size=12)
        page = write_viewer([root / "split"], root / "view")
        with Browser(chromium, width=1280, height=1500) as browser:
            browser.open(page.resolve().as_uri())
            assert browser.wait_for(READY, timeout=90) == "ready"
            browser.settle(1.0)
            seek(browser, 0.6)
            browser.settle(1.5)
            player = browser.rect("#player-row")
            browser.screenshot(root / "page.png", clip={"x": 0, "y": 0, "width": 1280,
                                                        "height": player["y"] + player["height"] + 8})
            flat, cube = browser.rect("#flat"), browser.rect("#cube")
            browser.screenshot(root / "geometry.png", clip={"x": 0, "y": flat["y"] - 8, "width": 1280,
                                                            "height": cube["y"] + cube["height"] - flat["y"] + 16})
            assert not browser.console_errors, browser.console_errors
        args.out.mkdir(parents=True, exist_ok=True)
        save_jpeg(root / "page.png", args.out / "view_page.jpg")
        save_jpeg(root / "geometry.png", args.out / "view_geometry.jpg")
    print(f"wrote {args.out / 'view_page.jpg'} and {args.out / 'view_geometry.jpg'}")


if __name__ == "__main__":
    main()
