"""``panoworld weights``: status listing and --check exit code."""

from __future__ import annotations

from panoworld.cli import main


def test_weights_lists_components_and_check_fails(tmp_path, capsys):
    (tmp_path / "wan2.1-vae").mkdir()
    (tmp_path / "wan2.1-vae" / "Wan2.1_VAE.pth").write_bytes(b"x")
    assert main(["weights", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ok       wan2.1-vae" in out
    assert "MISSING  cosmos-reason1-7b" in out and "nvidia/Cosmos-Reason1-7B" in out
    assert "MISSING  dap/model.pth" in out and "Insta360-Research/DAP-weights" in out
    assert main(["weights", "--root", str(tmp_path), "--check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: missing component(s): panoworld, cosmos-reason1-7b")


def test_weights_check_passes_when_complete(tmp_path, capsys):
    from panoworld.models.components import COMPONENTS
    from panoworld.weights import ANNOTATION_WEIGHTS

    for name in COMPONENTS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
    assert main(["weights", "--root", str(tmp_path), "--check"]) == 0
    out = capsys.readouterr().out
    assert "MISSING" in out and "ok       panoworld" in out  # annotation weights are listed, not checked
    for relative, _, _ in ANNOTATION_WEIGHTS.values():
        (tmp_path / relative).parent.mkdir(parents=True)
        (tmp_path / relative).write_bytes(b"x")
    assert main(["weights", "--root", str(tmp_path), "--check"]) == 0
    assert "MISSING" not in capsys.readouterr().out
