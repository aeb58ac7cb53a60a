"""master.csv: write -> read round trip, the one clip-id rule, errors."""

from __future__ import annotations

import json

import pytest

from panoworld.errors import InputError
from panoworld.formats.captions import Captions, write_captions
from panoworld.formats.testset import (
    MASTER_COLUMNS,
    TestSetLayout,
    clip_dirname,
    make_clip_id,
    parse_clip_id,
    read_master,
    write_master,
)


def test_clip_id_rule():
    assert make_clip_id("synth", "clip0001") == "synth::clip0001"
    assert parse_clip_id("synth::clip0001") == ("synth", "clip0001")
    assert parse_clip_id("bare") == ("default", "bare")
    assert parse_clip_id("bare", "self") == ("self", "bare")
    assert parse_clip_id("a::b", "c") == ("c", "b")  # the split column wins
    assert clip_dirname(*parse_clip_id("habitat::x")) == "habitat__x"


def test_master_round_trip(tmp_path):
    layout = TestSetLayout(tmp_path)
    write_captions(layout.path(layout.captions("c0")), Captions(short="s", medium="m", long="l"))
    row = {c: "" for c in MASTER_COLUMNS}
    row.update(clip_id=make_clip_id("synth", "c0"), split="synth", video_path=layout.video("c0"),
               annotation_dir=layout.annotations("synth", "c0"), caption_path=layout.captions("c0"), n_frames=5,
               fps=16.0, resolution="64x32", is_static=1, has_depth=1, trajectory_kind="walk", scene_kind="indoor",
               input_path=layout.input_image("c0"))
    write_master(layout.master, [row])
    (clip,) = read_master(layout.master, caption_style="short")
    assert clip.clip_id == "synth::c0" and clip.dirname == "synth__c0"
    assert clip.video_path == tmp_path.resolve() / "videos" / "c0.mp4"
    assert clip.annotation_dir == tmp_path.resolve() / "annotations" / "synth__c0"
    assert clip.caption == "s" and clip.caption_for("medium") == "m"
    assert clip.size == (32, 64) and clip.fps == 16.0 and clip.n_frames == 5
    assert clip.is_static and clip.has_depth and not clip.has_tracks
    assert clip.scene_type == "indoor" and clip.motion_kind == "walk"
    assert clip.extra["input_path"] == "inputs/c0.png"
    (lazy,) = read_master(layout.master, load_captions=False)
    assert lazy.caption == "" and lazy.caption_for("long") == "l"


def test_master_errors(tmp_path):
    with pytest.raises(ValueError, match="outside the schema"):
        write_master(tmp_path / "m.csv", [{"clip_id": "a", "video_path": "v", "colour": "red"}])
    (tmp_path / "m.csv").write_text("clip_id,video_path\na::x,v.mp4\na::x,w.mp4\n")
    with pytest.raises(InputError, match="twice"):
        read_master(tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("clip_id,video_path,caption_path\na::x,v.mp4,nope.json\n")
    with pytest.raises(InputError, match="caption file not found"):
        read_master(tmp_path / "m.csv")
    assert read_master(tmp_path / "m.csv", load_captions=False)[0].name == "x"
    (tmp_path / "bad.json").write_text(json.dumps([1, 2]))
    (tmp_path / "m.csv").write_text("clip_id,video_path,caption_path\na::x,v.mp4,bad.json\n")
    with pytest.raises(InputError, match="JSON object"):
        read_master(tmp_path / "m.csv")
