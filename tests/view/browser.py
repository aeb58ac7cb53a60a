"""A small Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (no websocket library needed).

Drives Debian's ``chromium`` headless with software WebGL (SwiftShader). Collects console errors, uncaught
exceptions, failed loads and every requested URL, so tests can assert a page is clean and self-contained.
"""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import shlex
import shutil
import subprocess
import tempfile
import threading
import time

import numpy as np

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--disable-background-networking", "--disable-component-update", "--mute-audio",
    "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars",
)


def find_chromium() -> str | None:
    """Path of a Chromium-family browser (``PANOWORLD_CHROMIUM`` first), or None."""
    explicit = os.environ.get("PANOWORLD_CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) else None
    return next((shutil.which(c) for c in CANDIDATES if shutil.which(c)), None)


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless browser with one page (tab). Use as a context manager."""

    def __init__(self, executable: str, *, width: int = 1280, height: int = 1000, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="panoworld-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [executable, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                "--remote-debugging-pipe", "about:blank"]
        # The browser reads commands on fd 3 and answers on fd 4; bash (unlike dash) redirects fds above 9.
        command = "exec " + " ".join(shlex.quote(a) for a in args) + f" 3<&{to_browser_r} 4>&{from_browser_w}"
        self.proc = subprocess.Popen([shutil.which("bash") or "bash", "-c", command],
                                     pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._messages: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._next_id = 0
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.session = None

    def _read_loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._messages.put(None)
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self._messages.put(json.loads(raw))

    def _record(self, msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params["args"]
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.console_errors.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            self.console_errors.append(f"load failed: {params.get('errorText')}")

    def send(self, method: str, *, session: bool = True, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                msg = self._messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise BrowserError(f"no answer to {method} within {self.timeout} s") from None
            if msg is None:
                raise BrowserError("the browser exited")
            if msg.get("id") == self._next_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})
            self._record(msg)

    def __enter__(self) -> "Browser":
        target = self.send("Target.createTarget", session=False, url="about:blank")
        self.session = self.send("Target.attachToTarget", session=False, targetId=target["targetId"],
                                 flatten=True)["sessionId"]
        for domain in ("Runtime", "Page", "Log", "Network"):
            self.send(f"{domain}.enable")
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0, interval: float = 0.2):
        """Poll ``expression`` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(interval)
        raise BrowserError(f"timed out waiting for {expression}")

    def settle(self, seconds: float) -> None:
        """Let the page run (and collect its events) for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.evaluate("1")
            time.sleep(0.05)

    def rect(self, selector: str) -> dict:
        """{x, y, width, height} of an element in CSS pixels of the document (what screenshot clips use)."""
        return self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                             ".getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, "
                             "height: r.height}; })()")

    def screenshot(self, path=None, *, clip: dict | None = None) -> np.ndarray:
        """(H, W, 3) uint8 of the viewport (or of ``clip``); also saved as PNG at ``path``."""
        from PIL import Image

        params = {"format": "png"}
        if clip:
            params.update(clip={**clip, "scale": 1}, captureBeyondViewport=True)
        data = base64.b64decode(self.send("Page.captureScreenshot", **params)["data"])
        if path is not None:
            with open(path, "wb") as fh:
                fh.write(data)
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

    def drag(self, x0: float, y0: float, x1: float, y1: float, steps: int = 12) -> None:
        """A left-button mouse drag from (x0, y0) to (x1, y1) in CSS pixels of the viewport."""
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x0, y=y0)
        self.send("Input.dispatchMouseEvent", type="mousePressed", x=x0, y=y0, button="left", buttons=1, clickCount=1)
        for k in range(1, steps + 1):
            x, y = x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps
            self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left", buttons=1)
            time.sleep(0.02)
        self.send("Input.dispatchMouseEvent", type="mouseReleased", x=x1, y=y1, button="left", buttons=0,
                  clickCount=1)
