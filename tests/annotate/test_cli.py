"""``panoworld annotate`` end to end on CPU with tiny random networks: files, shapes, dtypes, resume, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from panoworld.cli import main
from panoworld.formats.annotations import check_folder
from panoworld.io import write_video
from tests.conftest import textured_erp

H, W, T = 32, 64, 6


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    base = textured_erp(H, W, dtype=torch.float32)
    for k, name in enumerate(["a", "b"]):
        frames = torch.stack([torch.roll(base, shifts=2 * (i + k), dims=-1) for i in range(T + 2)])
        write_video(folder / f"{name}.mp4", frames, fps=8)
    return folder


def _run(src, out, *extra):
    return main(["annotate", str(src), str(out), "--tiny-random", "--device", "cpu", "--frames", str(T),
                 "--size", f"{H}x{W}", "--grid", "4", "--iters", "2", *extra])


def test_annotate_writes_documented_files(videos, tmp_path):
    out = tmp_path / "ann"
    assert _run(videos, out) == 0
    clip = out / "a"
    meta = json.loads((clip / "meta.json").read_text())
    n = meta["n_tracks"]
    assert meta["video_resolution"] == [W, H] and meta["n_frames"] == T and n <= 16
    assert meta["camera_motion"]["method"] in ("static", "rotation", "6dof")
    expect = {
        "tracks_2d.npy": ((n, T, 2), np.float32), "visibility.npy": ((n, T), np.float16),
        "tracks_3d.npy": ((n, T, 3), np.float32), "tracks_3d_raw.npy": ((n, T, 3), np.float32),
        "camera_poses.npy": ((T, 12), np.float32), "camera_c2w.npy": ((T, 4, 4), np.float32),
        "track_is_static.npy": ((n,), np.float32), "rigidity.npy": ((n,), np.float32),
        "sky_mask.npy": ((T, H, W), np.bool_), "frame_indices.npy": ((T,), np.int64),
    }
    for name, (shape, dtype) in expect.items():
        arr = np.load(clip / name)
        assert arr.shape == shape and arr.dtype == dtype, name
    sky = np.load(clip / "sky_mask.npy")
    for i in range(T):
        metres = np.load(clip / "depth" / f"{i:04d}.npy")  # DAP's [0, 1] code converted: metres on disk
        assert metres.shape == (H, W) and metres.dtype == np.float16
        assert 0 <= metres.min() and metres.max() <= 100 and (metres[sky[i]] == 100).all()  # sky: DAP max, 100 m
    assert meta["depth_unit"] == "m" and not (clip / "depth_m").exists()
    assert check_folder(clip) == []  # every file as panoworld.formats.annotations documents it
    tracks = np.load(clip / "tracks_2d.npy")
    assert (tracks[..., 0] >= -0.5).all() and (tracks[..., 0] < W - 0.5).all()
    assert sorted(np.load(clip / "frame_indices.npy").tolist()) == np.load(clip / "frame_indices.npy").tolist()
    assert (out / "b" / "meta.json").is_file()


def test_annotate_resumes_and_shards(videos, tmp_path):
    out = tmp_path / "ann"
    (out / ".a.killed.tmp").mkdir(parents=True)  # what a kill -9 during clip "a" leaves behind
    assert _run(videos, out, "--shard", "1/2") == 0
    assert not (out / "a").exists() and (out / "b" / "meta.json").is_file()
    stamp = (out / "b" / "meta.json").stat().st_mtime_ns
    assert _run(videos, out) == 0
    assert (out / "a" / "meta.json").is_file()
    assert (out / "b" / "meta.json").stat().st_mtime_ns == stamp  # finished clip skipped
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_missing_weights_is_one_line_error(videos, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PANOWORLD_WEIGHTS", raising=False)
    code = main(["annotate", str(videos), str(tmp_path / "o"), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("error: ") and "dap/model.pth" in err[-1]
    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(tmp_path))
    code = main(["annotate", str(videos), str(tmp_path / "o"), "--device", "cpu"])
    assert code == 2 and "huggingface.co" in capsys.readouterr().err
    assert not (tmp_path / "o" / "a").exists()


def test_bad_shard_and_master_csv(videos, tmp_path, capsys):
    assert _run(videos, tmp_path / "o", "--shard", "3/2") == 2
    csv_path = tmp_path / "master.csv"
    csv_path.write_text("clip_id,video_path\nhabitat::x,videos/a.mp4\n")
    assert _run(csv_path, tmp_path / "m", "--query-region", "padded") == 0
    assert (tmp_path / "m" / "habitat__x" / "meta.json").is_file()
    assert _run(csv_path, tmp_path / "m2", "--query-region", "nowhere") == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_request_without_gpu_is_one_line_error(videos, tmp_path, capsys):
    assert _run(videos, tmp_path / "o", "--device", "cuda") == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_annotate_resizes_with_the_seam_wrap(tmp_path):
    """The frames annotate works on are resized with the ERP wrap: the last column sees the first."""
    from panoworld.annotate.pipeline import read_clip_frames
    from panoworld.sphere import resize_erp

    frames = torch.zeros(3, 3, H, W)
    frames[..., :4] = 1.0  # a bright band just right of the seam
    video = write_video(tmp_path / "seam.mp4", frames, fps=8, crf=0)
    small, idx, fps = read_clip_frames(video, 2, (H // 2, W // 2))
    assert small.shape == (2, 3, H // 2, W // 2) and idx == [0, 2] and fps == 8.0
    assert float(small[..., -1].mean()) > 0.08  # left of the seam, reached only through the wrap
    assert float(small[..., W // 4].mean()) < 0.02  # far from the band: dark
    rolled = resize_erp(torch.roll(frames[:2], 16, dims=-1), (H // 2, W // 2))
    torch.testing.assert_close(torch.roll(small, 8, dims=-1), rolled, atol=0.03, rtol=0)  # rotation commutes
