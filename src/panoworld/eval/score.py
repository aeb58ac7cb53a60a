"""Scoring: per-clip metric rows (one atomic CSV per method x clip), bucketed Fréchet rows, the long CSV.

Files under ``<results>`` (``panoworld.formats.results``): one score file per method x clip (that clip's rows,
replaced on re-scoring), one distributional score file per method and the per-clip feature cache. The long
CSV is re-assembled from these files after every run, so re-running never duplicates rows, a killed run
resumes where it stopped, and ``--shard i/n`` runs on several GPUs share one results folder.
"""

from __future__ import annotations

import csv
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from panoworld.formats.annotations import has_annotations, read_annotations
from panoworld.formats.results import ResultsLayout, record_files
from panoworld.formats.run_records import read_method_run
from panoworld.formats.testset import TestClip
from panoworld.io import atomic_write_text, probe_video

from .align import AlignConfig, clock_video, covered_frames
from .backbones import Backbones
from .estimate import Estimator
from .features import FEATURE_KINDS, clip_features, feature_key, split_omnifid
from .geometry import expected_names, family_of, geometry_metrics
from .metrics import MIN_BUCKET_CLIPS, FeatureCache, SeamMetrics, TemporalMetrics, VisualMetrics, bucket_frechet

__all__ = ["COLUMNS", "ScoreConfig", "Scorer", "assemble"]

COLUMNS = ("method", "clip_id", "split", "scene_type", "motion_kind", "bucket", "metric", "value", "n_clips", "run_id",
           "note")
GT_OWNER = "_gt"


@dataclass
class ScoreConfig:
    """Scoring settings: the clock, weighting, views, feature sampling, bucket rule, device."""

    align: AlignConfig = field(default_factory=AlignConfig)
    solid_angle: bool = True
    views: bool = True
    fid_frames: int = 8
    face_size: int = 256
    min_bucket: int = MIN_BUCKET_CLIPS
    device: str = "cpu"


def _fmt(v: float) -> str:
    return "nan" if not np.isfinite(v) else f"{v:.6g}"


