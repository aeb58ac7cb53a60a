"""``panoworld eval extension``: drift report of a long video, boundary-jump score, depth and track sources."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from panoworld.cli import main
from panoworld.commands.eval_extension import extension
from panoworld.errors import InputError
from panoworld.eval.extension import resolve_layout, run_extension_eval
from panoworld.eval.extension_geometry import GeometrySettings
from panoworld.eval.extension_stats import boundary_jump, track_survival
from panoworld.formats.drift_report import EXTENSION_FILES, read_extension_report
from panoworld.io import write_video


def _cli():
    app = typer.Typer()
    app.command()(extension)
    app.command("unused")(lambda: None)  # two commands: the CLI is `app extension ...` as under `panoworld eval`
    return app


def _texture(seed: int, height: int = 32, width: int = 64) -> torch.Tensor:
    """A smooth random (3, H, W) texture in [0.1, 0.9]."""
    small = torch.rand(3, height // 8, width // 8, generator=torch.Generator().manual_seed(seed))
    up = torch.nn.functional.interpolate(small[None], size=(height, width), mode="bicubic", align_corners=False)[0]
    return up.clamp(0, 1) * 0.8 + 0.1


def _moving(texture: torch.Tensor, frames: int, start: int = 0) -> torch.Tensor:
    return torch.stack([torch.roll(texture, start + t, dims=-1) for t in range(frames)])


def test_boundary_jump_flags_a_broken_junction(tmp_path):
    video = _moving(_texture(0), 48)
    video[32:] = _moving(_texture(1), 16, 32)  # the round starting at frame 32 shows another scene
    path = write_video(tmp_path / "long.mp4", video, 16.0, spherical=True)
    assert main(["eval", "extension", str(path), "--junctions", "16,32", "--no-annotate"]) == 0  # the registered one
    report = read_extension_report(tmp_path / "long_extension")
    smooth, broken = (j["boundary_jump"] for j in report["junctions"])
    assert broken > 3.0 and smooth < 1.5
    assert report["layout"] == {"starts": [0, 16, 32], "overlap": 1, "source": "--junctions"}
    assert report["junctions"][0]["track_survival"] is None and report["tracks"]["reason"]  # NaN -> null
    assert report["metrics"]["depth/mean_m"]["per_round"] == [None, None, None] and report["depth"]["reason"]
    assert len(report["metrics"]["colour/luma_mean"]["per_second"]) == 3


def test_boundary_jump_is_one_for_uniform_change_and_survival_counts_the_living():
    change = np.r_[np.nan, np.full(47, 0.1)]
    assert boundary_jump(change, 16, 1, 16.0) == pytest.approx(1.0)
    change[16] = 0.5
    assert boundary_jump(change, 16, 1, 16.0) == pytest.approx(5.0)
    vis = np.array([[1, 1], [1, 0], [0, 1], [1, 1]])
    assert track_survival(vis, 0, 1) == pytest.approx(2 / 3)


def _generated_folder(tmp_path):
    """A 3-round long video made by the index toy pipeline, written as ``panoworld generate`` writes it."""
    from panoworld.models.components import ImageEncoder, TextEncoder
    from panoworld.pipelines import PanoWorldPipeline
    from panoworld.pipelines.outputs import ClipWriter, write_outputs
    from tests.pipelines.conftest import tiny_config_for_tests
    from tests.pipelines.index_toy import IndexTransformer, IndexVAE

    pipe = PanoWorldPipeline(IndexTransformer(1), IndexVAE(), TextEncoder.tiny(), ImageEncoder.tiny())
    cfg = tiny_config_for_tests(num_frames=9, rounds=3, num_steps=1)
    image = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))
    with ClipWriter(tmp_path, fps=cfg.fps, total_frames=25) as writer:
        result = pipe(image, "a room", None, cfg, sink=writer)
    write_outputs(tmp_path, result, fps=cfg.fps, record={"config": cfg.to_dict(), "run_info": result.info},
                  settings_key="0" * 64, streamed=writer.files)
    return tmp_path


def test_three_round_generation_gets_its_drift_report(tmp_path):
    folder = _generated_folder(tmp_path / "clip")
    report, out = run_extension_eval(folder, geometry=GeometrySettings(annotate=False))
    assert out == folder / "extension"
    assert report["layout"] == {"starts": [0, 8, 16], "overlap": 1, "source": "run.json"}
    assert report["frames"] == 25 and report["depth"]["source"].startswith("depth.npz")
    for name in ("depth/mean_m", "depth/change", "colour/luma_mean", "sharpness/laplacian", "seam/discontinuity",
                 "poles/sharpness_ratio"):
        assert len(report["metrics"][name]["per_round"]) == 3
        assert all(math.isfinite(v) for v in report["metrics"][name]["per_round"]), name
    # the toy's frames brighten at a constant rate: no junction stands out, and the last round is brighter
    assert all(j["boundary_jump"] == pytest.approx(1.0, abs=0.35) for j in report["junctions"])
    assert report["metrics"]["colour/luma_mean"]["degradation_ratio"] > 1.0
    assert report["metrics"]["depth/mean_m"]["degradation_ratio"] > 1.0
    saved = read_extension_report(out)
    assert set(saved["files"]) >= {"report", "per_second", "per_round", "junctions", "plots"}
    assert all((out / EXTENSION_FILES["plots"] / f"{m.replace('/', '_')}.png").is_file()
               for m in ("motion/frame_change", "depth/mean_m"))
    rows = (out / EXTENSION_FILES["per_round"]).read_text().splitlines()
    assert rows[0] == "round,metric,value" and len(rows) == 1 + 3 * len(saved["metrics"])
    json.dumps(saved)  # NaN-free JSON


def test_annotators_give_depth_and_track_survival_when_installed(tmp_path):
    from panoworld.annotate.cotracker import CoTracker3Offline, CoTrackerConfig
    from panoworld.annotate.dap import DAPConfig, DAPModel

    torch.manual_seed(0)
    models = {"dap": DAPModel(DAPConfig.tiny()).eval(), "cotracker": CoTracker3Offline(CoTrackerConfig.tiny()).eval()}
    path = write_video(tmp_path / "long.mp4", _moving(_texture(2), 32), 16.0, spherical=True)
    settings = GeometrySettings(models=models, depth_size=(32, 64), track_size=(32, 64), track_grid=4,
                                depth_fps=4.0)
    report, _ = run_extension_eval(path, tmp_path / "report", {"round_seconds": 1.0}, settings)
    assert report["depth"]["source"].startswith("DAP") and report["tracks"]["source"].startswith("CoTracker3")
    assert all(math.isfinite(v) for v in report["metrics"]["depth/mean_m"]["per_round"])
    (junction,) = report["junctions"]
    assert junction["frame"] == 16 and 0.0 <= junction["track_survival"] <= 1.0


def test_layout_rules_and_errors(tmp_path):
    assert resolve_layout(100, 16.0, None).starts == (0,)
    assert resolve_layout(100, 16.0, None, round_seconds=2.0).starts == (0, 32, 64, 96)
    for bad in (dict(junctions=[5, 3]), dict(junctions=[0]), dict(junctions=[4], round_seconds=1.0)):
        with pytest.raises(InputError):
            resolve_layout(100, 16.0, None, **bad)
    result = CliRunner().invoke(_cli(), ["extension", str(tmp_path), "--no-annotate"])
    assert result.exit_code != 0 and isinstance(result.exception, InputError) and "pano.mp4" in str(result.exception)


def test_drift_bench_generates_scores_and_summarises_a_model_folder(tmp_path):
    """``bench/extend_drift.py`` (the docs' 20 s small-model report) at tiny size: generate, eval extension, table."""
    from tests.bench_scripts import bench_module
    from tests.tiny_models import write_tiny_model_folder

    bench = bench_module("extend_drift")
    model = write_tiny_model_folder(tmp_path / "model")  # 5-frame rounds: 0.75 s = 12 frames = 3 rounds
    assert bench.main(["--model", str(model), "--out", str(tmp_path / "out"), "--seconds", "0.75",
                       "--out-md", str(tmp_path / "docs.md")]) == 0
    report = read_extension_report(tmp_path / "out" / "video" / "extension")
    assert report["frames"] == 12 and report["layout"]["starts"] == [0, 4, 8]
    text = (tmp_path / "out" / "drift_summary.md").read_text()
    assert text == (tmp_path / "docs.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 3 + 1 and rows[-1].startswith("| last / first |")  # header, rule, rounds, ratios
    assert "0.25 s:" in text and "0.50 s:" in text
