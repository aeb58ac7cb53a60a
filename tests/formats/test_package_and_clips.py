"""Training package layout and clip discovery: round trips over every clip source."""

from __future__ import annotations

import pytest

from panoworld.errors import InputError
from panoworld.formats.clips import (
    cut_clip_name,
    find_clips,
    find_videos,
    kept_clips,
    read_cut_manifest,
    source_video_id,
    write_cut_manifest,
)
from panoworld.formats.package import (
    PackageLayout,
    package_clips,
    read_package_manifest,
    read_split_list,
    write_package_manifest,
    write_split_list,
)
from panoworld.formats.testset import write_master


def test_package_round_trip(tmp_path):
    layout = PackageLayout(tmp_path)
    for name in ("a", "b", "c"):
        path = layout.path(layout.video(name))
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"v")
    write_split_list(tmp_path, "train", ["a", "c"])
    write_split_list(tmp_path, "val", ["b"])
    assert read_split_list(tmp_path, "train") == ["a", "c"]
    write_package_manifest(tmp_path, {"seed": 1, "items": []})
    assert read_package_manifest(tmp_path)["seed"] == 1
    assert [n for n, _ in package_clips(tmp_path)] == ["a", "c", "b"]
    assert [p.name for _, p in package_clips(tmp_path, "val")] == ["b.mp4"]
    assert [n for n, _ in find_clips(tmp_path, "train")] == ["a", "c"]
    with pytest.raises(ValueError):
        layout.split_list("test")
    with pytest.raises(InputError):
        read_package_manifest(tmp_path / "none")


def test_cut_folder_round_trip(tmp_path):
    name = cut_clip_name("scene__take1", 3)
    assert name == "scene__take1__clip003.mp4" and source_video_id(name[:-4]) == "scene__take1"
    rows = [{"video_id": "v", "status": "kept", "path": f"clips/{cut_clip_name('v', 0)}", "fps": "16"},
            {"video_id": "v", "status": "dropped", "reason": "frozen", "path": None}]
    write_cut_manifest(tmp_path, rows)
    assert read_cut_manifest(tmp_path) == rows
    assert "video_id,source,status" in (tmp_path / "manifest.csv").read_text()
    assert [(p.name, r["video_id"]) for p, r in kept_clips(tmp_path)] == [("v__clip000.mp4", "v")]
    assert find_clips(tmp_path) == [("v__clip000", tmp_path / "clips" / "v__clip000.mp4")]


def test_find_videos_and_sources(tmp_path):
    (tmp_path / "in" / "scene").mkdir(parents=True)
    for rel in ("scene/take 1.mp4", "b.MOV", "notes.txt", ".hidden.mp4"):
        (tmp_path / "in" / rel).write_bytes(b"v")
    found = find_videos([tmp_path / "in"])
    assert [vid for _, vid in found] == ["b", "scene__take-1"]
    assert [n for n, _ in find_clips(tmp_path / "in")] == ["b"]  # a plain folder: its own videos
    assert find_clips(tmp_path / "in" / "b.MOV") == [("b", tmp_path / "in" / "b.MOV")]
    write_master(tmp_path / "master.csv", [{"clip_id": "habitat::x", "video_path": "in/b.MOV"}],
                 columns=("clip_id", "video_path"))
    assert find_clips(tmp_path / "master.csv") == [("habitat__x", tmp_path.resolve() / "in" / "b.MOV")]
    with pytest.raises(InputError):
        find_videos([tmp_path / "nothing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no videos"):
        find_clips(tmp_path / "empty")
