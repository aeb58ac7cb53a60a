"""Run a per-video job over many videos: parallel workers, resume from per-video records, manifests.

Each finished video leaves its cut record (``panoworld.formats.clips``, written atomically) holding its result,
the settings key of the cut options and the inputs key of the source file (size, modification time); re-runs
follow :mod:`panoworld.formats.job_record` (a changed source is cut again, other options stop the run naming
``--force``), so ``kill -9`` loses at most the videos in flight.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from panoworld.formats.clips import CUT_CLIPS_DIR, CUT_RECORDS_DIR, cut_record_path, write_cut_manifest
from panoworld.formats.job_record import Item, plan_items, settings_key, source_fingerprint, write_record

from .cut import CutOptions, cut_video

__all__ = ["cut_videos", "manifest_rows", "summarize"]


def _source_key(src: Path) -> str:
    return settings_key({k: v for k, v in source_fingerprint(src).items() if k != "path"})


def _job(src: Path, out_dir: Path, video_id: str, opts: CutOptions, key: str, inputs: str) -> dict:
    record = cut_video(src, out_dir, video_id, opts)
    write_record(cut_record_path(out_dir, video_id), record, key, inputs)
    return record


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _kept_clips_exist(out_dir: Path, record: dict) -> bool:
    return all((out_dir / e["path"]).is_file() for e in record.get("clips", []) if e.get("status") == "kept")


def _clean_temporaries(out_dir: Path) -> None:
    for folder in (out_dir, out_dir / CUT_CLIPS_DIR, out_dir / CUT_RECORDS_DIR):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp*"):
                tmp.unlink(missing_ok=True)


def cut_videos(
    videos: list[tuple[Path, str]],
    out_dir: Path,
    opts: CutOptions,
    *,
    workers: int = 1,
    force: bool = False,
    on_done: Callable[[dict, bool], None] | None = None,
) -> list[dict]:
    """Cut every video (skipping finished ones) and write the manifests; return the records in input order.

    ``on_done(record, skipped)`` is called once per video as it finishes (for progress display).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean_temporaries(out_dir)
    key = settings_key(opts.key())
    items = [Item(vid, cut_record_path(out_dir, vid), key, (src, vid), inputs=_source_key(src))
             for src, vid in videos]
    plan = plan_items(items, force=force, complete=lambda item, record: _kept_clips_exist(out_dir, record))
    records: dict[str, dict] = {}
    for item in plan.done:
        records[item.name] = json.loads(item.record.read_text())
        if on_done:
            on_done(records[item.name], True)
    todo = [(item.payload[0], item.name, item.inputs) for item in plan.todo]
    if workers <= 1 or len(todo) <= 1:
        for src, vid, inputs in todo:
            records[vid] = _job(src, out_dir, vid, opts, key, inputs)
            if on_done:
                on_done(records[vid], False)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_worker_init) as pool:
            futures = {pool.submit(_job, src, out_dir, vid, opts, key, inputs): vid for src, vid, inputs in todo}
            for fut in as_completed(futures):
                records[futures[fut]] = fut.result()
                if on_done:
                    on_done(records[futures[fut]], False)
    ordered = [records[vid] for _, vid in videos]
    write_cut_manifest(out_dir, manifest_rows(ordered))
    return ordered


def manifest_rows(records: list[dict]) -> list[dict]:
    """One flat row per clip entry (kept or dropped) with the video's fields attached."""
    rows = []
    for rec in records:
        for entry in rec.get("clips", []):
            keys = ("video_id", "source", "width", "height", "source_width", "source_height", "source_fps")
            row = {k: rec.get(k) for k in keys}
            row.update(entry)
            rows.append(row)
    return rows


def summarize(records: list[dict]) -> str:
    """One line: clips kept and dropped clips by reason, e.g. ``12 clips kept; dropped: short_tail: 3``."""
    kept = sum(e["status"] == "kept" for r in records for e in r["clips"])
    dropped: dict[str, int] = {}
    for r in records:
        for e in r["clips"]:
            if e["status"] != "kept":
                dropped[e["reason"]] = dropped.get(e["reason"], 0) + 1
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items())) or "none"
    return f"{kept} clips kept; dropped: {detail}"
