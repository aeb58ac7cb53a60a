"""panoworld.hub: hub ids, and failing fast instead of retrying when the hub cannot be reached."""

from __future__ import annotations

import socket
import time

import pytest

from panoworld import hub
from panoworld.errors import MissingComponentError


@pytest.fixture
def endpoint(monkeypatch):
    """Point HF_ENDPOINT at a local port; yields a function taking (listening: bool)."""
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def use(listening: bool) -> None:
        hub._accepts_connections.cache_clear()
        if listening:
            server.listen(1)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")

    yield use
    server.close()
    hub._accepts_connections.cache_clear()


def test_reachability_follows_the_endpoint(endpoint, monkeypatch):
    endpoint(listening=False)  # bound but not listening: connections are refused
    assert hub.hub_unreachable()
    assert hub.hub_load_kwargs("owner/model") == {"local_files_only": True}
    assert hub.hub_load_kwargs("./local/folder") == {}
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")  # behind a proxy the libraries decide
    assert not hub.hub_unreachable() and hub.hub_load_kwargs("owner/model") == {}


def test_listening_endpoint_is_reachable(endpoint):
    endpoint(listening=True)
    assert not hub.hub_unreachable()
    assert hub.hub_load_kwargs("owner/model") == {}


def test_declared_offline_needs_no_probe(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.hub_offline() and hub.hub_load_kwargs("owner/model") == {"local_files_only": True}


def test_unreachable_hub_fails_a_backbone_at_once(endpoint, monkeypatch, tmp_path):
    pytest.importorskip("transformers")
    from panoworld.eval.backbones.video import VideoBackbone

    endpoint(listening=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    start = time.perf_counter()
    with pytest.raises(MissingComponentError, match="--video-model"):
        VideoBackbone.from_pretrained("MCG-NJU/videomae-base-finetuned-kinetics")
    assert time.perf_counter() - start < 10  # transformers alone retries for about 30 s
