"""Caption files: every layout through one reader, the writers' round trips."""

from __future__ import annotations

import json

import pytest

from panoworld.errors import InputError
from panoworld.formats.captions import (
    Captions,
    caption_failure_path,
    caption_record_path,
    parse_captions,
    read_caption_records,
    read_captions,
    sidecar_captions,
    write_captions,
)


def test_every_layout_reads_to_the_same_captions():
    flat = {"short": "s", "medium": "m", "long": "l"}
    assert parse_captions(flat) == Captions("s", "m", "l")
    assert parse_captions({"captions": flat, "model": "gpt"}) == Captions("s", "m", "l", "gpt")
    assert parse_captions({"gemini": flat}) == Captions("s", "m", "l", "gemini")
    assert parse_captions({"empty": {}, "gemini": flat}).model == "gemini"  # first model with text
    assert parse_captions({"a": {"long": "A"}, "b": flat}, model_key="b").model == "b"
    assert parse_captions("  one caption ").pick("short") == "one caption"
    assert parse_captions({"unrelated": 1}) is None


def test_style_fallback():
    caps = Captions(short="s", long="L")
    assert caps.pick("medium") == "L" and caps.pick("short") == "s" and caps.pick("nonsense") == "L"
    assert Captions(short="only").pick("long") == "only" and Captions().pick() == "" and not Captions()


def test_perspective_caption_is_read_written_and_falls_back(tmp_path):
    caps = parse_captions({"short": "s", "long": "L", "perspective": "a red door"})
    assert caps.pick("perspective") == "a red door" and caps.pick("medium") == "L"  # not a fallback style
    assert read_captions(write_captions(tmp_path / "c.json", caps)) == caps
    assert "perspective" not in write_captions(tmp_path / "d.json", Captions("s")).read_text()
    assert Captions(short="s", long="L").pick("perspective") == "L"


def test_round_trips(tmp_path):
    caps = Captions("s", "m", "l", "model-x")
    path = write_captions(tmp_path / "c.json", caps, name="c", origin="cut")
    assert json.loads(path.read_text())["origin"] == "cut"
    assert read_captions(path) == caps
    record = caption_record_path(tmp_path / "caps", "clip")
    record.parent.mkdir()
    record.write_text(json.dumps({"clip": "clip.mp4", "model": "vlm", "captions": {"short": "a", "long": "b"}}))
    caption_failure_path(tmp_path / "caps", "other").write_text(json.dumps({"error": "x"}))
    assert read_caption_records([tmp_path / "caps"]) == {"clip": Captions("a", None, "b", "vlm")}
    with pytest.raises(InputError):
        read_caption_records([tmp_path / "none"])


def test_sidecars(tmp_path):
    video = tmp_path / "v.mp4"
    assert sidecar_captions(video) is None
    (tmp_path / "v.txt").write_text("  a  text\ncaption ")
    assert sidecar_captions(video) == Captions(long="a text caption", model="legacy")
    (tmp_path / "v.json").write_text(json.dumps({"m": {"medium": "M"}}))
    assert sidecar_captions(video).pick("medium") == "M"  # the JSON wins over the .txt
    (tmp_path / "v.json").write_text(json.dumps({"nothing": 1}))
    with pytest.raises(InputError, match="expected a caption record"):
        sidecar_captions(video)
    (tmp_path / "v.json").write_text("{broken")
    with pytest.raises(InputError, match="not valid JSON"):
        sidecar_captions(video)
