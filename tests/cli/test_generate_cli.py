"""``panoworld generate`` end to end with tiny random models, batch resume, and one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from panoworld.cli import main
from panoworld.io import probe_video, read_spherical_metadata, write_image

pytest.importorskip("panoworld.models.components")

TINY = ["--tiny-random", "--device", "cpu", "--resolution", "32x64", "--frames", "5", "--steps", "1",
        "--persp-resolution", "16x32", "--latent-padding", "1"]


@pytest.fixture
def photo(tmp_path):
    return write_image(tmp_path / "photo.png", torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(0)))


def test_generate_writes_erp_preview_and_run_record(tmp_path, photo):
    out = tmp_path / "out"
    prompts = tmp_path / "p.json"
    prompts.write_text(json.dumps({"prompt": "a desk", "pano_prompt": "an office"}))
    assert main(["generate", str(photo), "--prompt-file", str(prompts), "--out", str(out), "--yaw", "45",
                 "--chained", *TINY]) == 0
    info = probe_video(out / "pano.mp4")
    assert (info.height, info.width, info.num_frames, float(info.fps)) == (32, 64, 5, 16.0)
    assert read_spherical_metadata(out / "pano.mp4") is not None
    assert probe_video(out / "preview.mp4").width == 64 + 64  # 16x32 input scaled to height 32, then the ERP
    assert probe_video(out / "round1.mp4").num_frames == 5
    record = json.loads((out / "run.json").read_text())
    assert record["arguments"]["pano_prompt"] == "an office" and record["config"]["yaw"] == 45.0
    assert {"round1_sampling", "round2_sampling", "load_models"} <= set(record["timings_s"])
    assert record["libraries"]["torch"] == torch.__version__
    assert record["run_info"]["round2_evaluations"] == 2


def _table(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_batch_skips_finished_rows_and_resumes(tmp_path, photo):
    rows = [{"image": "photo.png", "prompt": "a", "id": "one", "yaw": 30},
            {"image": "photo.png", "prompt": "b", "id": "two", "seed": 5}]
    root = tmp_path / "runs"
    assert main(["generate", "--batch", str(_table(tmp_path / "first.jsonl", rows[:1])), "--out", str(root),
                 *TINY]) == 0  # row one finished before a crash
    stamp_one = (root / "one" / "pano.mp4").stat().st_mtime_ns
    table = _table(tmp_path / "jobs.jsonl", rows)
    assert main(["generate", "--batch", str(table), "--out", str(root), *TINY]) == 0
    assert (root / "one" / "pano.mp4").stat().st_mtime_ns == stamp_one
    record = json.loads((root / "two" / "run.json").read_text())
    assert record["config"]["seed"] == 5 and len(record["settings_key"]) == 64
    stamp = (root / "two" / "pano.mp4").stat().st_mtime_ns
    assert main(["generate", "--batch", str(table), "--out", str(root), *TINY]) == 0
    assert (root / "two" / "pano.mp4").stat().st_mtime_ns == stamp
    summary = json.loads((root / "batch_summary.json").read_text())
    assert [c["status"] for c in summary["items"]] == ["already done", "already done"]


def test_batch_settings_change_needs_force(tmp_path, photo, capsys):
    root = tmp_path / "runs"
    table = _table(tmp_path / "jobs.jsonl", [{"image": "photo.png", "prompt": "a", "id": "one"}])
    assert main(["generate", "--batch", str(table), "--out", str(root), *TINY]) == 0
    key = json.loads((root / "one" / "run.json").read_text())["settings_key"]
    stamp = (root / "one" / "pano.mp4").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["generate", "--batch", str(table), "--out", str(root), *TINY, "--seed", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "other settings" in err and "--force" in err
    assert (root / "one" / "pano.mp4").stat().st_mtime_ns == stamp
    assert main(["generate", "--batch", str(table), "--out", str(root), *TINY, "--seed", "3", "--force"]) == 0
    record = json.loads((root / "one" / "run.json").read_text())
    assert record["config"]["seed"] == 3 and record["settings_key"] != key


def test_batch_row_failure_is_recorded_and_the_others_finish(tmp_path, photo, capsys, monkeypatch):
    from panoworld.pipelines.panoworld import PanoWorldPipeline

    real_call = PanoWorldPipeline.__call__

    def flaky(self, image, prompt, *args, **kwargs):
        if prompt == "boom":
            raise RuntimeError("CUDA out of memory (simulated)")
        return real_call(self, image, prompt, *args, **kwargs)

    monkeypatch.setattr(PanoWorldPipeline, "__call__", flaky)
    rows = [{"image": "photo.png", "prompt": p, "id": p} for p in ("first", "boom", "last")]
    root = tmp_path / "runs"
    assert main(["generate", "--batch", str(_table(tmp_path / "jobs.jsonl", rows)), "--out", str(root), *TINY]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: 1 item(s) failed (of 3") and "boom" in err[-1]
    assert (root / "first" / "run.json").is_file() and (root / "last" / "run.json").is_file()
    failure = json.loads((root / "boom" / "failed.json").read_text())
    assert "out of memory" in failure["message"] and not (root / "boom" / "run.json").exists()
    summary = {c["item"]: c["status"] for c in json.loads((root / "batch_summary.json").read_text())["items"]}
    assert summary == {"first": "done", "boom": "failed", "last": "done"}
    monkeypatch.setattr(PanoWorldPipeline, "__call__", real_call)  # the retry succeeds and clears the failure
    assert main(["generate", "--batch", str(tmp_path / "jobs.jsonl"), "--out", str(root), *TINY]) == 0
    assert (root / "boom" / "run.json").is_file() and not (root / "boom" / "failed.json").exists()


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--frames", "92"], "4k+1"),
        (["--resolution", "500x1000"], "multiples of 16"),
        (["--guidance", "-1"], "guidance"),
        (["--persp-resolution", "470x640"], "multiples of 16"),
        (["--attention", "fast"], "--attention must be one of auto, cudnn, flash, efficient"),
        (["--offload", "disk"], "--offload must be one of"),
    ],
)
def test_bad_arguments_fail_in_one_line_and_write_nothing(tmp_path, photo, capsys, extra, needle):
    out = tmp_path / "out"
    assert main(["generate", str(photo), "-p", "x", "--out", str(out), *TINY, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and needle in err
    assert not out.exists()


def test_unreadable_image_and_missing_weights(tmp_path, photo, capsys, monkeypatch):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    out = tmp_path / "out"
    assert main(["generate", str(bad), "-p", "x", "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot read image" in err and "\n" not in err and not out.exists()
    weights = tmp_path / "weights"
    (weights / "panoworld").mkdir(parents=True)  # PanoWorld installed, its other components missing
    (weights / "panoworld" / "config.json").write_text("{}")
    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(weights))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["generate", str(photo), "-p", "x", "--out", str(out), "--resolution", "32x64", "--frames", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "cosmos-reason1-7b" in err and str(weights) in err
    assert not out.exists()


def test_generate_loads_real_checkpoint_folders(tmp_path, photo, monkeypatch):
    """The weights path end to end: tiny models saved like the real downloads under $PANOWORLD_WEIGHTS."""
    from tests.tiny_models import write_tiny_weights_root

    weights = write_tiny_weights_root(tmp_path / "weights")
    monkeypatch.setenv("PANOWORLD_WEIGHTS", str(weights))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    args = ["generate", str(photo), "-p", "a desk", "--out", str(out), "--device", "cpu", "--resolution", "32x64",
            "--frames", "5", "--steps", "1", "--persp-resolution", "16x32", "--latent-padding", "1"]
    assert main(args) == 0
    record = json.loads((out / "run.json").read_text())
    assert set(record["models"]) == {"panoworld", "cosmos-reason1-7b", "siglip2-so400m-patch14-384", "wan2.1-vae"}
    transformer = record["models"]["panoworld"]
    assert transformer["kind"] == "folder" and transformer["files"] >= 2 and len(transformer["sha256_head_tail"]) == 64
    assert probe_video(out / "pano.mp4").num_frames == 5


def test_missing_prompt_and_bad_batch_rows_are_one_line_errors(tmp_path, photo, capsys):
    out = tmp_path / "out"
    assert main(["generate", str(photo), "--out", str(out), *TINY]) == 2
    assert "missing --prompt" in capsys.readouterr().err
    table = tmp_path / "jobs.csv"
    table.write_text("image,prompt\nphoto.png,a desk\nnope.png,a lamp\n")
    assert main(["generate", "--batch", str(table), "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "row 2" in err and "image not found" in err and "\n" not in err
    assert not out.exists()  # rows are checked before anything runs
    (tmp_path / "broken.png").write_text("not an image")
    table.write_text("image,prompt,yaw\nphoto.png,a desk,nan\nbroken.png,a lamp,0\nphoto.png,a chair,10\n")
    assert main(["generate", "--batch", str(table), "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip()  # the whole table is checked: both bad rows named, one line
    assert "row 1" in err and "yaw" in err and "row 2" in err and "cannot read image" in err and "\n" not in err
    assert not out.exists()
