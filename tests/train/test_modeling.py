"""Building the trained transformer: from a checkpoint, widened from the base variant, heads added."""

from __future__ import annotations

import pytest
import torch

from panoworld.errors import InputError
from panoworld.models import PanoWorldTransformer, tiny_config
from panoworld.train.config import load_config
from panoworld.train.modeling import build_transformer
from tests.models.conftest import make_inputs


def _config(init: str, **extra):
    sets = [f"model.init={init}", "model.transformer={}", "model.depth_head_block=1", "model.descriptor_head_block=1",
            "model.head_hidden_dim=16", "model.descriptor_dim=8", *[f"{k}={v}" for k, v in extra.items()]]
    return load_config("tiny-synth", sets)


def test_widening_a_base_checkpoint_keeps_its_function_and_adds_heads(tmp_path):
    torch.manual_seed(0)
    base = PanoWorldTransformer(**tiny_config(reference_channels=0, img_context_dim_in=None, rope_type="linear"))
    base.save_pretrained(tmp_path / "base")
    model = build_transformer(_config(str(tmp_path / "base"), **{"model.widen": "true",
                                                                 "model.transformer": "{rope_type='linear'}"}))
    assert model.config.reference_channels == 16 and model.config.img_context_dim_in == 1152 and model.has_depth_head
    kwargs = make_inputs(model.eval())
    with torch.no_grad():
        widened = model(**kwargs).sample
        original = base.eval()(hidden_states=kwargs["hidden_states"][:, :16], timestep=kwargs["timestep"],
                               encoder_hidden_states=kwargs["encoder_hidden_states"],
                               condition_mask=kwargs["condition_mask"]).sample
    torch.testing.assert_close(widened, original, atol=1e-5, rtol=1e-5)
    PanoWorldTransformer(**tiny_config()).save_pretrained(tmp_path / "panoworld")
    with pytest.raises(InputError, match="already is the PanoWorld variant"):
        build_transformer(_config(str(tmp_path / "panoworld"), **{"model.widen": "true"}))


def test_a_checkpoint_loads_strictly_except_for_new_heads(tmp_path):
    torch.manual_seed(0)
    source = PanoWorldTransformer(**tiny_config())
    source.save_pretrained(tmp_path / "t")
    model = build_transformer(_config(str(tmp_path / "t")))
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in source.state_dict().items())
    assert any(k.startswith("depth_head.") for k in state)
    with pytest.raises(InputError, match="nothing at"):
        build_transformer(_config(str(tmp_path / "missing")))
