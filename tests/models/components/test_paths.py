"""Component resolution: default layout under $PANOWORLD_WEIGHTS, overrides, hub ids, one-line errors."""

from __future__ import annotations

import pytest
import torch

from panoworld.errors import MissingComponentError
from panoworld.models.components import (
    COMPONENTS,
    ComponentPaths,
    ImageEncoder,
    TextEncoder,
    VideoVAE,
    resolve_component,
)


@pytest.fixture
def weights(tmp_path, monkeypatch):
    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_missing_component_message(weights, name):
    with pytest.raises(MissingComponentError) as info:
        resolve_component(name)
    msg = str(info.value)
    assert "\n" not in msg
    assert name in msg and str(weights / name) in msg
    assert COMPONENTS[name].source in msg
    if COMPONENTS[name].hub_id:
        assert COMPONENTS[name].hub_id in msg


def test_default_location_found(weights):
    (weights / "wan2.1-vae").mkdir()
    (weights / "wan2.1-vae" / "config.json").write_text("{}")
    assert resolve_component("wan2.1-vae") == str(weights / "wan2.1-vae")
    (weights / "siglip2-so400m-patch14-384").mkdir()  # an empty folder is still missing
    with pytest.raises(MissingComponentError):
        resolve_component("siglip2-so400m-patch14-384")


def test_default_root_is_local_weights(monkeypatch):
    monkeypatch.delenv("PANOWORLD_WEIGHTS", raising=False)
    assert ComponentPaths().expected("panoworld").as_posix() == "weights/panoworld"


def test_override_local_path_and_missing_override(weights, tmp_path):
    f = tmp_path / "model_ema_bf16.pt"
    f.write_bytes(b"x")
    assert resolve_component("panoworld", f) == str(f)
    with pytest.raises(MissingComponentError, match="nothing at"):
        resolve_component("panoworld", tmp_path / "absent.pt")


def test_local_looking_path_is_not_a_hub_id(weights, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(MissingComponentError, match="nothing at 'mine/vae'"):
        resolve_component("wan2.1-vae", "mine/vae")


def test_hub_id_online_unreachable_and_offline(weights, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr("panoworld.models.components.paths.hub_unreachable", lambda: False)
    assert resolve_component("cosmos-reason1-7b", "nvidia/Cosmos-Reason1-7B") == "nvidia/Cosmos-Reason1-7B"
    monkeypatch.setattr("panoworld.models.components.paths.hub_unreachable", lambda: True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    with pytest.raises(MissingComponentError, match="cannot be reached"):
        resolve_component("cosmos-reason1-7b", "nvidia/Cosmos-Reason1-7B")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    with pytest.raises(MissingComponentError, match="offline"):
        resolve_component("cosmos-reason1-7b", "nvidia/Cosmos-Reason1-7B")


def test_unknown_component_name():
    with pytest.raises(MissingComponentError, match="unknown component"):
        resolve_component("stable-diffusion")


def test_resolved_local_dirs_load_with_from_pretrained(weights, tiny_qwen_dir, tiny_siglip_dir, tiny_vae):
    """The real from_pretrained paths, on folders written by save_pretrained under the default layout."""
    import shutil

    shutil.copytree(tiny_qwen_dir[0], weights / "cosmos-reason1-7b")
    shutil.copytree(tiny_siglip_dir[0], weights / "siglip2-so400m-patch14-384")
    tiny_vae.model.save_pretrained(weights / "wan2.1-vae" / "vae")

    text = TextEncoder.from_pretrained(resolve_component("cosmos-reason1-7b"), dtype=torch.float32, device="cpu")
    image = ImageEncoder.from_pretrained(resolve_component("siglip2-so400m-patch14-384"), device="cpu")
    vae = VideoVAE.from_pretrained(resolve_component("wan2.1-vae"), dtype=torch.float32, device="cpu")
    assert text.device.type == image.device.type == vae.device.type == "cpu"
    assert text.encode(["a"]).shape == (1, 512, 64)
    assert image.encode(torch.rand(1, 3, 56, 56)).shape == (1, 16, 16)
    assert vae.encode(torch.zeros(1, 3, 1, 8, 8)).shape == (1, 16, 1, 1, 1)
