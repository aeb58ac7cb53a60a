"""``panoworld generate --fast``: the switches reach the run and its record; bad values are one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from panoworld.cli import main
from panoworld.io import write_image

TINY = ["--tiny-random", "--device", "cpu", "--resolution", "32x64", "--frames", "5", "--persp-resolution", "16x32",
        "--latent-padding", "1"]


@pytest.fixture
def photo(tmp_path):
    return write_image(tmp_path / "photo.png", torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(0)))


def test_fast_switches_are_run_and_recorded(tmp_path, photo):
    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "a desk", "--out", str(out), "--steps", "6", "--fast", "cache,fp8",
                 "--cache-threshold", "0.6", *TINY]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["step_cache"] == 0.6 and record["config"]["fp8"] is True
    assert record["arguments"]["fast"] == "cache,fp8"
    assert "round1_cache_reused" in record["run_info"]


@pytest.mark.parametrize("extra,needle", [(["--fast", "turbo"], "--fast"),
                                          (["--cache-threshold", "0.2"], "--cache-threshold needs --fast cache"),
                                          (["--fast", "cache", "--cache-threshold", "1.5"], "--cache-threshold")])
def test_bad_fast_options(tmp_path, photo, capsys, extra, needle):
    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "x", "--out", str(out), "--steps", "1", *TINY, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and needle in err
    assert not out.exists()
