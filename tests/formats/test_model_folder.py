"""The model-folder index: round trip, validation of the sampler contract, component references."""

from __future__ import annotations

import json

import pytest

from panoworld.errors import InputError
from panoworld.formats.model_folder import (
    MODEL_INDEX,
    ModelIndex,
    SamplerSpec,
    component_name,
    is_model_folder,
    local_reference,
    read_model_index,
    write_model_index,
)


def _index(**sampler) -> ModelIndex:
    return ModelIndex(
        family="panoworld-small",
        components={"transformer": "transformer", "vae": "vae", "text_encoder": "component:cosmos-reason1-7b"},
        sampler=SamplerSpec(**sampler),
        defaults={"height": 128, "width": 256, "num_frames": 33, "fps": 16.0},
        provenance={"steps": 10},
    )


def test_round_trip(tmp_path):
    write_model_index(tmp_path, _index())
    assert is_model_folder(tmp_path)
    back = read_model_index(tmp_path)
    assert back.family == "panoworld-small"
    assert back.components == {"transformer": "transformer", "vae": "vae",
                               "text_encoder": "component:cosmos-reason1-7b"}
    assert back.sampler == SamplerSpec()
    assert back.defaults["num_frames"] == 33 and back.provenance == {"steps": 10}


def test_few_step_round_trip(tmp_path):
    write_model_index(tmp_path, _index(kind="few-step", num_steps=4, guidance=0.0,
                                       timesteps=[0.999, 0.937, 0.833, 0.624]))
    spec = read_model_index(tmp_path).sampler
    assert spec.kind == "few-step" and spec.timesteps == [0.999, 0.937, 0.833, 0.624]


@pytest.mark.parametrize("sampler", [
    dict(kind="ddim"),
    dict(num_steps=0),
    dict(guidance=float("nan")),
    dict(kind="few-step", num_steps=4, timesteps=[0.9, 0.5]),
    dict(kind="few-step", num_steps=2, timesteps=[0.5, 0.9]),
    dict(kind="few-step", num_steps=2, timesteps=[1.5, 0.9]),
    dict(timesteps=[0.9]),
])
def test_bad_sampler_rejected(tmp_path, sampler):
    with pytest.raises(InputError):
        write_model_index(tmp_path, _index(**sampler))
    assert not (tmp_path / MODEL_INDEX).exists()


def test_reader_errors_are_one_line(tmp_path):
    with pytest.raises(InputError, match="not a PanoWorld model folder"):
        read_model_index(tmp_path)
    (tmp_path / MODEL_INDEX).write_text(json.dumps({"format": "panoworld-model", "version": 99}))
    with pytest.raises(InputError, match="newer"):
        read_model_index(tmp_path)
    (tmp_path / MODEL_INDEX).write_text("{not json")
    assert not is_model_folder(tmp_path)
    with pytest.raises(InputError, match="unreadable"):
        read_model_index(tmp_path)


def test_missing_transformer_and_unknown_slot(tmp_path):
    with pytest.raises(InputError, match="transformer"):
        write_model_index(tmp_path, ModelIndex(family="x", components={"vae": "vae"}))
    with pytest.raises(InputError, match="unknown component"):
        write_model_index(tmp_path, ModelIndex(family="x", components={"transformer": "t", "unet": "u"}))


def test_component_references(tmp_path):
    (tmp_path / "vae").mkdir()
    assert component_name("component:wan2.1-vae") == "wan2.1-vae"
    assert component_name("vae") is None
    assert local_reference(tmp_path, "vae") == str(tmp_path / "vae")
    assert local_reference(tmp_path, "Wan-AI/Wan2.1-T2V-1.3B-Diffusers") == "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
    with pytest.raises(ValueError):
        local_reference(tmp_path, "component:wan2.1-vae")


def test_portable_paths_rewrites_absolute_paths_relative_to_their_common_folder(tmp_path):
    from panoworld.formats.model_folder import portable_paths

    root = tmp_path / "dist"
    tree = {"run": {"out_dir": str(root / "run"), "seed": 0}, "data": {"train": [{"path": f"{root}/data/a/"}],
            "cache_dir": str(root / "run-cache")}, "init": "src/panoworld/assets/small_model", "note": "a/b"}
    assert portable_paths(tree) == {"run": {"out_dir": "run", "seed": 0}, "data": {
        "train": [{"path": "data/a"}], "cache_dir": "run-cache"}, "init": "src/panoworld/assets/small_model",
        "note": "a/b"}
    assert portable_paths({"only": str(tmp_path / "x" / "cache")}) == {"only": "cache"}
    assert portable_paths({"none": "relative", "n": [1, 2.5]}) == {"none": "relative", "n": [1, 2.5]}
