"""The few-step sampler of a distilled student, with a toy velocity field whose exact solution is known, and the
pipeline's few-step path (its checks and what runs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from panoworld.errors import InputError
from panoworld.pipelines.few_step import few_step_schedule, renoise_seed, sample_few_step
from panoworld.pipelines.guidance import DenoiserInputs, GuidedDenoiser
from panoworld.pipelines.schedule import CONDITIONAL_FRAME_TIMESTEP

from .conftest import tiny_config_for_tests, tiny_transformer

TIMES = [0.75, 0.5, 0.25]  # on the 1/1000 grid: the network time equals the flow time


class PointMass(torch.nn.Module):
    """Toy network: the exact velocity ``(x - x*) / t`` of data that is one point ``x*`` (read from the reference
    channels, so it rolls with the conditioning); records every call."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, hidden_states, timestep, encoder_hidden_states, image_hidden_states=None, condition_mask=None,
                return_dict=True, **_):
        self.calls.append({"x": hidden_states[:, :16].clone(), "t": timestep.clone(), "text": encoder_hidden_states})
        target = hidden_states[:, 16:]
        v = (hidden_states[:, :16] - target) / timestep[:, None, :, None, None]
        return (v,)


def _case(round2: bool, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    shape = (1, 16, 3, 4, 8)
    target, noise, clean = (torch.randn(shape, generator=g) for _ in range(3))
    mask = torch.zeros(1, 1, 3, 4, 8)
    if round2:
        frames = torch.tensor([True, False, False])
        mask[:, :, 0] = 1
        inputs = DenoiserInputs(text=torch.zeros(1, 2, 4), negative_text=torch.ones(1, 2, 4), reference=target,
                                mask_channel=mask, frame_latent=clean, frames=frames, noise=noise)
    else:
        mask[..., 1:3, 2:5] = 1
        inputs = DenoiserInputs(text=torch.zeros(1, 2, 4), negative_text=torch.ones(1, 2, 4), reference=target,
                                mask_channel=mask, paste_latent=clean, paste_mask=mask, noise=noise)
    return inputs, target, noise, clean, mask


def _fresh(i: int) -> torch.Tensor:
    return torch.randn(1, 16, 3, 4, 8, generator=torch.Generator().manual_seed(100 + i))


def test_schedule_of_the_student():
    s = few_step_schedule([0.999, 0.937, 0.833, 0.624])
    assert s.num_evals == 4 and s.sigmas.tolist() == [0.999, 0.937, 0.833, 0.624, 0.0]
    assert s.timesteps.tolist() == [999, 937, 833, 624]
    for bad in ([], [0.5, 0.7], [1.2, 0.5], [0.5, 0.0]):
        with pytest.raises(ValueError):
            few_step_schedule(bad)


@pytest.mark.parametrize("round2", [False, True])
def test_point_mass_field_lands_exactly_with_the_paste_rules(round2):
    inputs, target, noise, clean, mask = _case(round2)
    net = PointMass()
    schedule = few_step_schedule(TIMES)
    denoiser = GuidedDenoiser(net, inputs, schedule, guidance=0.0)
    out = sample_few_step(denoiser, noise, schedule, _fresh)
    keep = mask.expand_as(out).bool()
    torch.testing.assert_close(out[~keep], target[~keep], atol=1e-5, rtol=0)  # the exact solution
    torch.testing.assert_close(out[keep], clean[keep], atol=0, rtol=0)  # FOV paste / frame replace
    assert len(net.calls) == len(TIMES) and all(c["x"].shape[0] == 1 for c in net.calls)  # one evaluation, no CFG
    assert all(torch.equal(c["text"], inputs.text) for c in net.calls)
    for i, call in enumerate(net.calls):
        expect = np.full(3, np.floor(TIMES[i] * 1000) * 0.001)
        if round2:
            expect[0] = CONDITIONAL_FRAME_TIMESTEP * 0.001
        np.testing.assert_allclose(call["t"][0].numpy(), expect, rtol=1e-6)
        # the state handed to step i: the clean prediction re-noised with fresh noise (x_0 = the initial noise)
        state = noise if i == 0 else (1 - TIMES[i]) * target + TIMES[i] * _fresh(i)
        state = mask * clean + (1 - mask) * state  # FOV paste / frame replace of the network input
        torch.testing.assert_close(call["x"], state, atol=1e-5, rtol=0)


def test_rotated_denoising_gives_the_same_result_for_an_equivariant_field():
    inputs, target, noise, *_ = _case(False, seed=2)
    schedule = few_step_schedule(TIMES)
    plain = sample_few_step(GuidedDenoiser(PointMass(), inputs, schedule, guidance=0.0), noise, schedule, _fresh)
    rotated = sample_few_step(GuidedDenoiser(PointMass(), inputs, schedule, guidance=0.0), noise, schedule, _fresh,
                              rotate_seed=5)
    torch.testing.assert_close(rotated, plain, atol=1e-5, rtol=0)


def test_fresh_noise_seeds_differ_per_step():
    assert len({renoise_seed(7, i) for i in range(1, 5)}) == 4 and renoise_seed(2**32 - 1, 3) < 2**32


@pytest.fixture(scope="module")
def student_pipeline():
    components = pytest.importorskip("panoworld.models.components")
    from panoworld.pipelines import PanoWorldPipeline

    pipe = PanoWorldPipeline(tiny_transformer(), components.VideoVAE.tiny(), components.TextEncoder.tiny(),
                             components.ImageEncoder.tiny())
    pipe.sampler_kind, pipe.sampler_timesteps = "few-step", [0.9, 0.5]
    return pipe


def test_pipeline_runs_the_student_schedule_without_cfg(student_pipeline):
    image = torch.rand(3, 24, 32, generator=torch.Generator().manual_seed(0))
    cfg = tiny_config_for_tests(sampler="few-step", num_steps=2, guidance=0.0, chained=True, rotated_denoise=True)
    calls = []
    out = student_pipeline(image, "a desk", config=cfg, progress=lambda stage, i, n: calls.append((stage, i, n)))
    assert out.info["round1_evaluations"] == 2 and out.info["round1_cfg"] == "none"
    assert calls == [("round1", 1, 2), ("round1", 2, 2), ("round2", 1, 2), ("round2", 2, 2)]
    again = student_pipeline(image, "a desk", config=cfg)
    assert torch.equal(out.video, again.video)
    other = student_pipeline(image, "a desk", config=cfg.replace(seed=1))
    assert not torch.equal(out.latent, other.latent)


def test_pipeline_refuses_what_the_student_was_not_made_for(student_pipeline):
    image = torch.rand(3, 24, 32)
    base = tiny_config_for_tests(sampler="few-step", num_steps=2, guidance=0.0)
    for change, message in (({"num_steps": 4}, "distilled for 2 steps"), ({"guidance": 1.0}, "--guidance must be 0"),
                            ({"sampler": "unipc-karras"}, "distilled for the few-step sampler"),
                            ({"motion": "base-i2v"}, "use --motion static")):
        with pytest.raises(InputError, match=message):
            student_pipeline(image, "a desk", config=base.replace(**change))
