"""``bench/small_ablation.py``'s summary: ratios and paired differences over the clips the model generated,
Student-t intervals, and the reason of metrics no variant could be scored on."""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from tests.bench_scripts import bench_module

COLUMNS = ("method", "clip_id", "split", "scene_type", "motion_kind", "bucket", "metric", "value", "n_clips",
           "run_id", "note")


def _bench():
    return bench_module("small_ablation")


def _write(path: Path, rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for method, clip, metric, value, note in rows:
            writer.writerow({"method": method, "clip_id": clip, "metric": metric, "value": value, "note": note})


def test_summary_pairs_clips_and_names_the_missing_metrics(tmp_path):
    bench = _bench()
    shipped = []
    for i, (pred, gt) in enumerate([(1.2, 1.0), (0.9, 1.0)]):
        clip = f"s::clip{i}"
        shipped += [("panoworld", clip, "seam/discontinuity", pred, ""), ("oracle", clip, "seam/discontinuity", gt, ""),
                    ("panoworld", clip, "psnr/erp", 12.0 + i, ""), ("fov-only", clip, "psnr/erp", 10.0, "")]
    # a clip the model never generated: its baselines must not enter the table
    shipped += [("oracle", "s::clip9", "seam/discontinuity", 5.0, ""), ("fov-only", "s::clip9", "psnr/erp", 99.0, "")]
    _write(tmp_path / "shipped" / "results_long.csv", shipped)
    _write(tmp_path / "ablation" / "results_long.csv",
           [("main", "s::clip0", "depth/abs_rel/raw@median", 0.3, ""), ("main", "s::clip1", "depth/abs_rel/raw@median",
            0.5, ""), ("main", "s::clip0", "tracks/delta_avg", "nan", "no prediction annotations")])
    args = argparse.Namespace(out=tmp_path, seed=4_000_000, ablation_clips=2, ablation_frames=9, ablation_steps=15,
                              variants=["main"])
    text = bench.summary(args)
    assert "2 clips generated" in text
    assert "generated ÷ ground truth's (goal 0.8–1.25): 1.050 ± 1.906 (2)" in text  # t(0.975, 1) = 12.706
    assert "| psnr/erp | 12.500 ± 6.353 (2) | 10.000 ± 0.000 (2) |" in text
    assert text.count("+2.500 ± 6.353 (2)") == 1
    assert "| main | n/a | n/a | n/a | n/a | 0.400 ± 1.271 (2) |" in text
    assert "NaN for every variant: tracks/delta_avg (no prediction annotations)" in text
    mean, ci, n = bench.mean_ci([1.0])
    assert (mean, n) == (1.0, 1) and math.isnan(ci)


def test_summary_without_variants_scores_the_shipped_model_only(tmp_path):
    _write(tmp_path / "shipped" / "results_long.csv",
           [("panoworld", "s::clip0", "seam/discontinuity", 1.5, ""), ("oracle", "s::clip0", "seam/discontinuity", 1.0, "")])
    args = argparse.Namespace(out=tmp_path, seed=4_000_000, ablation_clips=1, ablation_frames=9, ablation_steps=15,
                              variants=[])
    text = _bench().summary(args)
    assert "1.500 (1)" in text and "Ablation" not in text


def test_ratio_of_means_is_the_split_level_ratio_with_a_paired_bootstrap_interval(tmp_path):
    bench = _bench()
    _write(tmp_path / "shipped" / "results_long.csv",
           [row for i, (pred, gt) in enumerate([(1.2, 1.0), (0.9, 0.3), (1.5, 1.1)])
            for row in (("panoworld", f"s::clip{i}", "seam/discontinuity", pred, ""),
                        ("oracle", f"s::clip{i}", "seam/discontinuity", gt, ""))])
    args = argparse.Namespace(out=tmp_path, seed=4_000_000, ablation_clips=3, ablation_frames=9, ablation_steps=15,
                              variants=[])
    text = _bench().summary(args)
    ratio, lo, hi, n = bench.ratio_of_means([1.2, 0.9, 1.5], [1.0, 0.3, 1.1])
    assert n == 3 and math.isclose(ratio, 3.6 / 2.4) and lo <= ratio <= hi
    # the mean of per-clip ratios (1.2, 3.0, 1.36) is pulled up by the one small denominator
    assert "(goal 0.8–1.25): 1.855" in text
    assert f"ratio of the split's means (paired bootstrap 95 % interval): {ratio:.3f}" in text
    assert "seamless generator" not in text  # no ground-truth videos to roll


def test_a_rolled_seamless_video_scores_like_an_ordinary_column_and_a_seam_does_not():
    import torch

    bench = _bench()
    gen = torch.Generator().manual_seed(0)
    smooth = torch.rand(3, 3, 16, 64, generator=gen).cumsum(-1) / 64  # a ramp: its wrap-around is a hard step
    scores = bench.rolled_discontinuity(smooth)
    assert len(scores) == 7
    from panoworld.eval.metrics.panorama import discontinuity_score

    assert discontinuity_score(smooth) > 5 * max(scores)
    noise = torch.rand(3, 3, 16, 64, generator=gen)
    assert all(0.5 < s < 2.0 for s in bench.rolled_discontinuity(noise))


def test_seam_null_reads_the_oracle_videos_of_the_results_folder(tmp_path):
    import torch

    from panoworld.io import write_video

    bench = _bench()
    frames = torch.rand(2, 3, 16, 64, generator=torch.Generator().manual_seed(1))
    write_video(tmp_path / "oracle" / "s__clip0" / "video.mp4", frames, 16.0)
    null = bench.seam_null(tmp_path, ["s::clip0"])
    assert list(null) == ["s::clip0"] and len(null["s::clip0"]) == 7
    assert bench.seam_null(tmp_path, ["s::clip0", "s::clip1"]) == {}  # one video missing: no null at all
