"""Offload modes on a CUDA device: same result as no offload (skipped without CUDA)."""

from __future__ import annotations

import pytest
import torch

from .conftest import tiny_config_for_tests, tiny_transformer

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", ["model", "group"])
def test_offload_modes_match_no_offload(mode):
    components = pytest.importorskip("panoworld.models.components")
    from panoworld.pipelines import PanoWorldPipeline

    def run(offload):
        pipe = PanoWorldPipeline(tiny_transformer(), components.VideoVAE.tiny(), components.TextEncoder.tiny(),
                                 components.ImageEncoder.tiny(), device="cuda", offload=offload)
        out = pipe(torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0)), "a", "b",
                   tiny_config_for_tests())
        return out.video, next(pipe.transformer.parameters()).device

    reference, _ = run("none")
    video, weights_at = run(mode)
    assert weights_at.type == "cpu"  # the weights rest off the device between phases
    torch.testing.assert_close(video, reference, atol=1e-4, rtol=1e-4)
