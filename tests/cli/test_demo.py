"""``panoworld demo`` generates with the shipped small model's 4-step student, writes the viewer and the geometry
outputs, and says where to look next; a student run with other steps is refused before anything is generated."""

from __future__ import annotations

import numpy as np
import pytest

from panoworld.cli import main
from panoworld.io import probe_video

pytest.importorskip("diffusers")


def test_demo_generates_with_the_small_student_and_writes_a_viewer(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--device", "cpu", "--frames", "4", "--size", "36x64",
                 "--face-size", "16"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    info = probe_video(out / "generated" / "pano.mp4", count_frames=True)
    assert (info.num_frames, info.height, info.width) == (33, 128, 256)
    with np.load(out / "generated" / "depth.npz") as depth:
        assert depth["depth"].shape == (33, 16, 32)
    assert (out / "viewer" / "index.html").is_file()
    for name in ("canvas.png", "cubemap.png", "tour.mp4"):
        assert (out / name).is_file()
    assert "next: open" in captured.out + captured.err


def test_demo_without_generation_needs_no_model(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--no-generate", "--model", "/nonexistent", "--frames", "2",
                 "--size", "36x64", "--face-size", "16"])
    assert code == 0, capsys.readouterr().err
    assert (out / "tour.mp4").is_file() and not (out / "generated").exists()


def test_demo_refuses_steps_the_student_was_not_distilled_for_before_generating(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--steps", "1", "--device", "cpu", "--frames", "2", "--size", "36x64",
                 "--face-size", "16"])
    err = capsys.readouterr().err
    assert code == 2 and "--steps must be 4" in err and "Traceback" not in err
    assert not (out / "generated" / "pano.mp4").exists()
