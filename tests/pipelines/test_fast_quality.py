"""``bench/fast_quality.py`` end to end on a tiny random model folder (CPU): every variant against the exact run."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from tests.tiny_models import write_tiny_model_folder

ROOT = Path(__file__).resolve().parents[2]


def test_fast_quality_script(tmp_path):
    model = write_tiny_model_folder(tmp_path / "model")
    bench = {"meta": {"device": "Test GPU"}, "cases": {
        "steps": {"step_compiled_bf16_s": 2.0, "step_compiled_fp8_s": 1.8, "step_reused_s": 0.1},
        "single": {"rows": [{"label": "exact", "steps": 35, "total_s": 80.0, "sampling_s": 72.0}]}}}
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    out, md = tmp_path / "q.json", tmp_path / "q.md"
    done = subprocess.run(
        [sys.executable, "bench/fast_quality.py", "--model", str(model), "--device", "cpu", "--inputs", "2",
         "--steps", "7", "--fast", "cache,cache+fp8", "--thresholds", "0.5", "--render-size", "64x128",
         "--bench-json", str(tmp_path / "bench.json"), "--out-json", str(out), "--out-md", str(md)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert set(rows) == {"cache @ 0.5", "cache+fp8 @ 0.5"}
    for label, per_input in rows.items():
        assert [r["input"] for r in per_input] == ["indoor-3000000", "outdoor-3000001"]
        assert all(math.isfinite(r["psnr_db"]) and 0 < r["ssim"] <= 1 for r in per_input)
        assert all(r["cache_reused"] > 0 for r in per_input)
    table = md.read_text()
    assert "| cache+fp8 @ 0.5 |" in table and "Test GPU" in table
    reused = sum(r["cache_reused"] for r in rows["cache @ 0.5"]) / 2 * 35 / 7
    assert f"{8.0 + (36 - reused) * 2.0 + reused * 0.1:.1f} s" in table  # the full-size estimate
    again = tmp_path / "again.md"
    done = subprocess.run([sys.executable, "bench/fast_quality.py", "--from-json", str(out), "--bench-json",
                           str(tmp_path / "bench.json"), "--out-md", str(again)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and again.read_text() == table  # re-rendered from the saved rows


def test_fast_quality_budget_stops_between_inputs(tmp_path):
    model = write_tiny_model_folder(tmp_path / "model")
    out, md = tmp_path / "q.json", tmp_path / "q.md"
    done = subprocess.run(
        [sys.executable, "bench/fast_quality.py", "--model", str(model), "--device", "cpu", "--inputs", "3",
         "--steps", "1", "--fast", "fp8", "--render-size", "64x128", "--budget-s", "0", "--out-json", str(out),
         "--out-md", str(md)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    saved = json.loads(out.read_text())
    assert saved["meta"]["inputs"] == 1 and len(saved["rows"]["fp8"]) == 1  # the first input always runs
    assert "1 (of 3 asked; budget) held-out synthetic worlds" in md.read_text()
