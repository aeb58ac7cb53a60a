"""``panoworld train distill`` on the CPU with the tiny setup: which network each loss reaches, the DMD gradient and
its normalisation, the update cadence, one step, exact resume, the regression warm-up, and the student checkpoint
generating through ``from_pretrained`` and ``panoworld generate --model`` with the few-step sampler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from panoworld.errors import InputError
from panoworld.formats.model_folder import read_model_index
from panoworld.train.cache import NEGATIVE, TrainCache
from panoworld.train.checkpoint import find_latest
from panoworld.train.distill import distill, distillation_objective
from panoworld.train.distill_config import distill_config_from_dict
from panoworld.train.distill_export import export_model_folder
from panoworld.train.distill_objective import DMD
from panoworld.train.distributed import DistContext
from panoworld.train.samples import build_sample, collate
from panoworld.train.trainer import Trainer

from .conftest import tiny_raw

TIMES = [0.9, 0.6, 0.3]


@pytest.fixture(scope="module")
def teacher(tiny_cache, tmp_path_factory):
    """A tiny teacher: the model folder of a one-step training run (both heads)."""
    make_config, _ = tiny_cache
    torch.set_num_threads(1)
    return Trainer(make_config(tmp_path_factory.mktemp("teacher"), run={"max_steps": 1})).run().checkpoint


@pytest.fixture(scope="module")
def make_distill(tiny_cache, tiny_components, synth_splits, teacher):
    """``make(out_dir, **sections)`` -> a validated tiny DistillConfig distilling ``teacher``."""
    _, cache_dir = tiny_cache

    def make(out_dir, **sections):
        raw = tiny_raw(tiny_components, synth_splits, cache_dir, out_dir)
        raw["model"].pop("transformer")
        raw["model"].update(init=str(teacher), family="panoworld-test-3step")
        raw["samples"]["cfg_dropout"] = 0.0
        raw["flow"] = {"timesteps": "uniform", "t_min": 0.02, "t_max": 0.98}
        raw["optim"].update(warmup_steps=0, schedule="constant")
        raw["distill"] = {"timesteps": TIMES, "critic_updates": 2, "guidance": 3.0, "teacher_steps": 2}
        for section, values in sections.items():
            raw.setdefault(section, {}).update(values)
        return distill_config_from_dict(raw).validate()

    return make


def _objective_and_batch(cfg):
    cache = TrainCache.open(cfg)
    objective = distillation_objective(cfg, cache, DistContext())
    objective.bind(objective.networks())
    uncond = cache.text(NEGATIVE).float()
    names = cache.names("train")
    samples = [build_sample(cache.entry(names[i % len(names)]), cache.texts, cfg.samples, 50 + i, uncond)
               for i in range(2)]
    return objective, collate(samples)


def _grads(module) -> dict[str, torch.Tensor | None]:
    return {n: p.grad for n, p in module.named_parameters()}


def test_each_loss_reaches_only_its_network(make_distill, tmp_path):
    cfg = make_distill(tmp_path / "run")
    objective, batch = _objective_and_batch(cfg)
    teacher_before = {k: v.clone() for k, v in objective.teacher.state_dict().items()}
    assert not any(p.requires_grad for p in objective.teacher.parameters())

    out = objective.loss("student", batch, 0, batch.size)
    assert {"dmd", "depth", "track"} <= set(out.sums)
    out.total.backward()
    student, critic = _grads(objective.student), _grads(objective.critic)
    assert all(g is None for g in critic.values())
    assert student["proj_out.weight"].abs().sum() > 0
    assert student["transformer_blocks.0.attn1.to_q.weight"].abs().sum() > 0
    assert any(g is not None and g.abs().sum() > 0 for n, g in student.items() if n.startswith("depth_head."))
    objective.student.zero_grad(set_to_none=True)

    out = objective.loss("critic", batch, 1, batch.size)
    assert set(out.sums) == {"critic"}
    out.total.backward()
    student, critic = _grads(objective.student), _grads(objective.critic)
    assert all(g is None for g in student.values())
    assert critic["proj_out.weight"].abs().sum() > 0
    assert all(g is None or g.abs().sum() == 0 for n, g in critic.items() if "_head." in n)  # unused heads
    assert all(torch.equal(v, objective.teacher.state_dict()[k]) for k, v in teacher_before.items())


def test_geometry_reaches_heads_and_lower_blocks_only_and_dmd_not_the_heads(make_distill, tmp_path):
    cfg = make_distill(tmp_path / "geo", distill={"dmd_weight": 0.0}, loss={"track_weight": 0.0,
                                                                             "rigidity_weight": 0.0})
    objective, batch = _objective_and_batch(cfg)
    objective.loss("student", batch, 0, batch.size).total.backward()
    grads = _grads(objective.student)
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if n.startswith("depth_head."))
    assert grads["proj_out.weight"] is None or grads["proj_out.weight"].abs().sum() == 0  # after the head block
    cfg = make_distill(tmp_path / "dmd", loss={"depth_weight": 0.0, "track_weight": 0.0, "rigidity_weight": 0.0})
    objective, batch = _objective_and_batch(cfg)
    assert objective.heads == {"depth_head": True, "descriptor_head": True}  # copied from the teacher, exported
    objective.loss("student", batch, 0, batch.size).total.backward()
    grads = _grads(objective.student)
    assert all(g is None for n, g in grads.items() if "_head." in n) and grads["proj_out.weight"].abs().sum() > 0


def test_dmd_gradient_is_the_normalised_score_difference(make_distill, tmp_path):
    """With stand-in teacher and critic of known velocities, G and the gradient of L_dmd match the formulas."""
    cfg = make_distill(tmp_path / "run", loss={"depth_weight": 0.0, "track_weight": 0.0, "rigidity_weight": 0.0})
    objective, batch = _objective_and_batch(cfg)

    class Constant(torch.nn.Module):
        def __init__(self, value, uncond_value=None):
            super().__init__()
            self.value, self.uncond_value = value, uncond_value

        def forward(self, hidden_states, encoder_hidden_states, image_hidden_states=None, **_):
            b = hidden_states.shape[0]
            v = torch.full((b, 16, *hidden_states.shape[2:]), self.value)
            if self.uncond_value is not None and image_hidden_states is None:
                v = torch.full_like(v, self.uncond_value)
            return type("Out", (), {"sample": v})()

    objective.teacher = Constant(0.5, uncond_value=0.25)  # v_real = 0.5 + 3 (0.5 - 0.25) = 1.25
    objective.critic = Constant(-0.5)
    sample = torch.randn(batch.x0.shape, generator=torch.Generator().manual_seed(3)).requires_grad_(True)
    weights = objective._weights(batch)
    grad = objective.dmd_gradient(batch, sample, weights)
    gens = objective._gens(batch, DMD)  # the DMD draws: t, then eps, from each sample's generator
    t = objective._flow_times(gens, sample.shape[2], "cpu")[:, None, :, None, None].float()
    eps = torch.stack([torch.randn(sample.shape[1:], generator=g) for g in gens])
    x_t = (1 - t) * sample.detach() + t * eps
    x0_real, x0_fake = x_t - t * 1.25, x_t + t * 0.5
    w = (1 - batch.clean_mask) * weights
    scale = (w * (sample.detach() - x0_real).abs().mean(1, keepdim=True)).flatten(1).sum(1) / w.flatten(1).sum(1)
    torch.testing.assert_close(grad, (x0_fake - x0_real) / scale[:, None, None, None, None], rtol=1e-5, atol=1e-6)
    from panoworld.train.flow import flow_loss

    loss = (0.5 * flow_loss(sample, sample.detach() - grad, 1 - batch.clean_mask, weights)).sum()
    loss.backward()
    expect = w * grad / (16 * w.flatten(1).sum(1))[:, None, None, None, None]
    torch.testing.assert_close(sample.grad, expect, rtol=1e-5, atol=1e-8)


def test_update_cadence_and_the_exported_sampler(make_distill, tmp_path):
    cfg = make_distill(tmp_path / "run", distill={"critic_updates": 3, "regression_steps": 2, "regression_pairs": 1})
    objective, _ = _objective_and_batch(cfg)
    assert [objective.updates(s) for s in range(6)] == [["student"], ["student"], ["student", "critic"],
                                                        ["critic"], ["critic"], ["student", "critic"]]
    spec = objective.sampler_spec(cfg)
    assert (spec.kind, spec.num_steps, spec.guidance, spec.timesteps) == ("few-step", 3, 0.0, TIMES)
    assert objective.lr_scale("critic") == cfg.distill.critic_lr_scale
    assert {n for n, _ in objective.ema_parameters()} == {n for n, _ in objective.optimizer_groups()["student"]}


def test_one_step_changes_the_student_and_critic_not_the_teacher(make_distill, teacher, tmp_path):
    cfg = make_distill(tmp_path / "run", run={"max_steps": 1}, validation={"every": 1})
    teacher_files = {p.name: p.read_bytes() for p in (teacher / "transformer").iterdir()}
    result = distill(cfg)
    assert {p.name: p.read_bytes() for p in (teacher / "transformer").iterdir()} == teacher_files
    start = load_file(str(teacher / "transformer" / "diffusion_pytorch_model.safetensors"))
    params = load_file(str(result.checkpoint / "training_state" / "params.safetensors"))
    student = {k[len("student."):]: v for k, v in params.items() if k.startswith("student.")}
    critic = {k[len("critic."):]: v for k, v in params.items() if k.startswith("critic.")}
    assert not torch.equal(student["proj_out.weight"], start["proj_out.weight"])
    assert not torch.equal(critic["proj_out.weight"], start["proj_out.weight"])
    assert not any(k.startswith("teacher") for k in params)
    record = json.loads((tmp_path / "run" / "training_run.json").read_text())
    assert record["kind"] == "distill" and record["format"] == "panoworld-training-run"
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"dmd", "critic", "depth", "grad_norm/student", "grad_norm/critic", "loss"} <= set(lines[0])
    val = [x for x in lines if "val/seam/discontinuity" in x]  # the student validated with its few-step sampler
    assert val and "val/depth/abs_rel/raw" in val[0] and (tmp_path / "run" / "validation" / "step_0000001").is_dir()
    exported = Path(export_model_folder(tmp_path / "run", tmp_path / "student")["model"])
    provenance = json.dumps(read_model_index(exported).provenance)
    assert str(tmp_path) not in provenance and read_model_index(exported).sampler.kind == "few-step"
    assert str(tmp_path) in json.dumps(read_model_index(result.checkpoint).provenance)  # the run keeps its own


def test_resume_after_a_kill_matches_an_uninterrupted_run(make_distill, tmp_path):
    common = dict(run={"max_steps": 4, "checkpoint_every": 2})
    distill(make_distill(tmp_path / "straight", **common))

    class Killed(BaseException):
        pass

    def kill(step, metrics):
        if step == 3:
            raise Killed

    with pytest.raises(Killed):
        distill(make_distill(tmp_path / "killed", **common), on_step=kill)
    assert find_latest(tmp_path / "killed").name == "step_0000002"
    distill(make_distill(tmp_path / "killed", **common))
    folders = [tmp_path / name / "checkpoints" / "step_0000004" / "training_state" for name in ("straight", "killed")]
    for name in ("params.safetensors", "ema.safetensors"):
        a, b = (load_file(str(f / name)) for f in folders)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    a, b = (torch.load(f / "optimizer.pt", weights_only=True) for f in folders)
    for network in ("student", "critic"):
        for name, entry in a[network]["state"].items():
            assert all(torch.equal(entry[k], b[network]["state"][name][k]) for k in entry)
    with pytest.raises(InputError, match="other settings \\(distill.critic_updates"):
        distill(make_distill(tmp_path / "killed", run={"max_steps": 6}, distill={"critic_updates": 3}))


def test_regression_warm_up_caches_teacher_solves_once(make_distill, tmp_path):
    cfg = make_distill(tmp_path / "run", run={"max_steps": 2}, distill={"regression_steps": 1, "regression_pairs": 2})
    distill(cfg)
    pairs = sorted((tmp_path / "run" / "teacher_pairs").glob("pair_*.safetensors"))
    assert len(pairs) == 2
    stamps = [p.stat().st_mtime_ns for p in pairs]
    tensors = load_file(str(pairs[0]))
    assert tensors["states"].shape[0] == len(TIMES) and tensors["x0"].shape == tensors["states"].shape[1:]
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert "regression" in lines[0] and "dmd" not in lines[0] and "dmd" in lines[1]
    distill(make_distill(tmp_path / "run", run={"max_steps": 3}, distill={"regression_steps": 1,
                                                                           "regression_pairs": 2}))
    assert [p.stat().st_mtime_ns for p in pairs] == stamps  # reused, not solved again


@pytest.fixture(scope="module")
def student(make_distill, tmp_path_factory):
    return distill(make_distill(tmp_path_factory.mktemp("student"), run={"max_steps": 1})).checkpoint


def test_student_generates_with_the_few_step_sampler(student):
    from panoworld.formats.model_folder import read_model_index
    from panoworld.pipelines import PanoWorldPipeline

    index = read_model_index(student)
    assert index.sampler.kind == "few-step" and index.sampler.timesteps == TIMES
    assert index.provenance["trained_by"] == "panoworld train distill" and index.provenance["teacher"]["guidance"] == 3
    pipe = PanoWorldPipeline.from_pretrained(str(student), device="cpu")
    cfg = pipe.source.generation_config(persp_height=16, persp_width=32, chained=True)
    assert (cfg.sampler, cfg.num_steps, cfg.guidance) == ("few-step", 3, 0.0)
    image = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))
    out = pipe(image, "a room", None, cfg)
    assert out.video.shape == (9, 3, 32, 64) and out.depth is not None and bool((out.depth > 0).all())
    assert out.info["round1_evaluations"] == 3 and out.info["round2_cfg"] == "none"
    assert torch.equal(out.video, pipe(image, "a room", None, cfg).video)


def test_generate_command_with_the_student_and_its_mismatches(student, tmp_path, capsys):
    from panoworld.cli import main
    from panoworld.io import probe_video, write_image

    photo = write_image(tmp_path / "photo.png", torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(1)))
    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "a room", "--model", str(student), "--out", str(out), "--device",
                 "cpu", "--steps", "3", "--persp-resolution", "16x32"]) == 0
    assert probe_video(out / "pano.mp4").num_frames == 9
    assert json.loads((out / "run.json").read_text())["config"]["sampler"] == "few-step"
    capsys.readouterr()
    for extra, message in ((["--steps", "35"], "distilled for 3 steps"), (["--guidance", "7"], "--guidance must be 0"),
                           (["--sampler", "unipc-karras"], "distilled for the few-step sampler")):
        assert main(["generate", str(photo), "-p", "a room", "--model", str(student), "--out", str(tmp_path / "x"),
                     "--device", "cpu", *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "\n" not in err and message in err


def test_two_gloo_processes_distil_what_one_process_distils(make_distill, tmp_path):
    import torch.multiprocessing as mp

    from .test_distributed import _free_port, _params, _worker

    common = dict(run={"max_steps": 2, "checkpoint_every": 2}, data={"batch_size": 4, "micro_batch_size": 1})
    distill(make_distill(tmp_path / "single", **common))
    configs = [make_distill(tmp_path / "ddp", **common),
               make_distill(tmp_path / "fsdp", **common, distributed={"strategy": "fsdp"})]
    mp.start_processes(_worker, args=(2, _free_port(), configs, distill), nprocs=2, join=True, start_method="fork")
    reference = _params(tmp_path / "single")
    assert any(k.startswith("critic.") for k in reference) and any(k.startswith("student.") for k in reference)
    for name in ("ddp", "fsdp"):
        other = _params(tmp_path / name)
        assert other.keys() == reference.keys()
        for key in reference:
            torch.testing.assert_close(other[key], reference[key], atol=2e-6, rtol=1e-5, msg=f"{name}: {key}")
