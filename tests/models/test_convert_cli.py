"""``panoworld convert`` end to end on a tiny synthetic checkpoint."""

from __future__ import annotations

import json

import torch

from panoworld.cli import main

from .conftest import synthetic_checkpoint


def test_convert_cli_writes_folder(tmp_path):
    torch.save({"model": synthetic_checkpoint(base=True)}, tmp_path / "base.pt")
    out = tmp_path / "pano"
    code = main(["convert", str(tmp_path / "base.pt"), str(out), "--variant", "panoworld", "--rope", "periodic",
                 "--dtype", "fp32"])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["rope_type"] == "periodic" and config["reference_channels"] == 16
    assert json.loads((out / "conversion.json").read_text())["source_variant"] == "base"
    assert main(["convert", str(tmp_path / "base.pt"), str(out)]) == 2  # exists, no --force
    assert main(["convert", str(tmp_path / "base.pt"), str(out), "--force"]) == 0


def test_convert_cli_error_leaves_no_output(tmp_path, capsys):
    sd = synthetic_checkpoint()
    sd["net.blocks.0.surprise"] = torch.zeros(2)
    torch.save(sd, tmp_path / "bad.pt")
    out = tmp_path / "out"
    assert main(["convert", str(tmp_path / "bad.pt"), str(out)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "net.blocks.0.surprise" in errors[0]
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "bad.pt"]
    assert main(["convert", str(tmp_path / "missing.pt"), str(out), "--rope", "spiral"]) == 2
