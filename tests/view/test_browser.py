"""The viewer in real headless Chromium (Debian's ``chromium``; skipped with a reason where it is absent).

Each test opens the written page from ``file://`` (one test over http from ``serve_viewer``), waits until the
page says it is ready, and asserts what a person would see: no console errors, nothing loaded from outside the
folder, a 360-degree view that is not blank and turns when dragged, a depth legend in metres, synchronised
methods. Screenshots are saved in each test's tmp dir.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from panoworld.view import write_viewer
from panoworld.view.serve import ViewerServer

from .browser import Browser, find_chromium

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium browser found (apt-get install chromium, or set "
                                                "PANOWORLD_CHROMIUM); the browser tests need one"),
    pytest.mark.slow,
]
READY = "document.body && ['ready', 'error'].includes(document.body.dataset.state) && document.body.dataset.state"


def open_ready(browser: Browser, url: str) -> None:
    browser.open(url)
    state = browser.wait_for(READY, timeout=90)
    assert state == "ready", browser.evaluate("document.getElementById('caption').textContent")
    browser.wait_for("document.querySelector('#flat video').readyState >= 2", timeout=30)
    browser.settle(1.0)


def sphere_pixels(browser: Browser, path) -> np.ndarray:
    rect = browser.rect("#sphere")
    rect["height"] -= 60  # leave out the navbar
    return browser.screenshot(path, clip=rect).astype(np.float32)


def inside(url: str, root: Path) -> bool:
    if url.startswith(("blob:", "data:")):
        return True
    return url.startswith(root.resolve().as_uri() + "/")


@pytest.fixture(scope="module")
def split_page(synth_split, tmp_path_factory) -> Path:
    return write_viewer([synth_split], tmp_path_factory.mktemp("browser") / "view")


def test_split_page_loads_cleanly_renders_and_turns_when_dragged(split_page, tmp_path):
    with Browser(CHROMIUM) as browser:
        open_ready(browser, split_page.resolve().as_uri())
        before = sphere_pixels(browser, tmp_path / "sphere_before.png")
        browser.screenshot(tmp_path / "page.png")
        assert before.std() > 10, "the 360-degree canvas is blank"
        assert browser.evaluate("!!document.querySelector('#sphere canvas')")
        rect = browser.rect("#sphere")
        cx, cy = rect["x"] + rect["width"] * 0.7, rect["y"] + rect["height"] * 0.4
        browser.drag(cx, cy, cx - 250, cy + 40)
        browser.settle(1.0)
        after = sphere_pixels(browser, tmp_path / "sphere_after.png")
        assert np.abs(after - before).mean() > 8, "dragging did not change the view"
        assert not browser.console_errors, browser.console_errors
        outside = [u for u in browser.requests if not inside(u, split_page.parent)]
        assert not outside, outside
        assert any(u.endswith("three.cjs.js") for u in browser.requests)
        browser.evaluate("const s = document.getElementById('clip'); s.value = 1; s.dispatchEvent(new Event('change'))")
        browser.wait_for("document.body.dataset.state === 'loading' || document.body.dataset.state === 'ready'")
        assert browser.wait_for(READY, timeout=60) == "ready"
        browser.settle(1.0)
        other = sphere_pixels(browser, tmp_path / "sphere_clip2.png")
        assert other.std() > 10 and np.abs(other - after).mean() > 8, "choosing another clip changed nothing"
        assert not browser.console_errors, browser.console_errors


def test_depth_legend_shows_metres_and_tracks_are_drawn(split_page, tmp_path):
    import json

    data = json.loads(split_page.with_name("data.js").read_text()[len("window.PANOWORLD_VIEW = "):-2])
    expected = [t["label"] for t in data["clips"][0]["videos"][0]["depth"]["legend"]["ticks"]]
    with Browser(CHROMIUM) as browser:
        open_ready(browser, split_page.resolve().as_uri())
        labels = browser.evaluate("[...document.querySelectorAll('#depth .ticks span')].map(s => s.textContent)")
        assert labels == expected and all(label.endswith(" m") for label in labels)
        assert browser.evaluate("!document.getElementById('depth').hidden")
        assert "metres" in browser.evaluate("document.querySelector('#depth h2').textContent")
        depth = browser.screenshot(tmp_path / "depth.png", clip=browser.rect("#depth video")).astype(np.float32)
        assert depth.std() > 10, "the depth video is blank"
        # The overlay canvas holds the FOV outline (red) and the track dots: switching them off clears it.
        drawn = browser.screenshot(tmp_path / "flat.png", clip=browser.rect("#flat .stack")).astype(np.float32)
        browser.evaluate("for (const id of ['show-fov', 'show-tracks']) document.getElementById(id).click()")
        browser.settle(0.5)
        plain = browser.screenshot(tmp_path / "flat_plain.png", clip=browser.rect("#flat .stack")).astype(np.float32)
        assert np.abs(drawn - plain).max(axis=-1).__gt__(60).mean() > 0.002, "no outline or tracks drawn"
        assert not browser.console_errors, browser.console_errors


def test_eval_page_synchronises_methods_and_shows_metric_rows(results_dir, synth_split, tmp_path):
    page = write_viewer([results_dir], tmp_path / "view", master=synth_split)
    with Browser(CHROMIUM) as browser:
        open_ready(browser, page.resolve().as_uri())
        assert browser.evaluate("document.querySelectorAll('#compare figure video').length") == 3
        header = browser.evaluate("[...document.querySelectorAll('#metrics thead th')].map(t => t.textContent)")
        assert header == ["metric", "oracle", "static"]
        assert browser.evaluate("document.querySelector('#metrics tbody td').textContent") == "100"
        # Scrub with the player's progress bar (a click at 60 %): every flat video follows the sphere's video.
        rect = browser.rect(".psv-video-progressbar")
        x, y = rect["x"] + rect["width"] * 0.6, rect["y"] + rect["height"] / 2
        browser.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        browser.send("Input.dispatchMouseEvent", type="mousePressed", x=x, y=y, button="left", buttons=1, clickCount=1)
        browser.send("Input.dispatchMouseEvent", type="mouseReleased", x=x, y=y, button="left", buttons=0, clickCount=1)
        browser.settle(1.0)
        times = browser.evaluate("[...document.querySelectorAll('#flat video, #cube video, #compare video')]"
                                 ".map(v => v.currentTime)")
        assert len(times) == 5 and min(times) > 0.3 and max(times) - min(times) < 0.05, times
        browser.evaluate("document.querySelectorAll('#compare figure')[2].click()")
        browser.wait_for("document.querySelectorAll('#compare figure')[2].classList.contains('selected')")
        assert browser.evaluate("document.querySelector('#flat .label').textContent") == "· static"
        assert browser.evaluate("document.getElementById('depth').hidden")  # static has no geometry
        browser.screenshot(tmp_path / "eval.png")
        assert not browser.console_errors, browser.console_errors


def test_served_page_loads_over_loopback_http(generation_dir, tmp_path):
    page = write_viewer([generation_dir], tmp_path / "view")
    server = ViewerServer(page.parent, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        served(server.url, tmp_path)
    finally:
        server.shutdown()
        server.server_close()


def served(url: str, tmp_path) -> None:
    with Browser(CHROMIUM) as browser:
        open_ready(browser, url)
        assert sphere_pixels(browser, tmp_path / "served.png").std() > 10
        assert browser.evaluate("document.querySelector('#input figcaption').textContent").startswith("input · fov 80°")
        assert not browser.evaluate("document.getElementById('tracks-toggle').hidden")
        assert not browser.console_errors, browser.console_errors
        assert all(u.startswith((url.rsplit("/", 1)[0] + "/", "blob:", "data:"))
                   for u in browser.requests), browser.requests
