"""CUDA: scoring with annotation of a method's video (tiny random annotators) gives the CPU's numbers."""

from __future__ import annotations

import importlib.util
import math
import shutil

import pytest
import torch

from panoworld.eval.align import AlignConfig
from panoworld.eval.estimate import EstimateSettings, Estimator
from panoworld.eval.runners import RunRequest, get_method, run_method
from panoworld.eval.score import ScoreConfig, Scorer
from panoworld.formats.results import result_dir
from panoworld.formats.testset import read_master


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.skipif(importlib.util.find_spec("av") is None, reason="the split's videos need PyAV")
def test_scoring_with_annotation_on_cuda_matches_cpu(tmp_path, tiny_split):
    clip = read_master(tiny_split)[1]
    spec = get_method("fov-only")
    run_method(spec, RunRequest(clip=clip, out_dir=result_dir(tmp_path, "fov-only", clip), work_dir=tmp_path / "w",
                                spec=spec))
    values = {}
    for device in ("cpu", "cuda"):
        cfg = ScoreConfig(align=AlignConfig(n_frames=9, fps=16.0), device=device)
        estimator = Estimator(EstimateSettings(tiny_random=True), device)
        rows = Scorer(tmp_path, None, cfg, estimator).score_clip("fov-only", clip)
        values[device] = {r["metric"]: float(r["value"]) for r in rows}
        for folder in tmp_path.glob("fov-only/*/estimated"):
            shutil.rmtree(folder)  # annotate again on the other device
    assert values["cpu"].keys() == values["cuda"].keys()
    for name in ("psnr/erp_sw", "ssim/erp", "seam/end_continuity", "temporal/flicker", "temporal/motion"):
        assert values["cuda"][name] == pytest.approx(values["cpu"][name], rel=1e-3, abs=1e-5), name
    for name in ("depth/abs_rel/raw@scale_shift", "tracks/aj", "camera/rpe_rot"):  # bf16 networks on CUDA
        assert math.isfinite(values["cuda"][name]), name
