"""CUDA smoke test: the bf16 autocast paths of both networks and the whole pipeline (tiny random networks)."""

from __future__ import annotations

import pytest
import torch

from panoworld.annotate.models import load_annotation_models
from panoworld.annotate.pipeline import annotate_frames
from tests.conftest import textured_erp


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_pipeline_on_cuda_matches_shapes():
    dap, tracker = load_annotation_models(torch.device("cuda"), tiny_random=True)
    base = textured_erp(32, 64, dtype=torch.float32)
    frames = torch.stack([torch.roll(base, 2 * i, dims=-1) for i in range(5)])
    ann = annotate_frames(frames, dap, tracker)
    assert ann.depth_m.shape == (5, 32, 64) and ann.depth_m.dtype == torch.float32
    assert ann.tracks.shape[1:] == (5, 2) and torch.isfinite(ann.tracks).all()
