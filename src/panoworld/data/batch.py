"""Run a per-video job over many videos: parallel workers, resume from per-video records, manifests.

Each finished video leaves its cut record (``panoworld.formats.clips``, written atomically) holding its
result and a fingerprint of the source file and the options; a re-run skips videos whose record
matches and redoes the rest, so ``kill -9`` loses at most the videos in flight.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from panoworld.formats.clips import CUT_CLIPS_DIR, CUT_RECORDS_DIR, cut_record_path, write_cut_manifest
from panoworld.io import atomic_write_json

from .cut import CutOptions, cut_video

__all__ = ["cut_videos", "manifest_rows"]

def _fingerprint(src: Path, opts: CutOptions) -> str:
    st = src.stat()
    blob = json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "options": opts.key()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _job(src: Path, out_dir: Path, video_id: str, opts: CutOptions, fingerprint: str) -> dict:
    record = cut_video(src, out_dir, video_id, opts)
    record["fingerprint"] = fingerprint
    atomic_write_json(cut_record_path(out_dir, video_id), record)
    return record


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _load_record(path: Path, fingerprint: str) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != fingerprint:
        return None
    out_dir = path.parent.parent
    for entry in record.get("clips", []):
        if entry.get("status") == "kept" and not (out_dir / entry["path"]).is_file():
            return None
    return record


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
    on_done: Callable[[dict, bool], None] | None = None,
) -> list[dict]:
    """Cut every video (skipping finished ones) and write the manifests; return the records in input order.

    ``on_done(record, skipped)`` is called once per video as it finishes (for progress display).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean_temporaries(out_dir)
    records: dict[str, dict] = {}
    todo = []
    for src, vid in videos:
        fp = _fingerprint(src, opts)
        done = _load_record(cut_record_path(out_dir, vid), fp)
        if done is not None:
            records[vid] = done
            if on_done:
                on_done(done, True)
        else:
            todo.append((src, vid, fp))
    if workers <= 1 or len(todo) <= 1:
        for src, vid, fp in todo:
            records[vid] = _job(src, out_dir, vid, opts, fp)
            if on_done:
                on_done(records[vid], False)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_worker_init) as pool:
            futures = {pool.submit(_job, src, out_dir, vid, opts, fp): vid for src, vid, fp in todo}
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
