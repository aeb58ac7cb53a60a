"""``panoworld generate --annotate``: DAP depth and CoTracker3 tracks beside the video (tiny random networks), the
viewer reading them, the re-run rule, and the one-line errors before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from panoworld.cli import main
from panoworld.io import write_image

from .test_generate_cli import TINY

pytest.importorskip("panoworld.models.components")


@pytest.fixture
def photo(tmp_path):
    return write_image(tmp_path / "photo.png", torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(0)))


def _library_annotation(video, frames, grid):
    """What panoworld.annotate's networks (the tiny random ones, as generate builds them) give for the video."""
    from panoworld.annotate.models import load_annotation_models
    from panoworld.annotate.pipeline import read_clip_frames
    from panoworld.annotate.tracking import track_erp

    dap, tracker = load_annotation_models(torch.device("cpu"), tiny_random=True)
    clip, indices, _ = read_clip_frames(video, frames, (32, 64))
    with torch.inference_mode():
        depth, sky = dap.predict(clip)
        tracks, vis = track_erp(tracker, clip, grid_size=grid)
    return depth.numpy(), sky.numpy(), tracks.numpy(), vis.numpy(), indices


def test_annotate_writes_dap_depth_and_tracks_that_the_viewer_shows(tmp_path, photo):
    from panoworld.formats.run_records import GENERATION_OUTPUTS
    from panoworld.view.sources import read_sources

    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "a desk", "--out", str(out), *TINY, "--annotate", "tracks,depth",
                 "--annotate-frames", "3", "--annotate-grid", "4"]) == 0
    depth, sky, tracks, vis, indices = _library_annotation(out / "pano.mp4", 3, 4)
    assert indices == [0, 2, 4]
    with np.load(out / GENERATION_OUTPUTS["depth_dap"]) as npz:
        assert npz["depth"].shape == (3, 32, 64) and npz["depth"].dtype == np.float16
        np.testing.assert_allclose(npz["depth"], depth, rtol=1e-3)  # metres, as the library gives them
        assert (npz["depth"] >= 0).all() and (npz["depth"] <= 100).all()
        assert np.array_equal(npz["sky"], sky) and npz["frame_indices"].tolist() == [0, 2, 4]
    with np.load(out / GENERATION_OUTPUTS["tracks"]) as npz:
        assert npz["tracks_2d"].shape == (16, 3, 2) and npz["visibility"].shape == (16, 3)
        np.testing.assert_allclose(npz["tracks_2d"], tracks, atol=1e-4)  # pixels of the 32 x 64 ERP
        np.testing.assert_allclose(npz["visibility"], vis, atol=1e-5)
        assert npz["frame_indices"].tolist() == [0, 2, 4] and npz["size"].tolist() == [32, 64]
    record = json.loads((out / "run.json").read_text())
    assert record["run_info"]["annotate"]["kinds"] == ["depth", "tracks"]
    assert record["run_info"]["annotate"]["grid"] == 4 and "annotate" in record["timings_s"]
    assert {"depth_dap", "tracks"} <= set(record["outputs"])

    (clip,) = read_sources([out])
    geo = clip.videos[0].geometry()
    np.testing.assert_allclose(geo.depth, depth, rtol=1e-3)
    np.testing.assert_allclose(geo.depth_times, [0, 2 / 16, 4 / 16])
    assert geo.tracks.shape == (16, 3, 2) and geo.size == (32, 64)


def test_viewer_prefers_the_depth_head_and_offers_dap_beside_it(tmp_path, photo):
    from panoworld.view.sources import read_sources

    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "x", "--out", str(out), *TINY, "--annotate", "depth",
                 "--annotate-frames", "2"]) == 0
    assert not (out / "tracks.npz").exists()
    head = np.full((5, 4, 8), 3.0, np.float16)  # as the depth head writes it: every frame, its own grid
    np.savez(out / "depth.npz", depth=head, frame_indices=np.arange(5))
    (clip,) = read_sources([out])
    assert [v.label for v in clip.videos] == ["generated", "generated, DAP depth"]
    np.testing.assert_allclose(clip.videos[0].geometry().depth, head)
    dap = clip.videos[1].geometry()
    assert dap.depth.shape == (2, 32, 64) and dap.depth_times.tolist() == [0, 4 / 16]


def _table(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_batch_annotation_settings_are_part_of_the_clip_settings(tmp_path, photo, capsys):
    root = tmp_path / "runs"
    table = _table(tmp_path / "jobs.jsonl", [{"image": "photo.png", "prompt": "a", "id": "one"}])
    args = ["generate", "--batch", str(table), "--out", str(root), *TINY, "--annotate", "tracks",
            "--annotate-frames", "2", "--annotate-grid", "3"]
    assert main(args) == 0
    with np.load(root / "one" / "tracks.npz") as npz:
        assert npz["tracks_2d"].shape == (9, 2, 2)
    stamp = (root / "one" / "pano.mp4").stat().st_mtime_ns
    assert main(args) == 0  # same settings: nothing to do
    assert (root / "one" / "pano.mp4").stat().st_mtime_ns == stamp
    capsys.readouterr()
    assert main([*args, "--annotate-grid", "4"]) == 2  # other annotation settings: a finished clip is stale
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "--force" in err
    assert main([*args, "--annotate-grid", "4", "--force"]) == 0
    with np.load(root / "one" / "tracks.npz") as npz:
        assert npz["tracks_2d"].shape == (16, 2, 2)
    assert json.loads((root / "one" / "run.json").read_text())["run_info"]["annotate"]["grid"] == 4


def test_unknown_annotate_kind_is_one_line_before_work(tmp_path, photo, capsys):
    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "x", "--out", str(out), *TINY, "--annotate", "depth,normals"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "'normals'" in err and "tracks" in err
    assert not out.exists()


def test_missing_annotation_weights_are_named_before_any_model_loads(tmp_path, photo, capsys, monkeypatch):
    weights = tmp_path / "weights"
    (weights / "dap").mkdir(parents=True)
    (weights / "dap" / "model.pth").write_bytes(b"only DAP is installed")
    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(weights))
    out = tmp_path / "out"
    base = ["generate", str(photo), "-p", "x", "--out", str(out), "--device", "cpu", "--model", str(weights)]
    assert main([*base, "--annotate", "depth,tracks"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "`panoworld weights`" in err
    assert "cotracker3/scaled_offline.pth" in err and "dap/model.pth" not in err
    assert not out.exists()
    assert main([*base, "--annotate", "depth"]) == 2  # DAP is there: now the generation model is what is missing
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "cotracker" not in err and "missing component" in err
