"""Video and image I/O: exact frame counts and rates, streaming, spherical metadata, atomic writes."""

from fractions import Fraction

import numpy as np
import pytest
import torch

from panoworld.errors import InputError
from panoworld.io import (
    VideoWriter,
    atomic_path,
    iter_video,
    probe_video,
    read_image,
    read_spherical_metadata,
    read_video,
    write_image,
    write_video,
)


def moving_frames(n=13, h=32, w=64):
    t = torch.linspace(0, 1, n)[:, None, None, None]
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([xx, yy, 0.5 * torch.ones_like(xx)])[None]
    return (base + t).remainder(1.0)


@pytest.mark.parametrize("fps", [16, Fraction(30000, 1001), 25])
def test_video_roundtrip_keeps_frames_and_exact_fps(tmp_path, fps):
    frames = moving_frames()
    path = write_video(tmp_path / "v.mp4", frames, fps)
    info = probe_video(path, count_frames=True)
    assert info.num_frames == 13 and info.fps == Fraction(fps) and (info.height, info.width) == (32, 64)
    back = read_video(path)
    assert back.shape == frames.shape
    assert (back - frames).abs().mean() < 0.03  # lossy H.264 at crf 18


def test_streaming_reads_in_chunks_and_selects_frames(tmp_path):
    path = write_video(tmp_path / "v.mp4", moving_frames(n=21), 16)
    sizes = [c.shape[0] for c in iter_video(path, chunk_size=8)]
    assert sizes == [8, 8, 5]
    picked = read_video(path, frame_indices=[0, 10, 20])
    full = read_video(path)
    assert torch.equal(picked, full[[0, 10, 20]])


def test_uint8_frames_pass_through_reader_and_writer_unchanged(tmp_path, monkeypatch):
    import av

    path = write_video(tmp_path / "v.mp4", moving_frames(n=9), 16)
    raw = torch.cat(list(iter_video(path, chunk_size=4, dtype=torch.uint8)))
    assert raw.dtype == torch.uint8 and raw.shape == (9, 3, 32, 64)
    assert torch.equal(raw.float().div(255.0), read_video(path))
    # The encoder receives the same pixels from uint8 and from float frames (x264 output itself can vary
    # between runs on a loaded machine, so the pixels handed to it are compared, not the files).
    handed: dict[str, list] = {"u8": [], "f32": []}
    encode = av.VideoFrame.from_ndarray
    for name, frames in (("u8", raw), ("f32", raw.float().div(255.0))):
        monkeypatch.setattr(av.VideoFrame, "from_ndarray",
                            staticmethod(lambda arr, format, _n=name: handed[_n].append(arr.copy()) or encode(arr, format=format)))
        with VideoWriter(tmp_path / f"{name}.mp4", 16) as writer:
            writer.write(frames)
    assert len(handed["u8"]) == 9 and all(np.array_equal(a, b) for a, b in zip(handed["u8"], handed["f32"]))


def test_same_frames_give_the_same_file_every_time(tmp_path):
    # x264's AVX-512 kernels made later encodes of the same frames in one process differ (see _x264_cpu_options).
    raw = read_video(write_video(tmp_path / "src.mp4", moving_frames(n=9), 16))
    digests = {write_video(tmp_path / f"v{k}.mp4", raw, 16).read_bytes() for k in range(12)}
    assert len(digests) == 1


def test_spherical_metadata_is_written_and_read_back(tmp_path):
    plain = write_video(tmp_path / "plain.mp4", moving_frames(), 16)
    erp = write_video(tmp_path / "erp.mp4", moving_frames(), 16, spherical=True)
    assert read_spherical_metadata(plain) is None
    tags = read_spherical_metadata(erp)
    assert tags["Spherical"] == "true" and tags["ProjectionType"] == "equirectangular"
    assert read_video(erp).shape[0] == 13  # the file still decodes after injection


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(target, 16) as w:
            w.write(moving_frames(n=3))
            raise RuntimeError("crash mid-way")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "x.txt") as tmp:
            tmp.write_text("half")
            raise ValueError
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_missing_videos_raise_input_errors(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(InputError):
        read_video(bad)
    with pytest.raises(InputError, match="not found"):
        probe_video(tmp_path / "missing.mp4")


def test_images_exif_rgba_and_gray_become_rgb(tmp_path):
    from PIL import Image

    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert img.shape == (3, 4, 6) and abs(float(img[0, 0, 0]) - 128 / 255) < 0.01 and float(img[1].max()) == 0
    Image.fromarray(np.full((4, 6), 200, np.uint8), "L").save(tmp_path / "g.png")
    assert read_image(tmp_path / "g.png").shape == (3, 4, 6)
    # EXIF orientation 6 = rotate 90 degrees clockwise for display: a 4x6 file shows as 6x4.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").shape == (3, 6, 4)
    (tmp_path / "not.png").write_text("hello")
    with pytest.raises(InputError, match="cannot read image"):
        read_image(tmp_path / "not.png")
    out = write_image(tmp_path / "o.png", img)
    assert torch.allclose(read_image(out), img, atol=1 / 255)


@pytest.mark.parametrize("fps", [24, Fraction(30000, 1001)])
def test_long_videos_keep_every_frame_and_their_timing(tmp_path, fps):
    # More frames than the encoder's look-ahead, streamed one at a time (regression: pts in the wrong time base).
    with VideoWriter(tmp_path / "long.mp4", fps) as writer:
        for i in range(120):
            writer.write(torch.full((3, 16, 16), (i % 50) / 50))
    info = probe_video(tmp_path / "long.mp4", count_frames=True)
    assert info.num_frames == 120 and info.fps == Fraction(fps)
    assert info.duration == pytest.approx(120 / float(fps))
