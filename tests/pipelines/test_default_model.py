"""Which model ``generate`` uses: the small PanoWorld shipped with the package when no PanoWorld weights are
installed (with a one-line note), ``--model small`` explicitly, the weights root when it holds PanoWorld."""

from __future__ import annotations

import pytest

from panoworld.cli import main
from panoworld.errors import InputError, MissingComponentError
from panoworld.io import write_image
from panoworld.pipelines import loading
from panoworld.pipelines.loading import SMALL, resolve_model
from tests.tiny_models import write_tiny_model_folder

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory):
    return write_tiny_model_folder(tmp_path_factory.mktemp("small") / "small_model")


@pytest.fixture
def shipped(monkeypatch, small_folder, tmp_path):
    """The shipped small model is ``small_folder``; the weights root is an empty folder."""
    monkeypatch.setattr(loading, "small_model_folder", lambda student=False: small_folder)
    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return small_folder


def test_without_weights_the_small_model_is_used_and_said(shipped):
    source = resolve_model(None)
    assert source.kind == "model-folder" and source.location == str(shipped)
    assert "small PanoWorld" in source.note and "--model" in source.note
    named = resolve_model(SMALL)
    assert named.location == str(shipped) and named.note == ""  # named by the user: nothing to say


def test_a_weights_root_with_panoworld_is_not_replaced(shipped, tmp_path):
    (tmp_path / "weights" / "panoworld").mkdir(parents=True)
    (tmp_path / "weights" / "panoworld" / "config.json").write_text("{}")
    with pytest.raises(MissingComponentError, match="cosmos-reason1-7b"):
        resolve_model(None)  # the user installed PanoWorld: a missing part is an error, not a silent swap


def test_an_explicit_checkpoint_is_not_replaced(shipped):
    with pytest.raises(MissingComponentError):
        resolve_model(None, loading.ModelPaths(checkpoint="/nonexistent/panoworld"))


def test_the_small_model_has_no_base_model(shipped):
    with pytest.raises(InputError, match="no base model"):
        resolve_model(SMALL, need_base=True)


def test_generate_says_which_model_it_uses(shipped, tmp_path, capsys):
    import torch

    image = write_image(tmp_path / "photo.png", torch.rand(3, 24, 32, generator=torch.Generator().manual_seed(0)))
    code = main(["generate", str(image), "--prompt", "a desk", "--out", str(tmp_path / "out"), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "using the small PanoWorld" in captured.out + captured.err
    assert (tmp_path / "out" / "pano.mp4").is_file()
