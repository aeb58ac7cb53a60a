"""The written viewer folder: its data, that it references nothing outside itself, the pristine vendored files."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from panoworld.errors import InputError
from panoworld.view import write_viewer
from panoworld.view.page import MARKER, PACKAGE_DIR

VENDOR = PACKAGE_DIR / "vendor"
URL = re.compile(r"\b(?:https?|ftp|wss?):/{2}", re.IGNORECASE)
ATTRIBUTE = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""")
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]*)")


def read_data(root: Path) -> dict:
    text = (root / "data.js").read_text()
    assert text.startswith("window.PANOWORLD_VIEW = ") and text.endswith(";\n")
    return json.loads(text[len("window.PANOWORLD_VIEW = ") : -2])


@pytest.fixture(scope="module")
def split_viewer(synth_split, tmp_path_factory) -> Path:
    return write_viewer([synth_split], tmp_path_factory.mktemp("pages") / "split_view").parent


def asset_paths(data: dict) -> list[str]:
    paths = []
    for clip in data["clips"]:
        if clip["input"] and clip["input"].get("image"):
            paths.append(clip["input"]["image"])
        for video in clip["videos"]:
            paths += [video["erp"], video["cube"]["video"]]
            paths += [video["depth"]["video"]] if video["depth"] else []
            paths += [video["tracks"]] if video["tracks"] else []
    return paths


def test_split_viewer_data(split_viewer, synth_split):
    data = read_data(split_viewer)
    assert [c["title"] for c in data["clips"]] == ["synth::clip0000", "synth::clip0001"]
    clip = data["clips"][0]
    assert clip["input"]["fov_x"] == 90.0 and len(clip["input"]["outline"]) == 96
    (video,) = clip["videos"]
    assert (video["width"], video["height"], video["frames"], video["fps"]) == (128, 64, 17, 16.0)
    ticks = video["depth"]["legend"]["ticks"]
    assert ticks and all(t["label"].endswith(" m") for t in ticks)
    assert video["tracks"] and video["cube"]["names"][0] == "front"
    for rel in asset_paths(data):
        assert (split_viewer / rel).is_file(), rel
    assert (split_viewer / MARKER).is_file()


def test_page_and_assets_reference_nothing_outside_the_folder(split_viewer, generation_dir, tmp_path):
    roots = [split_viewer, write_viewer([generation_dir], tmp_path / "gen_view").parent]
    for root in roots:
        files = [p for p in root.rglob("*") if p.is_file()]
        ours = [p for p in files if "lib" not in p.relative_to(root).parts and p.suffix in (".html", ".js", ".css")]
        assert {p.name for p in ours} >= {"index.html", "data.js", "viewer.js", "overlay.js", "assets.js", "viewer.css"}
        for path in ours:
            text = path.read_text(encoding="utf-8")
            assert not URL.search(text), f"{path} holds a network URL"
            for ref in ATTRIBUTE.findall(text) + CSS_URL.findall(text):
                if ref.startswith("data:"):
                    continue
                assert not ref.startswith(("/", "\\", "file:")) and ".." not in Path(ref).parts, (path, ref)
                assert (path.parent / ref).is_file(), (path, ref)
            for absolute in (root.parent, generation_dir.parent):
                assert str(absolute) not in text, f"{path} holds an absolute path"
        for rel in asset_paths(read_data(root)):
            assert not rel.startswith("/") and ".." not in Path(rel).parts
        for css in root.glob("lib/*/*.css"):  # vendored style sheets load nothing either
            refs = [r for r in CSS_URL.findall(css.read_text()) if not r.startswith("data:")]
            assert not refs, (css, refs)


def test_vendored_files_are_the_pinned_upstream_builds(split_viewer):
    manifest = json.loads((VENDOR / "manifest.json").read_text())
    versions = {p["name"]: p["version"] for p in manifest["packages"]}
    assert versions["three"].startswith("0.185.") and versions["@photo-sphere-viewer/core"] == "5.15.1"
    notes = (VENDOR / "VENDORED.md").read_text()
    for package in manifest["packages"]:
        assert f"{package['name']}@{package['version']}" in notes
        for name, digest in package["sha256"].items():
            assert hashlib.sha256((VENDOR / package["dir"] / name).read_bytes()).hexdigest() == digest, name
        assert "MIT" in (split_viewer / "lib" / package["dir"] / "LICENSE").read_text()
        for name in package["scripts"]:  # the page's copy = the upstream file inside a two-line loader wrapper
            wrapped = (split_viewer / "lib" / package["dir"] / f"{name}.js").read_text()
            body = wrapped.split("\n", 2)[2].rsplit("\n});\n", 1)[0]
            assert hashlib.sha256(body.encode()).hexdigest() == package["sha256"][name]


def test_sizes_stay_small(split_viewer):
    library = sum(p.stat().st_size for p in (split_viewer / "lib").rglob("*") if p.is_file())
    clips = sum(p.stat().st_size for p in (split_viewer / "clips").rglob("*") if p.is_file())
    assert library < 2.6e6  # three.js is most of it
    assert clips < 1.5e6  # two 17-frame clips: video, depth, cube faces, tracks, inputs


def test_existing_folders_are_replaced_only_when_a_viewer(generation_dir, tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not written by panoworld view"):
        write_viewer([generation_dir], target)
    assert (target / "notes.txt").read_text() == "keep me"
    index = write_viewer([generation_dir], tmp_path / "view")
    (index.parent / "stale.txt").write_text("from an older run")
    again = write_viewer([generation_dir / "pano.mp4"], tmp_path / "view")
    assert again == index and not (index.parent / "stale.txt").exists()
    assert [c["title"] for c in read_data(index.parent)["clips"]] == ["pano"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_default_folder_is_next_to_a_single_folder(generation_dir, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / "g"
    shutil.copytree(generation_dir, folder)
    assert write_viewer(folder) == folder / "viewer" / "index.html"
    monkeypatch.chdir(tmp_path)
    assert write_viewer([folder / "pano.mp4", folder / "round1.mp4"]).resolve() == \
        (tmp_path / "panoworld_view" / "index.html").resolve()


def test_eval_results_page_has_methods_and_metric_table(results_dir, synth_split, tmp_path):
    data = read_data(write_viewer([results_dir], tmp_path / "r", master=synth_split).parent)
    clip = data["clips"][0]
    assert [v["label"] for v in clip["videos"]] == ["ground truth", "oracle", "static"]
    assert clip["metrics"] == {"methods": ["oracle", "static"],
                               "rows": [{"metric": "psnr/erp", "values": ["100", "17.25"]}]}
    assert clip["videos"][0]["depth"] and clip["videos"][1]["depth"] and not clip["videos"][2]["depth"]


def test_a_camera_without_a_photo_still_gets_its_outline(generation_dir, tmp_path):
    import shutil

    folder = tmp_path / "g"
    shutil.copytree(generation_dir, folder)
    record = json.loads((folder / "run.json").read_text())
    record["arguments"]["image"] = "gone.png"
    (folder / "run.json").write_text(json.dumps(record))
    data = read_data(write_viewer(folder, tmp_path / "v").parent)
    entry = data["clips"][0]["input"]
    assert "image" not in entry and entry["yaw"] == 30.0 and len(entry["outline"]) == 96
    lon, lat = zip(*entry["outline"])
    assert 30 - 50 < min(lon) < max(lon) < 30 + 50 and max(lat) > 10  # around yaw 30, pitch 10 (default 4:3 frame)