def _write_rows(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def read_rows(path: str | os.PathLike) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


class Scorer:
    """Scores methods' results against a test set; see the module docstring for the files it writes.

    ``estimator`` annotates the videos of methods that bring no annotations (:mod:`panoworld.eval.estimate`);
    without one their geometry rows are NaN with the reason.
    """

    def __init__(self, results: str | os.PathLike, backbones: Backbones | None = None, cfg: ScoreConfig | None = None,
                 estimator: Estimator | None = None):
        self.results = Path(results)
        self.layout = ResultsLayout(self.results)
        self.bb = backbones or Backbones()
        self.cfg = cfg or ScoreConfig()
        self.estimator = estimator
        self.annotated = 0
        self.cache = FeatureCache(self.layout.features)
        self.run_id = f"{int(time.time())}-{os.getpid()}"
        self.visual = VisualMetrics(lpips=self.bb.lpips, clip=self.bb.clip, views=self.cfg.views,
                                    solid_angle=self.cfg.solid_angle)
        self.seam = SeamMetrics(lpips=self.bb.lpips)

    def score_path(self, method: str, clip: TestClip) -> Path:
        return self.layout.scores(method, clip.dirname)

    def is_scored(self, method: str, clip: TestClip) -> bool:
        """True when the clip's score file is newer than its result's video and method-run record."""
        p = self.score_path(method, clip)
        if not p.is_file():
            return False
        stamps = [f.stat().st_mtime_ns for f in record_files(self.layout.clip_dir(method, clip.dirname))]
        return not stamps or p.stat().st_mtime_ns >= max(stamps)

    def has_result(self, method: str, clip: TestClip) -> bool:
        return self.layout.video(method, clip.dirname).is_file()

    def pred_fps(self, method: str, clip: TestClip) -> float:
        """The result's frame rate: the method-run record's native fps (a wrong container header is overridden)."""
        rec = read_method_run(self.layout.clip_dir(method, clip.dirname))
        return float((rec.native_fps if rec else None) or probe_video(self.layout.video(method, clip.dirname)).fps)

    def shortfall(self, method: str, clip: TestClip) -> dict[str, int]:
        """{"pred" / "gt": clock frames covered} for the sides shorter than the evaluation clock (read from headers)."""
        out = {}
        for side, path, fps in (("pred", self.layout.video(method, clip.dirname), self.pred_fps(method, clip)),
                                ("gt", clip.video_path, None)):
            info = probe_video(path)
            covered = covered_frames(max(1, info.num_frames), float(fps or info.fps or clip.fps), self.cfg.align)
            if covered < self.cfg.align.n_frames:
                out[side] = covered
        return out

    def load_pair(self, method: str, clip: TestClip) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """(pred, gt) on the evaluation clock at the GT size, plus timing info (runs in a prefetch thread)."""
        video = self.layout.video(method, clip.dirname)
        ginfo = probe_video(clip.video_path)
        size = (ginfo.height, ginfo.width)
        gt_fps = float(ginfo.fps) or clip.fps
        pred_fps = self.pred_fps(method, clip)
        pinfo = probe_video(video)
        gt, gt_index, _ = clock_video(clip.video_path, size, self.cfg.align, fps=gt_fps)
        pred, pred_index, _ = clock_video(video, size, self.cfg.align, fps=pred_fps)
        info = {"gt_fps": gt_fps, "gt_frames": ginfo.num_frames, "size": size, "pred_fps": pred_fps,
                "pred_frames": pinfo.num_frames, "pred_size": (pinfo.height, pinfo.width), "gt_index": gt_index,
                "pred_index": pred_index}
        return pred, gt, info

    def score_clip(self, method: str, clip: TestClip, loaded=None) -> list[dict]:
        """Score one clip, write its rows file atomically and return the rows."""
        pred, gt, info = loaded or self.load_pair(method, clip)
        dev = torch.device(self.cfg.device)
        pred, gt = pred.to(dev), gt.to(dev)
        values = dict(self.visual.update(pred, gt, clip.caption))
        values.update(self.seam.update(pred, gt))
        values.update(TemporalMetrics().update(pred, gt, info["pred_index"], info["gt_index"]))
        settings = f"{self.cfg.align}"
        clip_features(self.cache, method, clip.dirname, self.layout.video(method, clip.dirname), pred, self.bb,
                      settings=settings,
                      n_frames=self.cfg.fid_frames, face_size=self.cfg.face_size)
        clip_features(self.cache, GT_OWNER, clip.dirname, clip.video_path, gt, self.bb, settings=settings,
                      n_frames=self.cfg.fid_frames, face_size=self.cfg.face_size)
        geometry, notes = self._geometry(method, clip, pred, gt, info, dev)
        values.update(geometry)
        record = read_method_run(self.layout.clip_dir(method, clip.dirname))
        seconds = record.seconds if record is not None else None
        if seconds is not None:  # cost next to quality: the method's own generation time for this clip
            values["cost/seconds"] = float(seconds)
        rows = [self._row(method, clip, name, value, note=notes.get(name, ""))
                for name, value in sorted(values.items())]
        _write_rows(self.score_path(method, clip), rows)
        return rows

    def _prediction_geometry(self, method: str, clip: TestClip, pred: torch.Tensor, info: dict, gann):
        """(the method's own annotations or None, the annotation of its video or None, why that one is absent)."""
        rdir = self.layout.clip_dir(method, clip.dirname)
        est = self.estimator
        own = None
        if has_annotations(rdir) and (est is None or est.settings.mode != "all"):
            own = read_annotations(rdir, video_fps=info["pred_fps"], video_frames=info["pred_frames"],
                                   video_size=info["pred_size"])
        if est is None or not est.wanted(rdir):
            if own is not None:
                return own, None, ""
            return None, None, est.why_not(False) if est else "the method brings no annotations"
        if est.unavailable:
            return own, None, est.why_not(has_annotations(rdir))
        ann = est.annotations(self.layout.estimated(method, clip.dirname), self.layout.video(method, clip.dirname),
                              pred, info["pred_index"], info["pred_fps"], gann, self.cfg.align,
                              on_compute=self._count_annotated)
        return own, ann, ""

    def _count_annotated(self) -> None:
        self.annotated += 1

    def _geometry(self, method: str, clip: TestClip, pred, gt, info: dict, dev) -> tuple[dict, dict]:
        """Every geometry metric the GT supports: values, and {name: why NaN} for those that are NaN. A value the
        method's own annotations give is kept; the annotation of its video gives the rest."""
        if not has_annotations(clip.annotation_dir):
            return {}, {}
        gann = read_annotations(clip.annotation_dir, video_fps=info["gt_fps"], video_frames=info["gt_frames"],
                                video_size=info["size"], depth_kind=clip.depth_kind, pose_kind=clip.pose_kind)
        expected = expected_names(gann, is_static=clip.is_static)
        values = {n: float("nan") for n in expected}
        notes = {n: "" for n in expected}
        *sources, reason = self._prediction_geometry(method, clip, pred, info, gann)
        for pann in [a for a in reversed(sources) if a is not None]:  # the annotation first, own values over it
            got, why = geometry_metrics(gann, pann, self.cfg.align, gt_video=clip.video_path, gt_fps=info["gt_fps"],
                                        gt_frames=info["gt_frames"], is_static=clip.is_static,
                                        solid_angle=self.cfg.solid_angle, device=dev, pred_clock=pred, gt_clock=gt)
            for name, value in got.items():
                if np.isfinite(value) or not np.isfinite(values.get(name, np.nan)):
                    values[name] = value
                    notes[name] = "" if np.isfinite(value) else why.get(name) or why.get(family_of(name), "")
        for name, value in values.items():
            if not np.isfinite(value) and (reason or not notes.get(name)):
                notes[name] = reason or notes.get(name) or "no prediction annotations"
        return values, {n: note for n, note in notes.items() if not np.isfinite(values[n])}

    def _row(self, method: str, clip: TestClip | None, metric: str, value: float, bucket: str = "", n: int = 1,
             note: str = "") -> dict:
        return {
            "method": method, "clip_id": clip.clip_id if clip else "", "split": clip.split if clip else "",
            "scene_type": clip.scene_type if clip else "", "motion_kind": clip.motion_kind if clip else "",
            "bucket": bucket, "metric": metric, "value": _fmt(value), "n_clips": n, "run_id": self.run_id,
            "note": note,
        }

    def score_all(self, methods: list[str], clips: list[TestClip], *, force: bool = False, advance=None) -> dict:
        """Score every (method, clip) with a result that is not already scored; prefetches the next videos."""
        todo = [(m, c) for m in methods for c in clips if self.has_result(m, c) and (force or not self.is_scored(m, c))]
        stats = {"scored": 0, "skipped": sum(1 for m in methods for c in clips if self.has_result(m, c)) - len(todo),
                 "missing": sum(1 for m in methods for c in clips if not self.has_result(m, c))}
        stats["scored"] = self.score_pairs(todo, advance=advance)
        return stats

    def score_pairs(self, todo: list[tuple[str, TestClip]], *, advance=None, on_scored=None) -> int:
        """Score the given (method, clip) pairs in order, reading the next pair's videos in a thread meanwhile;
        ``on_scored(method, clip)`` runs after each clip's rows are written. Returns the number scored."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(self.load_pair, *todo[0]) if todo else None
            for i, (method, clip) in enumerate(todo):
                loaded = future.result()
                future = pool.submit(self.load_pair, *todo[i + 1]) if i + 1 < len(todo) else None
                self.score_clip(method, clip, loaded)
                if on_scored:
                    on_scored(method, clip)
                if advance:
                    advance(1)
        return len(todo)

    def _cached(self, owner: str, kind: str, clip: TestClip, video: Path, net) -> np.ndarray | None:
        if not video.is_file():
            return None
        key = feature_key(self.cache, video, kind, net, settings=f"{self.cfg.align}", n_frames=self.cfg.fid_frames,
                          face_size=self.cfg.face_size)
        return self.cache.load(owner, kind, clip.dirname, key)

    def distributional(self, method: str, clips: list[TestClip]) -> list[dict]:
        """Fréchet rows per bucket (``all``, ``split:<s>``, ``scene:<t>``, ``motion:<m>``) from cached features."""
        rows: list[dict] = []
        for kind, attr in FEATURE_KINDS.items():
            net = getattr(self.bb, attr, None)
            if net is None:
                continue
            pairs = []
            for clip in clips:
                p = self._cached(method, kind, clip, self.layout.video(method, clip.dirname), net)
                g = self._cached(GT_OWNER, kind, clip, clip.video_path, net)
                if p is not None and g is not None:
                    pairs.append((clip, p, g))
            buckets = {"all": pairs}
            for label, attr_name in (("split", "split"), ("scene", "scene_type"), ("motion", "motion_kind")):
                for clip, p, g in pairs:
                    buckets.setdefault(f"{label}:{getattr(clip, attr_name)}", []).append((clip, p, g))
            for bucket, items in buckets.items():
                preds, gts = [p for _, p, _ in items], [g for _, _, g in items]
                if kind == "omnifid":
                    parts = {}
                    for group in ("sides", "up", "down"):
                        parts[group] = bucket_frechet([split_omnifid(p)[group] for p in preds],
                                                      [split_omnifid(g)[group] for g in gts],
                                                      min_clips=self.cfg.min_bucket, device=self.cfg.device)
                        rows.append(self._row(method, None, f"omnifid/{group}", parts[group], bucket, len(items)))
                    rows.append(self._row(method, None, "omnifid", float(np.mean(list(parts.values()))), bucket,
                                          len(items)))
                else:
                    name = {"fvd": "fvd/videomae", "fid": "fid/erp", "fd_vae": "fd_vae/erp"}[kind]
                    value = bucket_frechet(preds, gts, min_clips=self.cfg.min_bucket, device=self.cfg.device)
                    rows.append(self._row(method, None, name, value, bucket, len(items)))
        path = self.layout.distributional(method)
        if rows:
            _write_rows(path, rows)
        return rows


def assemble(results: str | os.PathLike, methods: list[str], clips: list[TestClip], out: str | os.PathLike) -> int:
    """Write the long CSV from the per-clip and distributional score files of ``methods`` x ``clips``."""
    layout = ResultsLayout(Path(results))
    rows: list[dict] = []
    for method in methods:
        for clip in clips:
            p = layout.scores(method, clip.dirname)
            if p.is_file():
                rows.extend(read_rows(p))
        d = layout.distributional(method)
        if d.is_file():
            rows.extend(read_rows(d))
    _write_rows(Path(out), rows)
    return len(rows)
