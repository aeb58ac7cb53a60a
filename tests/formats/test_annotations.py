"""Annotation folders: writer -> reader round trip, schema check, older layouts (DAP code -> metres)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from panoworld.errors import InputError
from panoworld.formats.annotations import (
    ANNOTATION_FILES,
    ANNOTATIONS_VERSION,
    AnnotationWriter,
    check_folder,
    has_annotations,
    is_complete,
    read_annotations,
)

K, N, H, W = 3, 5, 4, 8


def _write(folder, *, depth=None, **meta):
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 20.0, (K, H, W)) if depth is None else depth
    rot = np.tile(np.concatenate([np.eye(3).ravel(), [0.0, 0.0, 0.0]]), (K, 1))
    with AnnotationWriter(folder) as writer:
        for k in range(K):
            writer.depth(k, depth[k])
        writer.put(sky_mask=depth > 15)
        writer.put(tracks_2d=rng.uniform(0, W - 1, (N, K, 2)))
        writer.put(visibility=rng.uniform(0, 1, (N, K)))
        writer.put(tracks_3d=rng.normal(size=(N, K, 3)))
        writer.put(tracks_3d_raw=rng.normal(size=(N, K, 3)))
        writer.put(track_is_static=np.ones(N))
        writer.put(camera_poses=rot)
        writer.put(camera_c2w=np.tile(np.eye(4), (K, 1, 1)))
        writer.put(frame_indices=np.array([0, 4, 8]))
        writer.put(rigidity=np.zeros(N))
        out = writer.commit({"video_resolution": [W, H], "n_frames": K, "n_tracks": N, "frame_indices": [0, 4, 8],
                             "fps": 8.0, **meta})
    return out, depth


def test_round_trip_and_schema(tmp_path):
    folder, depth = _write(tmp_path / "clip")
    assert is_complete(folder) and has_annotations(folder) and check_folder(folder) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["version"] == ANNOTATIONS_VERSION and meta["depth_unit"] == "m"
    for name, (_, dtypes) in ANNOTATION_FILES.items():
        if name != "meta.json" and "{k" not in name:
            assert np.load(folder / name).dtype.name in dtypes.split("|"), name
    ann = read_annotations(folder, video_fps=8.0)
    np.testing.assert_allclose(ann.depth.numpy(), depth, rtol=1e-3)  # float16 on disk
    assert ann.size == (H, W) and np.allclose(ann.times, [0.0, 0.5, 1.0])
    assert ann.tracks_2d.shape == (N, K, 2) and ann.visibility.dtype == bool and ann.sky.shape == (K, H, W)
    assert np.allclose(ann.poses, np.eye(4))


def test_schema_check_finds_problems(tmp_path):
    folder, _ = _write(tmp_path / "clip")
    np.save(folder / "tracks_2d.npy", np.zeros((N + 1, K, 2), np.float32))
    np.save(folder / "visibility.npy", np.zeros((N, K), np.float64))
    (folder / "camera_c2w.npy").unlink()
    problems = "\n".join(check_folder(folder))
    assert "tracks_2d.npy: N = 6" in problems and "visibility.npy: dtype float64" in problems
    assert "camera_c2w.npy: missing" in problems
    with pytest.raises(ValueError, match="not a whole-clip annotation field"):
        AnnotationWriter(tmp_path / "x").put(video=np.zeros(1))


def test_rewrite_replaces_old_files_and_keeps_other_files(tmp_path):
    folder = tmp_path / "result"
    folder.mkdir()
    (folder / "video.mp4").write_bytes(b"video")  # a method's result folder holds its video too
    _write(folder)
    (tmp_path / ".result.killed.tmp").mkdir()  # left by a killed writer
    with AnnotationWriter(folder) as writer:
        writer.depth(0, np.ones((H, W)))
        writer.commit({"video_resolution": [W, H], "n_frames": 1})
    assert (folder / "video.mp4").read_bytes() == b"video"
    assert sorted(p.name for p in (folder / "depth").iterdir()) == ["0000.npy"]
    assert not (folder / "tracks_2d.npy").exists() and is_complete(folder)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with AnnotationWriter(tmp_path / "aborted") as writer:
        writer.depth(0, np.ones((H, W)))  # no commit: nothing appears
    assert not (tmp_path / "aborted").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_older_annotate_layout_reads_in_metres(tmp_path):
    """Folders of earlier `panoworld annotate` versions: depth/ a DAP code in [0, 1] (+ depth_m/), meta scale 100."""
    root = tmp_path / "old"
    (root / "depth").mkdir(parents=True)
    (root / "depth_m").mkdir()
    code = np.array([[0.05, 1.0], [0.2, 0.5]], np.float16)  # 1.0 = sky (100 m)
    for i in range(2):
        np.save(root / "depth" / f"{i:04d}.npy", code)
        np.save(root / "depth_m" / f"{i:04d}.npy", (code.astype(np.float32) * 100).astype(np.float16))
    meta = {"video_resolution": [2, 2], "n_frames": 2, "depth_unit": "m", "depth_scale": 100.0}
    (root / "meta.json").write_text(json.dumps(meta))
    ann = read_annotations(root, video_fps=10.0, video_frames=20)
    np.testing.assert_allclose(ann.depth[0].numpy(), [[5.0, 100.0], [20.0, 50.0]], rtol=1e-3)
    assert np.allclose(ann.times, [0.0, 1.0])  # reference rule: every 20 // 2 = 10th frame at 10 fps


@pytest.mark.parametrize("meta,kind,scale", [
    ({}, "", 100.0),  # no unit, float16 <= 1.5: the reference's DAP code
    ({"depth_unit": "dap"}, "", 100.0),
    ({}, "dap_estimated", 100.0),
    ({"depth_unit": "m"}, "", 1.0),  # an earlier synth folder
])  # fmt: skip
def test_legacy_depth_units(tmp_path, meta, kind, scale):
    root = tmp_path / "legacy"
    (root / "depth").mkdir(parents=True)
    np.save(root / "depth" / "0000.npy", np.full((2, 4), 0.5, np.float16))
    (root / "meta.json").write_text(json.dumps(meta))
    assert float(read_annotations(root, video_fps=1.0, depth_kind=kind).depth.max()) == pytest.approx(0.5 * scale)


def test_newer_version_is_refused(tmp_path):
    folder, _ = _write(tmp_path / "clip")
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "version": ANNOTATIONS_VERSION + 1}))
    with pytest.raises(InputError, match="newer"):
        read_annotations(folder, video_fps=1.0)
