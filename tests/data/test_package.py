"""`panoworld data package`: end to end from cut + caption, grouped split, relative paths, importers."""

from __future__ import annotations

import csv
import json
import os

import pytest

from panoworld.cli import main
from panoworld.data.package import split_groups

from .test_caption import KEY, _caption_args
from .vlm_server import GOOD, FakeVLM


def _csv(path):
    with open(path, newline="") as fh:
        return [r["video_basename"] for r in csv.DictReader(fh)]


def test_end_to_end_cut_caption_package(cut_out, tmp_path, monkeypatch):
    monkeypatch.setenv("PW_TEST_VLM_KEY", KEY)
    caps = tmp_path / "captions"
    with FakeVLM(lambda n: (200, "nonsense") if n <= 3 else (200, GOOD)) as server:
        assert main(_caption_args(cut_out, caps, server.url)) == 1  # exit 1: a clip failed
    assert len(list(caps.glob("*.failed.json"))) == 1  # first clip: 3 invalid answers
    ann = tmp_path / "ann" / "sceneB__street__clip001"
    ann.mkdir(parents=True)
    (ann / "meta.json").write_text("{}")
    pkg = tmp_path / "pkg"
    args = ["data", "package", "--out", str(pkg), "--clips", str(cut_out), "--captions", str(caps),
            "--annotations", str(tmp_path / "ann"), "--val-ratio", "0.4", "--link", "symlink"]
    assert main(args) == 0
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert manifest["counts"]["items"] == 3 and manifest["skipped"] == [{"name": "sceneA__walk__clip000",
                                                                         "reason": "no_caption"}]
    train, val = _csv(pkg / "train.csv"), _csv(pkg / "val.csv")
    assert sorted(train + val) == sorted(e["name"] for e in manifest["items"]) and train and val
    groups = {e["name"]: e["group"] for e in manifest["items"]}
    assert not {groups[n] for n in train} & {groups[n] for n in val}
    for e in manifest["items"]:
        link = pkg / e["video"]
        assert link.is_symlink() and not os.path.isabs(os.readlink(link)) and link.resolve().is_file()
        cap = json.loads((pkg / e["caption"]).read_text())
        assert set(cap) == {"name", "short", "medium", "long", "model", "origin"} and cap["model"] == "fake-vl-1.0"
    item = next(e for e in manifest["items"] if e["name"] == "sceneB__street__clip001")
    assert item["annotation"] == "annotations/sceneB__street__clip001" and item["annotation_files"] == ["meta.json"]
    text = (pkg / "manifest.json").read_text()
    assert str(tmp_path) not in text
    for path in [*tmp_path.rglob("*"), *cut_out.rglob("*")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_split_is_grouped_seeded_and_never_empties_train():
    groups = [f"v{i // 3}" for i in range(30)]
    val = split_groups(groups, 0.2, seed=42)
    assert val == split_groups(groups, 0.2, seed=42) and val != split_groups(groups, 0.2, seed=7)
    assert sum(g in val for g in groups) >= 6 and len(val) == 2
    assert len(split_groups(["a", "b"], 0.9, seed=0)) == 1
    assert split_groups(groups, 0.0, seed=0) == set()


def test_web360_and_360x_importers(tmp_path):
    web = tmp_path / "WEB360" / "WEB360"
    (web / "videos_512x1024x100").mkdir(parents=True)
    (web / "videos_512x1024x100" / "1001.mp4").write_bytes(b"fake")
    (web / "videos_512x1024x100" / "1002.mp4").write_bytes(b"fake")
    (web / "WEB360_360TF_train.csv").write_text('videoid,name\n1001,"A beach at sunset"\n1002,A busy street\n1003,gone\n')
    x = tmp_path / "360x_dataset" / "360x_dataset"
    (x / "panoramic").mkdir(parents=True)
    (x / "panoramic" / "u1.mp4").write_bytes(b"fake")
    (x / "index.json").write_text(json.dumps([{"uuid": "u1", "category": "City_Park", "weather": "sunny"},
                                              {"uuid": "u2", "category": "x", "weather": None}]))
    own = tmp_path / "own"
    own.mkdir()
    for stem in ("hall__clip000", "hall__clip001", "yard__clip000"):
        (own / f"{stem}.mp4").write_bytes(b"fake")
    (own / "hall__clip000.json").write_text(json.dumps({"gemini2p5pro": {"short": "s", "medium": "m", "long": "l"}}))
    (own / "hall__clip001.txt").write_text("An old  hall.\n")
    pkg = tmp_path / "pkg"
    assert main(["data", "package", "--out", str(pkg), "--web360", str(tmp_path / "WEB360"), "--360x",
                 str(tmp_path / "360x_dataset"), "--folder", str(own), "--val-ratio", "0", "--link", "copy"]) == 0
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert sorted(e["name"] for e in manifest["items"]) == [
        "self_hall__clip000", "self_hall__clip001", "web360_1001", "web360_1002", "x360_u1"]
    assert manifest["skipped"] == [{"name": "self_yard__clip000", "reason": "no_caption"}]
    assert {e["group"] for e in manifest["items"] if e["origin"] == "self"} == {"self_hall"}
    cap = json.loads((pkg / "captions" / "self_hall__clip000.json").read_text())
    assert (cap["short"], cap["long"], cap["model"]) == ("s", "l", "gemini2p5pro")
    assert json.loads((pkg / "captions" / "self_hall__clip001.json").read_text())["long"] == "An old hall."
    cap = json.loads((pkg / "captions" / "web360_1001.json").read_text())
    assert cap["long"] == "A beach at sunset" and cap["short"] is None and cap["origin"] == "web360"
    cap = json.loads((pkg / "captions" / "x360_u1.json").read_text())
    assert "city park" in cap["long"] and "sunny" in cap["long"]
    assert (pkg / "videos" / "x360_u1.mp4").read_bytes() == b"fake" and not (pkg / "videos" / "x360_u1.mp4").is_symlink()


def test_package_errors(tmp_path, capsys):
    assert main(["data", "package", "--out", str(tmp_path / "p")]) == 2
    assert main(["data", "package", "--out", str(tmp_path / "p"), "--web360", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error:") for line in err)
    with pytest.raises(Exception):
        split_groups(["a"], 1.5, seed=0)
