"""``panoworld project`` end to end, and the one-line errors users see for bad input."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from panoworld.cli import main
from panoworld.io import probe_video, read_image, read_spherical_metadata, write_image, write_video
from tests.conftest import textured_erp


@pytest.fixture
def erp_png(tmp_path):
    return write_image(tmp_path / "erp.png", textured_erp(64, 128).float())


def test_image_conversions_roundtrip(tmp_path, erp_png):
    assert main(["project", "e2p", str(erp_png), str(tmp_path / "v.png"), "--fov", "90", "--yaw", "30", "--size", "48x64"]) == 0
    assert read_image(tmp_path / "v.png").shape == (3, 48, 64)
    assert main(["project", "p2e", str(tmp_path / "v.png"), str(tmp_path / "c.png"), "--yaw", "30", "--size", "64x128",
                 "--mask", str(tmp_path / "m.png")]) == 0
    assert read_image(tmp_path / "c.png").shape == (3, 64, 128)
    mask = read_image(tmp_path / "m.png")[0]
    assert 0.05 < float(mask.mean()) < 0.3
    assert main(["project", "e2c", str(erp_png), str(tmp_path / "cube.png"), "--face-size", "32"]) == 0
    assert read_image(tmp_path / "cube.png").shape == (3, 32, 192)
    assert main(["project", "c2e", str(tmp_path / "cube.png"), str(tmp_path / "back.png"), "--size", "64x128"]) == 0
    back = read_image(tmp_path / "back.png")
    assert (back - read_image(erp_png)).abs().mean() < 0.05
    assert main(["project", "rotate", str(erp_png), str(tmp_path / "r.png"), "--yaw", "90"]) == 0
    assert torch.allclose(read_image(tmp_path / "r.png"), torch.roll(read_image(erp_png), -32, dims=-1), atol=1 / 255)


def test_video_conversion_streams_and_marks_erp_outputs(tmp_path):
    frames = textured_erp(32, 64).float()[None].repeat(10, 1, 1, 1)
    src = write_video(tmp_path / "erp.mp4", frames, 16)
    assert main(["project", "e2p", str(src), str(tmp_path / "v.mp4"), "--size", "32x32", "--chunk", "4"]) == 0
    info = probe_video(tmp_path / "v.mp4")
    assert (info.num_frames, info.fps, info.height, info.width) == (10, 16, 32, 32)
    assert read_spherical_metadata(tmp_path / "v.mp4") is None
    assert main(["project", "rotate", str(src), str(tmp_path / "r.mp4"), "--pitch", "10"]) == 0
    assert read_spherical_metadata(tmp_path / "r.mp4")["ProjectionType"] == "equirectangular"


def run_cli(*args):
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "panoworld", *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize(
    "case",
    ["missing", "not_image", "not_2to1", "fov", "corrupt_mp4", "bad_size"],
)
def test_bad_input_gives_one_line_error_and_no_output(tmp_path, erp_png, case):
    out = tmp_path / "out" / ("o.mp4" if case == "corrupt_mp4" else "o.png")
    if case == "missing":
        args = ["project", "e2p", str(tmp_path / "nope.png"), str(out)]
    elif case == "not_image":
        (tmp_path / "text.png").write_text("this is not an image")
        args = ["project", "e2p", str(tmp_path / "text.png"), str(out)]
    elif case == "not_2to1":
        square = write_image(tmp_path / "sq.png", torch.rand(3, 64, 64))
        args = ["project", "e2p", str(square), str(out)]
    elif case == "fov":
        args = ["project", "e2p", str(erp_png), str(out), "--fov", "180"]
    elif case == "corrupt_mp4":
        (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 20)
        args = ["project", "rotate", str(tmp_path / "bad.mp4"), str(out)]
    else:
        args = ["project", "e2p", str(erp_png), str(out), "--size", "big"]
    result = run_cli(*args)
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    if case == "not_2to1":
        assert "twice as wide" in lines[0]


def test_every_command_has_help():
    for args in (["--help"], ["project", "--help"], ["project", "e2p", "--help"], ["demo", "--help"]):
        assert main(args) == 0
