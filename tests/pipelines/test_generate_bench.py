"""``bench/generate.py``: the like-for-like ratios it prints, and the script end to end on tiny sizes (CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench_scripts import bench_module

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report():
    return bench_module("_generate_report")


def row(label, steps, total, rounds=1):
    return {"label": label, "steps": steps, "rounds": rounds, "total_s": total, "sampling_s": total - 5,
            "per_eval_s": 1.0, "vae_s": 4.0, "peak_gib": 1.0}


def test_like_for_like_pairs_only_what_was_measured_alike(report):
    meta = {"device": "Test GPU", "date": "2026-12-06", "torch": "2.11", "compile": True, "attention": "auto",
            "command": "python bench/generate.py --device cuda"}
    results = {"meta": meta, "cases": {
        "floors": {"step_bf16_s": 2.0},
        "steps": {"step_eager_bf16_s": 3.0, "step_compiled_bf16_s": 2.4, "step_compiled_fp8_s": 1.8,
                  "step_reused_s": 0.24},
        "vae": {"encode_diffusers_s": 2.0, "encode_runner_s": 1.0, "encode_still_diffusers_s": 2.0,
                "encode_still_runner_s": 0.5, "decode_diffusers_s": 3.0, "decode_runner_s": 1.5},
        "single": {"rows": [row("exact", 35, 90.0)]},
        "fast": {"rows": [row("cache+fp8", 35, 45.0), row("fp8", 8, 30.0), {"label": "cache", "skipped": "budget"}]},
        "chained": {"rows": [row("exact, chained", 35, 180.0, rounds=2)]},
        "offload": {"rows": [row("offload none", 2, 20.0), row("offload group", 2, 25.0)]},
    }}
    ratios = report.like_for_like(results)
    assert ratios["step_compiled_vs_eager"]["ratio"] == pytest.approx(0.8)
    assert ratios["step_fp8_vs_bf16_compiled"]["ratio"] == pytest.approx(0.75)
    assert ratios["step_reused_vs_full"]["ratio"] == pytest.approx(0.1)  # against the compiled bf16 step
    assert ratios["step_vs_floor"]["ratio"] == pytest.approx(1.2)
    assert ratios["vae_round_runner_vs_diffusers"]["ratio"] == pytest.approx(3.0 / 7.0)
    assert ratios["round: cache+fp8"]["ratio"] == pytest.approx(0.5)
    assert ratios["round: offload group"]["ratio"] == pytest.approx(1.25)
    # no same-run partner at the same steps and rounds: no ratio
    assert not {"round: fp8", "round: cache", "round: exact, chained", "step_fp8_vs_bf16_eager",
                "transformer_ours_vs_stock"} & set(ratios)
    text = report.render(results)
    assert "Like-for-like ratios of this run" in text and "= **0.500×**" in text
    assert "cut before its end" in text and "Wall time" not in text  # no wall_s: the run did not finish
    assert "Wall time of the run: 300 s" in report.render({**results, "wall_s": 300.0})


@pytest.mark.slow
def test_generate_bench_runs_on_tiny_sizes(tmp_path):
    """The GPU command's case list on the CPU at tiny sizes: every case runs, rows and ratios are printed."""
    out_json, out_md = tmp_path / "g.json", tmp_path / "g.md"
    done = subprocess.run(
        [sys.executable, "bench/generate.py", "--device", "cpu", "--small", "--steps", "1", "--repeats", "1",
         "--reserve-s", "0", "--cases", "steps,fp8_error,single,fast", "--fast-modes", "cache+fp8",
         "--out-json", str(out_json), "--out-md", str(out_md)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out_json.read_text())
    assert results["errors"] == {}
    exact, fast = results["cases"]["single"]["rows"][0], results["cases"]["fast"]["rows"][0]
    assert exact["label"] == "exact" and exact["steps"] == 1 and exact["total_s"] > 0
    assert fast["fp8"] is True and fast["steps"] == 1
    assert '"single": {"rows": [{"label": "exact"' in done.stdout  # each row printed when measured
    assert "like for like, cache+fp8" in done.stdout
    assert f"round: {fast['label']}" in results["like_for_like"]
    assert "| exact | 1 × 1 |" in out_md.read_text()
