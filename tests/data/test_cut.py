"""`panoworld data cut`: exact clip boundaries, fps resampling, resizing, filters, shot splits, resume."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import torch

from panoworld.cli import main
from panoworld.data import ClipStats, CutOptions, FilterConfig, OutputClock, cut_video, source_index
from panoworld.io import probe_video, write_video
from panoworld.sphere import resize_erp

from .conftest import erp_frames, make_video


def _rows(out):
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_cut_exact_clips_and_filter_reasons(cut_out):
    rows = _rows(cut_out)
    kept = [r for r in rows if r["status"] == "kept"]
    # sceneA/walk: 11 s at 8 fps = 88 frames -> 2 clips + an 8-frame tail; sceneB/street: 84 frames -> 2 clips + 4.
    assert sorted(r["clip"] for r in kept) == [
        "sceneA__walk__clip000.mp4", "sceneA__walk__clip001.mp4",
        "sceneB__street__clip000.mp4", "sceneB__street__clip001.mp4",
    ]
    for r in kept:
        info = probe_video(cut_out / r["path"], count_frames=True)
        assert info.num_frames == 40 and info.fps == 8 and info.duration == 5.0
        assert (info.height, info.width) == (64, 128)
        assert r["last_source_frame"] - r["first_source_frame"] == 39
        assert r["first_source_frame"] == 40 * r["clip_index"]
    reasons = {r["video_id"]: r["reason"] for r in rows if r["status"] == "dropped" and r["reason"] != "short_tail"}
    assert reasons == {"odd": "not_2to1", "seam": "seam_discontinuous", "black": "mostly_black"}
    tails = {r["video_id"]: r["num_frames"] for r in rows if r["reason"] == "short_tail"}
    assert tails == {"sceneA__walk": 8, "sceneB__street": 4}
    csv_lines = (cut_out / "manifest.csv").read_text().splitlines()
    assert csv_lines[0].startswith("video_id,source,status,reason") and len(csv_lines) == len(rows) + 1
    assert not list(cut_out.rglob(".*.tmp*")), "temporary files left behind"
    assert sorted(p.name for p in (cut_out / "clips").iterdir()) == sorted(r["clip"] for r in kept)


def test_cut_resume_skips_finished_and_redoes_on_option_change(cut_out, source_videos):
    clip = cut_out / "clips" / "sceneA__walk__clip000.mp4"
    before = clip.stat().st_mtime_ns
    assert main(["data", "cut", str(source_videos["root"]), "--out", str(cut_out)]) == 0
    assert clip.stat().st_mtime_ns == before
    statuses = []
    from panoworld.data import cut_videos, find_videos

    opts = CutOptions(crf=30)
    cut_videos(find_videos([source_videos["good_a"]]), cut_out / "other", opts, on_done=lambda r, s: statuses.append(s))
    cut_videos(find_videos([source_videos["good_a"]]), cut_out / "other", opts, on_done=lambda r, s: statuses.append(s))
    assert statuses == [False, True]


def test_cut_target_fps_and_resize(tmp_path, source_videos):
    out = tmp_path / "o"
    args = ["data", "cut", str(source_videos["good_a"]), "--out", str(out), "--fps", "5", "--size", "32x64",
            "--seconds", "2"]
    assert main(args) == 0
    kept = [r for r in _rows(out) if r["status"] == "kept"]
    assert len(kept) == 5  # 11 s at 5 fps = 55 frames -> 5 clips of 10 + a 5-frame tail
    for r in kept:
        info = probe_video(out / r["path"], count_frames=True)
        assert (info.num_frames, info.fps, info.duration, info.height, info.width) == (10, 5, 2.0, 32, 64)
        start = 10 * r["clip_index"]
        assert r["first_source_frame"] == source_index(start, Fraction(8), Fraction(5))
        assert r["start_s"] == pytest.approx(2.0 * r["clip_index"])
        assert (r["width"], r["height"], r["source_width"], r["source_height"]) == (64, 32, 128, 64)


def test_output_clock_counts_are_exact():
    for fps_in, fps_out, n_in in [(30, 16, 300), (25, 16, 250), (8, 20, 40), (Fraction(30000, 1001), 16, 600)]:
        clock = OutputClock(Fraction(fps_in), Fraction(fps_out))
        counts = [clock.take(i) for i in range(n_in)]
        duration = Fraction(n_in) / Fraction(fps_in)
        # every output time j/fps_out whose nearest source frame exists is produced exactly once
        expected = sum(1 for j in range(4 * n_in) if source_index(j, Fraction(fps_in), Fraction(fps_out)) < n_in)
        assert sum(counts) == expected
        assert abs(sum(counts) / Fraction(fps_out) - duration) <= 1 / Fraction(fps_out)


def test_resize_erp_wraps_at_the_seam():
    frames = erp_frames(2, 32, 64)
    shifted = torch.roll(frames, 8, dims=-1)
    a = torch.roll(resize_erp(frames, (48, 96)), 12, dims=-1)
    b = resize_erp(shifted, (48, 96))
    assert torch.allclose(a, b, atol=1e-5)


def test_shot_split_and_frozen_filter(tmp_path):
    src = make_video(tmp_path / "shot.mp4", 12.0, 8, palette_shift=30)
    rec = cut_video(src, tmp_path / "o", "shot", CutOptions(shot_threshold=0.5))
    kinds = [(e["status"], e["reason"], e["num_frames"], e["first_source_frame"]) for e in rec["clips"]]
    assert kinds[0] == ("dropped", "shot_boundary", 30, 0)
    assert kinds[1] == ("kept", None, 40, 30)
    still = tmp_path / "still.mp4"
    write_video(still, erp_frames(1).expand(40, -1, -1, -1), 8)
    rec = cut_video(still, tmp_path / "o", "still", CutOptions())
    assert [e["reason"] for e in rec["clips"]] == ["frozen"]
    rec = cut_video(still, tmp_path / "o", "still2", CutOptions(filters=FilterConfig(enabled=False)))
    assert [e["status"] for e in rec["clips"]] == ["kept"]


def test_filter_stats_on_tensors():
    stats = ClipStats()
    stats.update(erp_frames(4, kind="broken_seam"))
    assert stats.reason(FilterConfig()) == "seam_discontinuous"
    stats = ClipStats()
    stats.update(erp_frames(4))
    assert stats.reason(FilterConfig()) is None


def test_cut_errors_are_one_line(tmp_path, capsys):
    assert main(["data", "cut", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o")]) == 2
    assert main(["data", "cut", str(tmp_path), "--out", str(tmp_path / "o"), "--size", "64x100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("error:") for line in err) and len(err) == 2


def test_cut_resume_after_a_crash_redoes_only_unfinished_videos(tmp_path, source_videos):
    from panoworld.data import cut_videos, find_videos

    videos = find_videos([source_videos["good_a"], source_videos["good_b"]])
    out = tmp_path / "o"
    cut_videos(videos, out, CutOptions())
    # simulate kill -9 while "street" was in flight: no record yet, a half-written temporary clip
    (out / ".records" / "street.json").unlink()
    (out / "clips" / ".street__clip000.abcd.tmp.mp4").write_bytes(b"partial")
    keep = (out / "clips" / "walk__clip000.mp4").stat().st_mtime_ns
    done = []
    cut_videos(videos, out, CutOptions(), on_done=lambda rec, skipped: done.append((rec["video_id"], skipped)))
    assert sorted(done) == [("street", False), ("walk", True)]
    assert (out / "clips" / "walk__clip000.mp4").stat().st_mtime_ns == keep
    assert not list(out.rglob(".*.tmp*"))
    assert len([r for r in _rows(out) if r["status"] == "kept"]) == 4
