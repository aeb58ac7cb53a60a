"""`panoworld synth` end to end: layout, shapes and dtypes, relative paths, resume, byte-identical output."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from panoworld.cli import main
from panoworld.formats.annotations import ANNOTATION_FILES
from panoworld.formats.testset import MASTER_COLUMNS
from panoworld.io import probe_video, read_image
from panoworld.sphere import direction_to_lonlat, lonlat_to_pixel
from panoworld.synth import plan_split
from panoworld.synth.contact import contact_sheet

ARGS = ["--clips", "3", "--frames", "5", "--size", "16x32", "--seed", "4", "--ann-frames", "3", "--grid", "4"]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_split(root: Path, *, height: int, width: int, grid: int) -> list[dict]:
    """Read a split back and check every file against the documented layout; returns the CSV rows."""
    with open(root / "master.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and tuple(rows[0].keys()) == MASTER_COLUMNS
    for row in rows:
        for key in ("video_path", "annotation_dir", "caption_path", "input_path"):
            assert not Path(row[key]).is_absolute() and (root / row[key]).exists(), row[key]
        info = probe_video(root / row["video_path"], count_frames=True)
        assert (info.height, info.width, info.num_frames) == (height, width, int(row["n_video_frames"]))
        assert row["resolution"] == f"{width}x{height}"
        captions = json.loads((root / row["caption_path"]).read_text())
        assert set(captions) == {"short", "medium", "long"}
        assert read_image(root / row["input_path"]).shape[0] == 3
        ann = root / row["annotation_dir"]
        meta = json.loads((ann / "meta.json").read_text())
        dims = {"H": height, "W": width, "N": grid * grid, "K": int(row["n_frames"]), "T": int(row["n_video_frames"])}
        assert meta["n_frames"] == dims["K"] and meta["n_tracks"] == dims["N"] and meta["depth_unit"] == "m"
        for name, (shape, dtype) in ANNOTATION_FILES.items():
            if name == "meta.json":
                continue
            paths = [ann / name.format(k=k) for k in range(dims["K"])] if "{k" in name else [ann / name]
            for path in paths:
                arr = np.load(path, allow_pickle=False)
                assert arr.shape == tuple(dims.get(s, s) for s in shape), (path, arr.shape)
                assert arr.dtype.name in dtype.split("|"), (path, arr.dtype)
        depth = np.load(ann / "depth" / "0000.npy").astype(np.float32)
        assert np.isfinite(depth).all() and depth.min() > 0.05 and depth.max() < 200
        vis = np.load(ann / "visibility.npy")
        t3 = np.load(ann / "tracks_3d.npy")
        assert np.isnan(t3[vis == 0]).all() and np.isfinite(t3[vis == 1]).all()
        assert row["is_static"] == str(int(row["trajectory_kind"] == "static"))
        # The stored 3-D tracks and poses reproject onto the stored 2-D tracks where visible.
        c2w = torch.from_numpy(np.load(ann / "camera_c2w_video.npy"))[meta["frame_indices"]]
        world = torch.from_numpy(np.load(ann / "tracks_3d_world.npy")).double().permute(1, 0, 2)
        cam = ((world - c2w[:, None, :3, 3]).unsqueeze(-2) @ c2w[:, None, :3, :3]).squeeze(-2)
        pix = lonlat_to_pixel(direction_to_lonlat(cam), height, width).permute(1, 0, 2).numpy()
        err = np.abs(pix - np.load(ann / "tracks_2d.npy"))
        err[..., 0] = np.minimum(err[..., 0], width - err[..., 0])
        assert err[vis == 1].max() < 0.05
    return rows


def test_split_writes_reads_back_resumes_and_is_byte_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["synth", "--out", str(a), *ARGS]) == 0
    check_split(a, height=16, width=32, grid=4)
    files = _files(a)
    assert main(["synth", "--out", str(b), *ARGS]) == 0
    assert _files(b) == files
    # Resume after a crash: a clip without meta.json is rendered again, the rest is kept as is.
    (a / "annotations" / "synth__clip0001" / "meta.json").unlink()
    (a / "videos" / "clip0002.mp4").unlink()
    assert main(["synth", "--out", str(a), *ARGS]) == 0
    assert _files(a) == files
    assert main(["synth", "--out", str(a), *ARGS[:-1], "5"]) == 2  # other settings: refused, one line


def test_more_clips_grow_an_existing_split(tmp_path, capsys):
    small, big = tmp_path / "small", tmp_path / "big"
    assert main(["synth", "--out", str(small), *ARGS]) == 0  # 3 clips
    kept = _files(small)
    grow = [*ARGS[:1], "5", *ARGS[2:]]
    assert main(["synth", "--out", str(small), *grow]) == 0
    grown = _files(small)
    assert {k: v for k, v in grown.items() if k in kept and k not in ("master.csv", "split.json")} == \
        {k: v for k, v in kept.items() if k not in ("master.csv", "split.json")}  # the first 3 clips untouched
    assert len(check_split(small, height=16, width=32, grid=4)) == 5
    assert main(["synth", "--out", str(big), *grow]) == 0  # grown == made at once with 5 clips
    assert _files(big) == grown
    capsys.readouterr()
    assert main(["synth", "--out", str(small), *ARGS]) == 2  # shrinking is refused
    assert "can only grow" in capsys.readouterr().err
    assert main(["synth", "--out", str(small), *ARGS[:-1], "5"]) == 2  # other settings: --force named
    assert "--force" in capsys.readouterr().err


def test_fifty_clip_split_in_one_command(tmp_path):
    out = tmp_path / "s"
    args = ["synth", "--out", str(out), "--clips", "50", "--frames", "1", "--size", "8x16", "--grid", "2",
            "--ann-frames", "1", "--no-shadows"]
    assert main(args) == 0
    rows = check_split(out, height=8, width=16, grid=2)
    kinds = [r["trajectory_kind"] for r in rows]
    assert [kinds.count(k) for k in ("static", "rotate", "walk", "walk_rotate")] == [25, 12, 8, 5]


def test_plan_proportions_are_settable():
    plan = plan_split(10, 1, trajectories=(0, 1, 1, 0), indoor_fraction=0.3)
    kinds = [p.trajectory for p in plan]
    assert kinds.count("rotate") == 5 and kinds.count("walk") == 5
    assert sum(p.kind == "indoor" for p in plan) == 3


@pytest.mark.parametrize("bad", [["--size", "16x16"], ["--trajectories", "1,2"], ["--supersample", "2"]])
def test_bad_arguments_fail_with_one_line(tmp_path, bad, capsys):
    assert main(["synth", "--out", str(tmp_path / "x"), "--clips", "1", "--frames", "1", *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
    assert not (tmp_path / "x" / "master.csv").exists()


def test_contact_sheet_tiles_first_middle_last_frames():
    sheet = contact_sheet(size=(8, 16), frames=3, samples=(("indoor", "walk"), ("outdoor", "static")))
    assert sheet.shape == (3, 2 * 10, 3 * 18)
    assert float(sheet.min()) >= 0.0 and float(sheet.max()) <= 1.0
