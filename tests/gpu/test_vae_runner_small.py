"""``WanVAERunner`` on the small model's VAE architecture at its real size (33 × 128 × 256, CUDA, bf16,
channels-last, the fused kernel when Triton is there): the exact path stays within bf16 rounding of diffusers'
loop — relative L2 below 2e-2, the bound the CPU bf16 test uses — for a moving and a still video and a decode, with
the seam switch off and on (the shipped small VAE has it on)."""

from __future__ import annotations

import pytest
import torch

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

BF16_REL_L2 = 2e-2


def rel(a, b) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


@torch.no_grad()
@pytest.mark.parametrize("circular", [False, True])
def test_small_vae_runner_within_bf16_rounding(circular):
    from diffusers import AutoencoderKLWan

    from panoworld.models.components import VideoVAE
    from panoworld.models.components.small import small_vae_config

    torch.manual_seed(0)
    vae = VideoVAE(AutoencoderKLWan(**small_vae_config()).eval(), circular_longitude=circular)
    vae = vae.to("cuda", torch.bfloat16)
    assert vae._runner() is not None
    gen = torch.Generator(device="cuda").manual_seed(0)
    moving = torch.rand(1, 3, 33, 128, 256, device="cuda", generator=gen) * 2 - 1
    still = moving[:, :, :1].expand(-1, -1, 33, -1, -1)
    latent = torch.randn(1, 16, 9, 16, 32, device="cuda", generator=gen)
    results = {}
    for fast in (True, False):
        vae.fast = fast
        results[fast] = (vae.encode(moving), vae.encode(still if fast else still.contiguous()), vae.decode(latent))
    for fast_out, exact_out in zip(results[True], results[False]):
        assert torch.isfinite(fast_out).all()
        assert rel(fast_out, exact_out) < BF16_REL_L2
