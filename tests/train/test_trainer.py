"""The training loop on the CPU: overfitting, untouched heads, bit-exact resume, divergence, logs, LoRA."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from panoworld.train.cache import NEGATIVE, TrainCache
from panoworld.train.checkpoint import find_latest
from panoworld.train.objective import FlowMatchingObjective
from panoworld.train.samples import build_sample, collate
from panoworld.train.trainer import Trainer, TrainingDiverged

NO_GEOMETRY = {"depth_weight": 0.0, "track_weight": 0.0, "rigidity_weight": 0.0}


def _state(run_dir, step):
    folder = run_dir / "checkpoints" / f"step_{step:07d}" / "training_state"
    return load_file(str(folder / "params.safetensors")), load_file(str(folder / "ema.safetensors")), \
        torch.load(folder / "optimizer.pt", weights_only=True)


def test_a_tiny_model_overfits_one_clip(tiny_cache, tmp_path, monkeypatch):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path / "run", run={"max_steps": 100, "log_every": 50, "checkpoint_every": 1000},
                      loss=NO_GEOMETRY, optim={"lr": 3e-3, "warmup_steps": 20, "schedule": "constant"},
                      data={"batch_size": 4}, samples={"cfg_dropout": 0.0})
    cfg.model.transformer.update(num_attention_heads=4, attention_head_dim=24, img_context_dim_out=96)
    cfg.model.depth_head_block = cfg.model.descriptor_head_block = None
    cache = TrainCache.open(cfg)
    name = cache.names("train")[0]
    cache.manifest["clips"]["train"] = [name]  # one clip
    monkeypatch.setattr(TrainCache, "open", classmethod(lambda cls, c: cache))
    uncond = cache.text(NEGATIVE).float()
    fixed = collate([build_sample(cache.entry(name), cache.texts, cfg.samples, 10_000 + i, uncond) for i in range(16)])

    def flow(model):
        with torch.no_grad():
            return float(FlowMatchingObjective(model, cfg).loss("transformer", fixed, 0, fixed.size).total)

    from panoworld.train import modeling

    built = {}
    real_build = modeling.build_transformer

    def build(c):
        built["model"] = real_build(c)
        built["before"] = flow(built["model"])
        return built["model"]

    monkeypatch.setattr(modeling, "build_transformer", build)
    Trainer(cfg).run()
    after = flow(built["model"])
    assert built["before"] / after >= 10, (built["before"], after)


def test_zero_weight_leaves_the_head_untouched_and_unexported(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path / "run", run={"max_steps": 2}, loss={"depth_weight": 0.0, "rigidity_weight": 0.0})
    from panoworld.train.modeling import build_transformer

    init = {k: v.clone() for k, v in build_transformer(cfg).state_dict().items()}
    trainer = Trainer(cfg)
    result = trainer.run()
    params, ema, _ = _state(tmp_path / "run", 2)
    assert not any(k.startswith("transformer.depth_head.") for k in params)  # never trainable
    assert any(k.startswith("transformer.descriptor_head.") for k in params)
    changed = [k for k in params if not torch.equal(params[k], init[k[len("transformer."):]])]
    assert any("descriptor_head" in k for k in changed) and any("transformer_blocks.1" in k for k in changed)
    config = json.loads((result.checkpoint / "transformer" / "config.json").read_text())
    assert config["depth_head_block"] is None and config["descriptor_head_block"] == 1


def test_resume_after_a_kill_matches_an_uninterrupted_run(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    common = dict(run={"max_steps": 4, "checkpoint_every": 2}, data={"batch_size": 2})
    Trainer(make_config(tmp_path / "straight", **common)).run()

    class Killed(BaseException):
        pass

    def kill(step, metrics):
        if step == 3:  # after checkpoint 2, before checkpoint 4
            raise Killed

    with pytest.raises(Killed):
        Trainer(make_config(tmp_path / "killed", **common), on_step=kill).run()
    assert find_latest(tmp_path / "killed").name == "step_0000002"
    Trainer(make_config(tmp_path / "killed", **common)).run()
    a, b = _state(tmp_path / "straight", 4), _state(tmp_path / "killed", 4)
    for left, right in zip(a[:2], b[:2]):
        assert left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)
    for name, entry in a[2]["transformer"]["state"].items():
        other = b[2]["transformer"]["state"][name]
        assert all(torch.equal(entry[k], other[k]) for k in entry)
    steps = [json.loads(line)["step"] for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    with pytest.raises(Exception, match="other settings \\(optim.lr"):
        Trainer(make_config(tmp_path / "killed", run={"max_steps": 6}, optim={"lr": 0.5})).run()


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path / "run", run={"max_steps": 6, "checkpoint_every": 2})
    holder = {}

    def poison(step, metrics):
        if step == 2:
            weight = holder["objective"].transformer.proj_out.weight
            with torch.no_grad():
                weight.fill_(float("nan"))

    from panoworld.train import trainer as trainer_module

    real = trainer_module.FlowMatchingObjective

    def spy(model, c):
        holder["objective"] = real(model, c)
        return holder["objective"]

    trainer_module.FlowMatchingObjective = spy
    try:
        with pytest.raises(TrainingDiverged, match="at step 3 .*step_0000002"):
            Trainer(cfg, on_step=poison).run()
    finally:
        trainer_module.FlowMatchingObjective = real
    assert find_latest(tmp_path / "run").name == "step_0000002"
    record = json.loads((tmp_path / "run" / "training_run.json").read_text())
    assert record["status"].startswith("stopped: TrainingDiverged")


def test_logs_and_validation(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path / "run", run={"max_steps": 2}, validation={"every": 2}, logging={"tensorboard": True})
    Trainer(cfg).run()
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_lines = [x for x in lines if "flow" in x]
    assert [x["step"] for x in train_lines] == [1, 2]
    assert {"loss", "flow", "depth", "track", "rigidity", "lr", "grad_norm", "samples_per_s"} <= set(train_lines[0])
    val = [x for x in lines if "val/seam/discontinuity" in x]
    assert val and "val/depth/abs_rel/raw" in val[0]
    assert (tmp_path / "run" / "validation" / "step_0000002").is_dir()
    record = json.loads((tmp_path / "run" / "training_run.json").read_text())
    assert record["status"] == "finished" and record["step"] == 2
    assert record["tensorboard"] == "tensorboard/" and any((tmp_path / "run" / "tensorboard").iterdir())


def test_lora_trains_adapters_and_exports_a_merged_plain_transformer(tiny_cache, tmp_path):
    pytest.importorskip("peft")
    from panoworld.models import PanoWorldTransformer
    from panoworld.train.lora import lora_layers, lora_scalings, merged_state_dict
    from panoworld.train.modeling import build_transformer
    from tests.models.conftest import make_inputs

    make_config, _ = tiny_cache
    cfg = make_config(tmp_path / "run", run={"max_steps": 2}, lora={"enabled": True, "rank": 4, "alpha": 8.0})
    model = build_transformer(cfg)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(".lora_A." in n for n in trainable) and "patch_embed.proj.weight" in trainable
    assert any(n.startswith("img_context_proj.") for n in trainable) and any("k_img" in n for n in trainable)
    assert not any("attn1.to_q.base_layer" in n or n.startswith("proj_out") for n in trainable)
    assert len(lora_layers(model)) == 2 * 10  # per block: q, k, v, out of both attentions + 2 MLP layers
    for layer in lora_layers(model).values():
        torch.nn.init.normal_(layer.lora_B["default"].weight, std=0.1)
    plain = PanoWorldTransformer(**{k: v for k, v in dict(model.config).items() if not k.startswith("_")})
    plain.load_state_dict(merged_state_dict(model.state_dict(), lora_scalings(model)), strict=True)
    kwargs = make_inputs(plain)
    with torch.no_grad():
        torch.testing.assert_close(plain.eval()(**kwargs).sample, model.eval()(**kwargs).sample, atol=1e-5, rtol=0)
    result = Trainer(cfg).run()
    exported = PanoWorldTransformer.from_pretrained(result.checkpoint / "transformer")
    assert not any("lora" in k for k in exported.state_dict())


def test_a_time_budget_stops_with_a_checkpoint_and_the_run_resumes(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path / "run", run={"max_steps": 50, "checkpoint_every": 100, "max_minutes": 1e-6},
                      **{"loss": NO_GEOMETRY})
    result = Trainer(cfg).run()
    assert result.step == 1 and find_latest(tmp_path / "run").name == "step_0000001"
    assert (result.checkpoint / "transformer" / "config.json").is_file()
    again = Trainer(make_config(tmp_path / "run", run={"max_steps": 2, "checkpoint_every": 100},
                                **{"loss": NO_GEOMETRY})).run()
    assert again.step == 2 and find_latest(tmp_path / "run").name == "step_0000002"
