"""``panoworld generate --rounds / --seconds`` end to end with tiny random models, and its one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from panoworld.cli import main
from panoworld.io import probe_video, read_spherical_metadata, write_image

pytest.importorskip("panoworld.models.components")

TINY = ["--tiny-random", "--device", "cpu", "--resolution", "32x64", "--frames", "5", "--steps", "1",
        "--persp-resolution", "16x32", "--latent-padding", "1"]


def test_generate_writes_one_continuous_long_video(tmp_path):
    photo = write_image(tmp_path / "photo.png", torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(0)))
    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "a hall", "--out", str(out), "--rounds", "3",
                 "--extend-prompt", "a corridor", *TINY]) == 0
    info = probe_video(out / "pano.mp4", count_frames=True)
    assert (info.num_frames, float(info.fps)) == (5 + 2 * 4, 16.0) and read_spherical_metadata(out / "pano.mp4")
    assert probe_video(out / "preview.mp4", count_frames=True).num_frames == 13
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["rounds"] == 3 and record["config"]["extend_prompts"] == ["a corridor"]
    assert record["run_info"]["extension"]["junctions"] == [4, 8] and record["run_info"]["extend_evaluations"] == 2
    assert {"extend_sampling", "extend_decode"} <= set(record["timings_s"])


@pytest.mark.parametrize("flags, words", [
    (["--rounds", "2", "--seconds", "3"], "not both"),
    (["--rounds", "2", "--extend-prompt", "a", "--extend-prompt", "b"], "--extend-prompt"),
    (["--rounds", "2", "--extend-frames", "2"], "--extend-frames"),
    (["--seconds", "-1"], "--seconds"),
])
def test_bad_extension_flags_fail_in_one_line_before_loading(tmp_path, capsys, flags, words):
    photo = write_image(tmp_path / "photo.png", torch.rand(3, 30, 40))
    assert main(["generate", str(photo), "-p", "a", "--out", str(tmp_path / "o"), *TINY, *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and words in err[0]
    assert not (tmp_path / "o" / "pano.mp4").exists()
