"""``serve_viewer`` (loopback only, one folder, bounded) and the ``panoworld view`` command."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from panoworld.commands.view import view
from panoworld.errors import InputError
from panoworld.view import serve_viewer, write_viewer
from panoworld.view.serve import MAX_CONCURRENT, ViewerServer


@pytest.fixture(scope="module")
def page(generation_dir, tmp_path_factory) -> Path:
    return write_viewer([generation_dir], tmp_path_factory.mktemp("served") / "view")


def get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return err.code, b"", ""


def test_server_serves_the_folder_on_loopback_only(page):
    server = ViewerServer(page.parent, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1" and server.url == f"http://127.0.0.1:{port}/index.html"
        status, body, kind = get(server.url)
        assert status == 200 and b"viewer.js" in body and kind.startswith("text/html")
        assert get(f"http://127.0.0.1:{port}/viewer.js")[2].startswith("text/javascript")
        assert get(f"http://127.0.0.1:{port}/clips/")[0] == 404  # no folder listings
        assert get(f"http://127.0.0.1:{port}/../../etc/passwd")[0] == 404
        for _ in range(3 * MAX_CONCURRENT):  # request slots are given back
            assert get(f"http://127.0.0.1:{port}/data.js")[0] == 200
    finally:
        server.shutdown()
        server.server_close()


def test_serve_viewer_reports_its_url_and_stops(page):
    urls = []
    thread = threading.Thread(target=serve_viewer, args=(page.parent,),
                              kwargs={"max_seconds": 1.0, "on_ready": urls.append})
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive() and urls and urls[0].startswith("http://127.0.0.1:")


def test_serve_viewer_refuses_what_it_cannot_serve(page, tmp_path):
    with pytest.raises(InputError, match="no index.html"):
        serve_viewer(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(InputError, match="cannot listen"):
            serve_viewer(page.parent, port=taken.getsockname()[1])


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(view)
    return app


def test_cli_writes_the_viewer(generation_dir, synth_split, tmp_path):
    result = CliRunner().invoke(cli(), [str(generation_dir), str(synth_split), "--out", str(tmp_path / "v")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "v" / "index.html").is_file() and "viewer ->" in result.output
    assert (tmp_path / "v" / "clips" / "c002" / "v0.mp4.js").is_file()  # 1 generation + 2 split clips


def test_cli_user_errors_come_before_any_work(generation_dir, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    result = CliRunner().invoke(cli(), [str(generation_dir), "--out", str(tmp_path / "busy")])
    assert isinstance(result.exception, InputError)  # cli.py's boundary prints it as one "error:" line, exit 2
    result = CliRunner().invoke(cli(), [str(tmp_path / "nothing"), "--out", str(tmp_path / "v")])
    assert result.exit_code == 2 and not (tmp_path / "v").exists()  # typer's exists check, before any work
    result = CliRunner().invoke(cli(), [str(generation_dir), "--port", "70000"])
    assert result.exit_code == 2  # typer range check


def test_cli_help_documents_every_flag():
    result = CliRunner().invoke(cli(), ["--help"])
    assert result.exit_code == 0
    for flag in ("--out", "--master", "--serve", "--port"):
        assert flag in result.output
    assert "127.0.0.1" in result.output and "file://" in result.output


def test_cli_serve_prints_the_loopback_url(generation_dir, tmp_path, monkeypatch):
    import functools

    import panoworld.view

    monkeypatch.setattr(panoworld.view, "serve_viewer", functools.partial(serve_viewer, max_seconds=0.5))
    result = CliRunner().invoke(cli(), [str(generation_dir), "--out", str(tmp_path / "v"), "--serve"])
    assert result.exit_code == 0, result.output
    assert "serving on http://127.0.0.1:" in result.output and "/index.html" in result.output
