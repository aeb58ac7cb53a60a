"""Small pieces around the sampler: attention-kernel choice, SigLIP orientation, circular decode."""

from __future__ import annotations

import pytest
import torch

from panoworld.pipelines import decode_video
from panoworld.pipelines.attention import attention_backend, resolve_attention_backend
from panoworld.pipelines.decode import to_host
from panoworld.sphere import wrap_pad

from .conftest import tiny_transformer


def test_attention_preference_falls_back_and_keeps_the_result():
    net = tiny_transformer()
    x = torch.randn(1, 32, 2, 4, 8)
    args = (x, torch.full((1, 2), 0.5), torch.randn(1, 7, 64))
    with torch.no_grad():
        ref = net(*args, return_dict=False)[0]
        for name in ("cudnn", "flash", "efficient"):
            with attention_backend(name):  # no such kernel on CPU: falls back to the math kernel
                torch.testing.assert_close(net(*args, return_dict=False)[0], ref, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError):
        attention_backend("fast")


def test_auto_prefers_cudnn_on_hopper_only(monkeypatch):
    assert resolve_attention_backend("auto", "cpu") == "auto"
    assert resolve_attention_backend("flash", "cuda") == "flash"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for capability, expected in (((8, 0), "auto"), ((9, 0), "cudnn"), ((10, 0), "cudnn")):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, c=capability: c)
        assert resolve_attention_backend("auto", "cuda:0") == expected


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_auto_puts_cudnn_first_on_this_gpu_and_restores_the_order():
    from torch.nn.attention import SDPBackend

    before = torch._C._get_sdp_priority_order()
    with attention_backend("auto", "cuda"):
        inside = torch._C._get_sdp_priority_order()
    assert torch._C._get_sdp_priority_order() == before
    if torch.cuda.get_device_capability() >= (9, 0):
        assert inside[0] == int(SDPBackend.CUDNN_ATTENTION)
    else:
        assert inside == before


def test_wrap_pad_wraps_columns():
    latent = torch.arange(8.0).view(1, 1, 1, 1, 8)
    padded = wrap_pad(latent, 2)
    assert padded.flatten().tolist() == [6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1]


def test_decode_with_padding_crops_back_to_the_erp_size():
    components = pytest.importorskip("panoworld.models.components")
    vae = components.VideoVAE.tiny()
    latent = torch.randn(1, 16, 2, 4, 8)
    plain, padded = decode_video(vae, latent, pad_columns=0), decode_video(vae, latent, pad_columns=2)
    assert plain.shape == padded.shape == (5, 3, 32, 64)
    assert 0 <= float(padded.min()) and float(padded.max()) <= 1
    assert not torch.equal(plain, padded)  # the decoder saw wrapped context at the seam


def test_siglip_sees_the_checkpoints_orientation(tiny_pipeline):
    seen = []

    class Spy:
        device, dtype, embed_dim = torch.device("cpu"), torch.float32, 4

        def to(self, *a, **k):
            return self

        def encode(self, images):
            seen.append(images.clone())
            return torch.zeros(images.shape[0], 3, 4)

    image = torch.rand(1, 3, 8, 10)
    original, tiny_pipeline.image_encoder = tiny_pipeline.image_encoder, Spy()
    try:
        assert tiny_pipeline.encode_image(image, "reference").shape == (1, 3, 4)
        tiny_pipeline.encode_image(image, "upright")
    finally:
        tiny_pipeline.image_encoder = original
    assert torch.equal(seen[0], image.flip(-2)) and torch.equal(seen[1], image)


def test_to_host_returns_the_same_values_on_the_cpu():
    video = torch.rand(3, 3, 4, 8)
    assert torch.equal(to_host(video), video)
    if torch.cuda.is_available():
        host = to_host(video.cuda())
        assert host.device.type == "cpu" and host.is_pinned() and torch.equal(host, video)
