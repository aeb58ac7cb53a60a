"""The guided denoiser with the real tiny transformer: CFG batching, paste, frame replace."""

from __future__ import annotations

import torch

from panoworld.pipelines import DenoiserInputs, GuidedDenoiser, karras_flow_schedule, sample

from .conftest import tiny_transformer

SHAPE = (1, 16, 2, 4, 8)


def _inputs(*, paste: bool, frames: bool) -> DenoiserInputs:
    gen = torch.Generator().manual_seed(0)
    randn = lambda *s: torch.randn(*s, generator=gen)  # noqa: E731
    mask = torch.zeros(1, 1, *SHAPE[2:])
    mask[..., 1:3, 2:5] = 1.0
    frame_sel = torch.tensor([True, False])
    return DenoiserInputs(
        text=randn(1, 7, 64), negative_text=randn(1, 7, 64), image=randn(1, 5, 16), reference=randn(*SHAPE),
        mask_channel=mask if paste else frame_sel.float().view(1, 1, 2, 1, 1).expand(1, 1, *SHAPE[2:]),
        paste_latent=randn(*SHAPE) if paste else None, paste_mask=mask if paste else None,
        frame_latent=randn(*SHAPE) if frames else None, frames=frame_sel if frames else None, noise=randn(*SHAPE),
    )


def test_batched_and_sequential_cfg_agree_with_image_context_in_the_conditional_branch_only():
    net = tiny_transformer()
    assert net.supports_partial_image_batch  # a capability of the model, like supports_shared_latent_batch
    inputs, sched = _inputs(paste=True, frames=False), karras_flow_schedule(3)
    noise = inputs.noise.clone()
    seq = sample(GuidedDenoiser(net, inputs, sched, guidance=7.0, cfg_batch="sequential"), noise, sched)
    bat = sample(GuidedDenoiser(net, inputs, sched, guidance=7.0, cfg_batch="batched"), noise, sched)
    torch.testing.assert_close(bat, seq, atol=1e-5, rtol=1e-5)
    # and the unconditional branch really has no image term: with image tokens in both, results differ
    v_u_none = net(torch.cat([noise, inputs.reference], 1), torch.full((1, 2), 0.5), inputs.negative_text,
                   None, return_dict=False)[0]
    v_u_img = net(torch.cat([noise, inputs.reference], 1), torch.full((1, 2), 0.5), inputs.negative_text,
                  inputs.image, return_dict=False)[0]
    assert (v_u_none - v_u_img).abs().max() > 1e-4
    two = torch.cat([torch.cat([noise, inputs.reference], 1)] * 2)
    both = net(two, torch.full((2, 2), 0.5), torch.cat([inputs.text, inputs.negative_text]), inputs.image,
               return_dict=False)[0]
    torch.testing.assert_close(both[1:], v_u_none, atol=1e-5, rtol=1e-5)


def test_result_keeps_the_clean_guide_and_conditional_frames():
    net = tiny_transformer()
    sched = karras_flow_schedule(3)
    fov = _inputs(paste=True, frames=False)
    out = sample(GuidedDenoiser(net, fov, sched, guidance=3.0), fov.noise.clone(), sched)
    m = fov.paste_mask.expand(SHAPE) > 0
    assert torch.equal(out[m], fov.paste_latent[m])
    assert not torch.equal(out[~m], fov.paste_latent[~m])
    first = _inputs(paste=False, frames=True)
    out = sample(GuidedDenoiser(net, first, sched, guidance=3.0), first.noise.clone(), sched)
    assert torch.equal(out[:, :, 0], first.frame_latent[:, :, 0])


def test_conditional_frames_see_the_clean_latent_and_timestep_1e_4():
    seen = {}

    class Spy(torch.nn.Module):
        def forward(self, hidden_states, timestep, encoder_hidden_states, image_hidden_states=None,
                    condition_mask=None, return_dict=True):
            seen["hidden"], seen["t"] = hidden_states, timestep
            return (torch.zeros(hidden_states.shape[0], 16, *hidden_states.shape[2:]),)

    inputs, sched = _inputs(paste=False, frames=True), karras_flow_schedule(35)
    x = torch.randn(SHAPE)
    x_solver, v = GuidedDenoiser(Spy(), inputs, sched, guidance=0.0)(x, 0)
    assert torch.equal(seen["hidden"][:, :16, 0], inputs.frame_latent[:, :, 0])
    assert torch.equal(seen["hidden"][:, :16, 1], x[:, :, 1])
    assert torch.equal(seen["hidden"][:, 16:], inputs.reference)
    torch.testing.assert_close(seen["t"], torch.tensor([[1e-4, 0.995]]))
    torch.testing.assert_close(v[:, :, 0], (inputs.noise - inputs.frame_latent)[:, :, 0])
    assert torch.equal(x_solver, x)  # the solver integrates the un-replaced sample, as the reference
    GuidedDenoiser(Spy(), inputs, sched, guidance=0.0, bf16_timesteps=True)(x, 0)
    torch.testing.assert_close(seen["t"], torch.tensor([[0.10009765625e-3, 0.996]]))  # the reference's bf16 cast


class _Spy:
    """Forwards to a transformer and records the latent batch of every call."""

    def __init__(self, net, shared: bool):
        self.net, self.batches = net, []
        self.supports_partial_image_batch = True
        self.supports_shared_latent_batch = shared

    def __call__(self, **kwargs):
        self.batches.append(kwargs["hidden_states"].shape[0])
        return self.net(**kwargs)


def test_batched_cfg_sends_one_latent_when_the_model_shares_it_and_both_ways_agree():
    net = tiny_transformer()
    inputs, sched = _inputs(paste=True, frames=True), karras_flow_schedule(2)
    results = {}
    for shared in (True, False):
        spy = _Spy(net, shared)
        results[shared] = sample(GuidedDenoiser(spy, inputs, sched, guidance=7.0, cfg_batch="batched"),
                                 inputs.noise.clone(), sched)
        assert set(spy.batches) == {1 if shared else 2} and len(spy.batches) == sched.num_evals
    torch.testing.assert_close(results[True], results[False], atol=1e-5, rtol=1e-5)
