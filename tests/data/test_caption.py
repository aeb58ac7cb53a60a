"""`panoworld data caption`: upright views, answer validation, retries, failures, resume after kill, no key leaks."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import panoworld
from panoworld.cli import main
from panoworld.data.caption import CaptionFormatError, clip_views, parse_caption, view_frame_indices
from panoworld.data.caption.backends import build_chat_request, model_key
from panoworld.data.caption.backends.local_hf import build_messages

from .conftest import GROUND, SKY
from .vlm_server import GOOD, FakeVLM, words

KEY = "sk-test-9f8e7d6c5b4a-SECRET"


def _caption_args(src, out, url, *extra):
    return ["data", "caption", str(src), "--out", str(out), "--base-url", url, "--model", "fake-vl-1.0",
            "--api-key-env", "PW_TEST_VLM_KEY", "--view-size", "96x128", "--retry-base", "0.001",
            "--attempts", "3", *extra]


def test_parse_caption_accepts_fences_and_rejects_bad_answers():
    good = json.loads(GOOD)
    assert parse_caption("```json\n" + GOOD + "\n```") == good
    assert parse_caption("Sure! " + GOOD) == good
    assert parse_caption(json.dumps({"captions": good})) == good
    for bad in ["not json", "[1, 2]", json.dumps({**good, "short": "two words"}),
                json.dumps({"short": good["short"], "medium": good["medium"]}), json.dumps({**good, "long": 5})]:
        with pytest.raises(CaptionFormatError):
            parse_caption(bad)
    assert model_key("gemini-2.5-pro") == "gemini2p5pro"
    assert view_frame_indices(40) == [6, 19, 32]


def test_twelve_views_are_upright(cut_out):
    from PIL import Image

    clip = next((cut_out / "clips").glob("*.mp4"))
    views = clip_views(clip, size=(120, 160))
    assert [v.label for v in views][:5] == ["EARLY / FRONT (yaw 0)", "EARLY / RIGHT (yaw 90)", "EARLY / BACK (yaw 180)",
                                            "EARLY / LEFT (yaw 270)", "MIDDLE / FRONT (yaw 0)"]
    sky, ground = np.array(SKY) * 255, np.array(GROUND) * 255
    for v in views:
        img = np.asarray(Image.open(io.BytesIO(v.jpeg)).convert("RGB"), dtype=np.float64)
        top = img[:10].reshape(-1, 3).mean(0)
        bottom = img[-6:].reshape(-1, 3).mean(0)
        assert np.abs(top - sky).max() < 25, (v.label, top)
        assert bottom[0] > bottom[2] + 40 and np.abs(bottom - sky).max() > 100, (v.label, bottom)


def test_request_building_for_http_and_local_backends(cut_out):
    clip = next((cut_out / "clips").glob("*.mp4"))
    views = clip_views(clip, size=(48, 64))
    body = build_chat_request("m", "PROMPT", views, temperature=0.2, max_tokens=99, max_tokens_field="max_completion_tokens")
    parts = body["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "PROMPT"} and body["max_completion_tokens"] == 99
    images = [p for p in parts if p["type"] == "image_url"]
    assert len(images) == 12 and all(p["image_url"]["url"].startswith("data:image/jpeg;base64,") for p in images)
    from panoworld.data.caption.backends import OpenAICompatBackend

    assert OpenAICompatBackend("https://api.openai.com/v1", "gpt-5-mini").options["max_tokens_field"] == "max_completion_tokens"
    assert OpenAICompatBackend("http://127.0.0.1:8000/v1", "qwen").options["max_tokens_field"] == "max_tokens"
    msgs = build_messages("PROMPT", views)
    content = msgs[0]["content"]
    assert [c["type"] for c in content[1:3]] == ["text", "image"] and len(content) == 25
    assert content[2]["image"].size == (64, 48)


def _script(n):
    """1: 429, 2: fenced good | 3: invalid, 4: 500 echoing the key, 5: good | 6-8: too short | 9+: good."""
    return {
        1: (429, "slow down"),
        2: (200, "```json\n" + GOOD + "\n```"),
        3: (200, "I cannot answer in JSON {oops"),
        4: (500, f"internal error for key {KEY}"),
        6: (200, json.dumps({"short": "x y z", "medium": "too short", "long": "too short"})),
        7: (200, "{}"),
        8: (200, "[]"),
    }.get(n, (200, GOOD))


def test_caption_retries_records_failures_and_resumes(cut_out, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PW_TEST_VLM_KEY", KEY)
    out = tmp_path / "captions"
    with FakeVLM(_script) as server:
        assert main(_caption_args(cut_out, out, server.url, "--price-in", "1", "--price-out", "2")) == 1  # 1 failed
        assert len(server.requests) == 9
        assert set(server.auth) == {f"Bearer {KEY}"}
        done = sorted(p.name for p in out.glob("*.json") if not p.name.endswith(".failed.json"))
        assert done == ["sceneA__walk__clip000.json", "sceneA__walk__clip001.json", "sceneB__street__clip001.json"]
        failed = json.loads((out / "sceneB__street__clip000.failed.json").read_text())
        assert failed["error"] == "invalid_answer" and failed["attempts"] == 3
        rec = json.loads((out / "sceneA__walk__clip001.json").read_text())
        assert rec["attempts"] == 3 and rec["captions"] == json.loads(GOOD)
        assert rec["usage"] == {"input_tokens": 2000, "output_tokens": 100}
        assert rec["views"]["yaws_deg"] == [0.0, 90.0, 180.0, 270.0] and rec["video_id"] == "sceneA__walk"
        run = json.loads((out / "caption_runs.jsonl").read_text().splitlines()[-1])
        assert (run["captioned"], run["failed"], run["requests"], run["retries"]) == (3, 1, 9, 5)
        assert run["input_tokens"] == 7000 and run["cost_usd"] == pytest.approx(7000e-6 + 350 * 2e-6)
        # re-run: only the failed clip is requested again
        first = server.requests[0]
        assert "temperature" not in first and first["max_tokens"] == 1536 and "reasoning_effort" not in first
        assert main(_caption_args(cut_out, out, server.url, "--temperature", "0.3", "--reasoning-effort", "minimal")) == 0
        assert len(server.requests) == 10
        assert server.requests[-1]["temperature"] == 0.3 and server.requests[-1]["reasoning_effort"] == "minimal"
        assert not list(out.glob("*.failed.json"))
    logged = capsys.readouterr()
    assert KEY not in logged.out + logged.err
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert "***" in (out / "caption_log.jsonl").read_text()


def test_caption_survives_kill_and_does_not_repeat_finished_clips(cut_out, tmp_path, monkeypatch):
    out = tmp_path / "captions"
    env = {**os.environ, "PW_TEST_VLM_KEY": KEY,
           "PYTHONPATH": os.pathsep.join([str(Path(panoworld.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    with FakeVLM(block_after=2) as server:
        cmd = [sys.executable, "-m", "panoworld", *_caption_args(cut_out, out, server.url)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while len(server.requests) < 3 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            assert len(server.requests) == 3, proc.stdout.read() if proc.poll() is not None else "timeout"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    finished = sorted(p.name for p in out.glob("*.json"))
    assert finished == ["sceneA__walk__clip000.json", "sceneA__walk__clip001.json"]
    monkeypatch.setenv("PW_TEST_VLM_KEY", KEY)
    with FakeVLM() as server:
        assert main(_caption_args(cut_out, out, server.url)) == 0
        assert len(server.requests) == 2
    assert len([p for p in out.glob("*.json")]) == 4
    from panoworld.data.caption import caption_totals

    assert caption_totals(out)["requests"] == 4  # the killed run's 2 answered requests are counted too
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_caption_key_errors(cut_out, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PW_TEST_VLM_KEY", raising=False)
    assert main(_caption_args(cut_out, tmp_path / "c", "http://127.0.0.1:9/v1")) == 2
    err = capsys.readouterr().err
    assert "PW_TEST_VLM_KEY" in err and err.count("\n") == 1
    monkeypatch.setenv("PW_TEST_VLM_KEY", KEY)
    # unreachable server: every clip fails after its attempts, the run still completes (exit 1: failures)
    assert main(_caption_args(cut_out, tmp_path / "c", "http://127.0.0.1:9/v1", "--attempts", "1")) == 1
    fails = list((tmp_path / "c").glob("*.failed.json"))
    assert len(fails) == 4 and json.loads(fails[0].read_text())["error"] == "transient"
    assert words(5).count(" ") == 4


def test_gemini_backend_through_google_genai(cut_out, tmp_path, monkeypatch):
    pytest.importorskip("google.genai")
    monkeypatch.setenv("PW_TEST_VLM_KEY", KEY)
    out = tmp_path / "gem"
    script = {1: (429, "quota"), 2: (200, "```json\n" + GOOD + "\n```"), 3: (503, f"overloaded {KEY}")}
    with FakeVLM(lambda n: script.get(n, (200, GOOD))) as server:
        args = _caption_args(cut_out, out, server.url.removesuffix("/v1"), "--backend", "gemini",
                             "--model", "gemini-2.5-flash")
        assert main(args) == 0
        assert len(server.requests) == 6 and set(server.auth) == {KEY}
        assert all(p.endswith("models/gemini-2.5-flash:generateContent") for p in server.paths)
        parts = server.requests[0]["contents"][0]["parts"]
        assert sum("inlineData" in p for p in parts) == 12
        config = server.requests[0]["generationConfig"]
        assert config["responseMimeType"] == "application/json" and config["temperature"] == 0.4
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        assert sorted(schema["required"]) == ["long", "medium", "short"]
    rec = json.loads((out / "sceneA__walk__clip000.json").read_text())
    assert rec["backend"] == "gemini" and rec["model_key"] == "gemini2p5flash" and rec["attempts"] == 2
    assert rec["usage"] == {"input_tokens": 1200, "output_tokens": 60}
    for path in out.rglob("*"):
        assert KEY.encode() not in path.read_bytes(), path


def test_plain_http_key_warning_and_settings_change(cut_out, tmp_path, monkeypatch, capsys):
    from panoworld.data.caption.backends.factory import BackendSettings, key_exposed, make_backend

    assert key_exposed("http://10.0.0.5:8000/v1") and key_exposed("http://vlm.example.org/v1")
    assert not key_exposed("https://vlm.example.org/v1") and not key_exposed("http://127.0.0.1:8000/v1")
    assert not key_exposed("http://localhost:8000/v1") and not key_exposed("http://[::1]:8000/v1")
    monkeypatch.setenv("PW_TEST_VLM_KEY", KEY)
    warnings = []
    make_backend(BackendSettings(base_url="http://10.0.0.5:8000/v1", api_key_env="PW_TEST_VLM_KEY"),
                 warn=warnings.append)
    assert len(warnings) == 1 and "unencrypted" in warnings[0] and KEY not in warnings[0]
    out = tmp_path / "captions"
    with FakeVLM() as server:
        assert main(_caption_args(cut_out, out, server.url)) == 0
        capsys.readouterr()
        assert main(_caption_args(cut_out, out, server.url, "--view-size", "240x320")) == 2  # other views
        err = capsys.readouterr().err
        assert "other settings" in err and "--force" in err
        assert main(_caption_args(cut_out, out, server.url, "--view-size", "240x320", "--force")) == 0
        assert len(server.requests) == 8
