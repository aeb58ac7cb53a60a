"""A fake OpenAI-compatible chat server on 127.0.0.1 for the caption tests (runs in a thread)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def words(n: int, start: str = "A") -> str:
    """A caption of exactly ``n`` words."""
    pool = "quiet plaza with stone benches under tall trees and people walking past shops".split()
    return " ".join([start] + [pool[i % len(pool)] for i in range(n - 1)])


GOOD = json.dumps({"short": words(8), "medium": words(40), "long": words(100, "In")})


class FakeVLM:
    """Serves ``/v1/chat/completions`` and Gemini ``...:generateContent``; ``script(n)`` gives (status, body) for the n-th request (1-based).

    ``block_after``: requests beyond this number hang until the server is closed (to kill a client mid-run).
    """

    def __init__(self, script=None, block_after: int | None = None):
        self.script = script or (lambda n: (200, GOOD))
        self.block_after = block_after
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner.lock:
                    owner.requests.append(body)
                    owner.auth.append(self.headers.get("Authorization") or self.headers.get("x-goog-api-key"))
                    owner.paths.append(self.path)
                    n = len(owner.requests)
                if owner.block_after is not None and n > owner.block_after:
                    owner.release.wait(30)
                    return
                status, content = owner.script(n)
                if status == 200 and ":generateContent" in self.path:
                    payload = {
                        "candidates": [{"content": {"role": "model", "parts": [{"text": content}]},
                                        "finishReason": "STOP", "index": 0}],
                        "usageMetadata": {"promptTokenCount": 1200, "candidatesTokenCount": 60,
                                          "totalTokenCount": 1260},
                    }
                elif status == 200:
                    payload = {
                        "id": f"r{n}",
                        "object": "chat.completion",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 1000, "completion_tokens": 50},
                    }
                else:
                    payload = {"error": {"message": content}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "FakeVLM":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
