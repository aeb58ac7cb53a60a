"""Aggregate tables from the long CSV: by split / scene type / motion kind, with clip counts and 95 % CIs.

Writes into one folder (``panoworld.formats.results.ReportLayout``): a summary CSV per grouping (overall, by
split, by scene, by motion; every metric), a ranking CSV (rank of each method per metric family), a Markdown and a
LaTeX report (headline metrics), and one chart PNG per metric family (a panel per headline metric). Per-clip rows
are averaged per group; distributional rows are taken from their own bucket (never averaged with other buckets).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

from panoworld.errors import InputError
from panoworld.formats.results import ReportLayout, ResultsLayout
from panoworld.io import atomic_write_text

from .charts import family_chart
from .metrics import metric_info
from .score import read_rows

__all__ = ["GROUPINGS", "HEADLINE", "FAMILIES", "summarise", "rank_families", "default_order", "write_report"]

GROUPINGS = {"overall": None, "by_split": "split", "by_scene": "scene_type", "by_motion": "motion_kind"}
BUCKET_PREFIX = {"split": "split:", "scene_type": "scene:", "motion_kind": "motion:"}
FAMILIES = ("visual", "distributional", "panorama", "temporal", "depth", "tracks", "camera", "consistency", "cost")
HEADLINE = {
    "visual": ["psnr/erp", "psnr/erp_sw", "psnr/views", "ssim/erp", "lpips/erp", "lpips/views", "clip_t/erp",
               "clip_t/views"],
    "distributional": ["fvd/videomae", "fid/erp", "omnifid", "fd_vae/erp"],
    "panorama": ["seam/end_continuity_gap", "seam/discontinuity_gap", "seam/flicker_gap", "seam/lpips_excess",
                 "psnr/pole", "lpips/pole", "omnifid/up", "omnifid/down"],
    "temporal": ["temporal/flicker_gap", "temporal/motion_gap", "temporal/warp_error_gap", "temporal/flicker",
                 "temporal/motion", "temporal/warp_error"],
    "depth": ["depth/abs_rel/raw", "depth/abs_rel/raw@median", "depth/abs_rel/raw@scale",
              "depth/abs_rel/raw@scale_shift", "depth/abs_rel/sky_masked@scale_shift", "depth/delta1/raw",
              "depth/delta1/raw@scale_shift", "depth/abs_rel/pole"],
    "tracks": ["tracks/aj", "tracks/oa", "tracks/delta_avg", "tracks/err3d_sim3"],
    "camera": ["camera/ate", "camera/rpe_trans", "camera/rpe_rot"],
    "consistency": ["consistency/depth_temporal_cv_gap", "consistency/track_lifetime_gap",
                    "consistency/rigidity_m_gap", "consistency/depth_temporal_cv", "consistency/track_lifetime"],
    "cost": ["cost/seconds"],
}
#: Columns of the long CSV this module reads.
REQUIRED_COLUMNS = ("method", "clip_id", "split", "scene_type", "motion_kind", "bucket", "metric", "value")
SUMMARY_COLUMNS = ("method", "metric", "family", "unit", "higher_is_better", "group", "mean", "ci95", "n_clips")


def _ci95(values: np.ndarray) -> float:
    n = len(values)
    if n < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))


def summarise(rows: list[dict], grouping: str | None) -> list[dict]:
    """Mean, 95 % CI (Student t) and clip count per (method, metric, group)."""
    acc: dict[tuple, list[float]] = defaultdict(list)
    out = []
    for r in rows:
        v = float(r["value"])
        if r["clip_id"]:
            if math.isfinite(v):
                acc[(r["method"], r["metric"], r[grouping] if grouping else "all")].append(v)
            continue
        bucket = r["bucket"]
        if grouping is None and bucket == "all":
            group = "all"
        elif grouping and bucket.startswith(BUCKET_PREFIX[grouping]):
            group = bucket[len(BUCKET_PREFIX[grouping]) :]
        else:
            continue
        out.append({"method": r["method"], "metric": r["metric"], "group": group, "mean": v, "ci95": float("nan"),
                    "n_clips": int(r["n_clips"] or 0)})
    for (method, metric, group), vals in acc.items():
        arr = np.asarray(vals, np.float64)
        out.append({"method": method, "metric": metric, "group": group, "mean": float(arr.mean()),
                    "ci95": _ci95(arr), "n_clips": len(arr)})
    for r in out:
        info = metric_info(r["metric"])
        r.update(family=info.family if info else "other", unit=info.unit if info else "",
                 higher_is_better=int(info.higher_is_better) if info else "")
    return sorted(out, key=lambda r: (r["group"], r["family"], r["metric"], r["method"]))


def rank_families(overall: list[dict], methods: list[str]) -> dict[str, dict[str, float]]:
    """Per family: mean over its metrics (with an ideal value) of each method's rank (1 = best).

    A metric ranks every method once at least one has it: first by how many clips have a finite value (a method
    without the metric on some clips, e.g. NaN geometry, ranks behind every method that has it on more clips:
    nobody is rewarded for a missing value), then by |mean - ideal|; ties share the average rank.
    """
    by_metric: dict[str, dict[str, tuple[int, float]]] = defaultdict(dict)
    for r in overall:
        if math.isfinite(r["mean"]) and r["group"] == "all":
            by_metric[r["metric"]][r["method"]] = (int(r["n_clips"]), r["mean"])
    ranks: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for metric, vals in by_metric.items():
        info = metric_info(metric)
        if info is None or info.ideal is None or len(methods) < 2:
            continue
        keys = {m: (-vals[m][0], abs(vals[m][1] - info.ideal)) if m in vals else (0, math.inf) for m in methods}
        ordered = sorted(methods, key=keys.get)
        i = 0
        while i < len(ordered):
            j = i
            while j + 1 < len(ordered) and keys[ordered[j + 1]] == keys[ordered[i]]:
                j += 1
            for m in ordered[i : j + 1]:
                ranks[info.family][m].append((i + j) / 2 + 1)
            i = j + 1
    return {fam: {m: float(np.mean(r)) for m, r in per.items()} for fam, per in ranks.items()}


def default_order(present: list[str]) -> list[str]:
    """Methods in report order: the compared methods as they come, then the sanity bounds (oracle, static,
    fov-only, degradations)."""
    from .runners import SANITY_METHODS

    return ([m for m in present if m not in SANITY_METHODS] + [m for m in SANITY_METHODS if m in present])


def _missing(rows: list[dict], methods: list[str]) -> str:
    """A Markdown section counting the per-clip NaN values of each method by reason."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r["clip_id"] and not math.isfinite(float(r["value"])):
            counts[(r["method"], r.get("note") or "no reason recorded")] += 1
    if not counts:
        return ""
    lines = ["## Missing values (NaN rows per method and reason)\n", "| method | rows | reason |", "|---|---:|---|"]
    for m in methods:
        lines += [f"| {m} | {n} | {why} |" for (meth, why), n in sorted(counts.items()) if meth == m]
    return "\n".join(lines) + "\n"


def _cell(r: dict | None, latex: bool = False) -> str:
    if r is None or not math.isfinite(r["mean"]):
        return "–" if not latex else "--"
    pm = "$\\pm$" if latex else "±"
    ci = f" {pm} {r['ci95']:.3g}" if math.isfinite(r["ci95"]) else ""
    return f"{r['mean']:.4g}{ci} ({r['n_clips']})"


def _arrow(metric: str, latex: bool = False) -> str:
    info = metric_info(metric)
    if info is None:
        return ""
    if latex:
        return " $\\uparrow$" if info.higher_is_better else " $\\downarrow$"
    return " ↑" if info.higher_is_better else " ↓"


def _better(metric: str) -> str:
    info = metric_info(metric)
    return "" if info is None else ("higher is better" if info.higher_is_better else "lower is better")


def _tex(text: str) -> str:
    return re.sub(r"([_%&#$])", r"\\\1", text)


def _table(summary: list[dict], methods: list[str], metrics: list[str], group: str, latex: bool) -> str:
    index = {(r["method"], r["metric"]): r for r in summary if r["group"] == group}
    metrics = [m for m in metrics if any((meth, m) in index for meth in methods)]
    if not metrics:
        return ""
    if latex:
        head = " & ".join(["method"] + [_tex(m) + _arrow(m, True) for m in metrics])
        lines = ["\\begin{tabular}{l" + "r" * len(metrics) + "}", "\\toprule", head + " \\\\", "\\midrule"]
        for meth in methods:
            lines.append(" & ".join([_tex(meth)] + [_cell(index.get((meth, m)), True) for m in metrics]) + " \\\\")
        return "\n".join(lines + ["\\bottomrule", "\\end{tabular}", ""])
    lines = ["| method | " + " | ".join(m + _arrow(m) for m in metrics) + " |",
             "|---|" + "---:|" * len(metrics)]
    for meth in methods:
        lines.append(f"| {meth} | " + " | ".join(_cell(index.get((meth, m))) for m in metrics) + " |")
    return "\n".join(lines) + "\n"


def _csv_text(rows: list[dict], columns) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def _left_out(results: Path) -> str:
    """A sentence naming the metric networks `eval run` left out (not installed), from its run summary."""
    import json

    from .evaluate import BACKBONE_FLAGS

    try:
        skipped = json.loads(ResultsLayout(results).score_run.read_text()).get("skipped_backbones", {})
    except (OSError, ValueError):
        return ""
    missing = [BACKBONE_FLAGS[n][1] for n, why in skipped.items() if n in BACKBONE_FLAGS and why != "turned off"]
    return f"\nLeft out (networks not installed when scoring): {', '.join(missing)}.\n" if missing else ""


def write_report(long_csv: str | os.PathLike, out_dir: str | os.PathLike, *, methods: list[str] | None = None,
                 charts: bool = True) -> dict:
    """Write every report file (see module doc); return {"files": [...], "ranking": {...}}."""
    p = Path(long_csv)
    if not p.is_file():
        raise InputError(f"results CSV not found: {p} (run `panoworld eval run` first)")
    rows = read_rows(p)
    if not rows:
        raise InputError(f"{p} has no rows")
    missing = [c for c in REQUIRED_COLUMNS if c not in rows[0]]
    if missing:
        raise InputError(f"{p} lacks the column(s) {', '.join(missing)}: not a long CSV of `panoworld eval run`")
    present = list(dict.fromkeys(r["method"] for r in rows))
    methods = [m for m in methods if m in present] if methods else default_order(present)
    rows = [r for r in rows if r["method"] in methods]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layout = ReportLayout(out)
    files, summaries = [], {}
    for name, grouping in GROUPINGS.items():
        summaries[name] = summarise(rows, grouping)
        files.append(atomic_write_text(layout.summary(name), _csv_text(summaries[name], SUMMARY_COLUMNS)))
    ranking = rank_families(summaries["overall"], methods)
    rank_rows = [{"family": f, "method": m, "mean_rank": r} for f, per in ranking.items() for m, r in per.items()]
    files.append(atomic_write_text(layout.ranking, _csv_text(rank_rows, ("family", "method", "mean_rank"))))
    n_clips = len({r["clip_id"] for r in rows if r["clip_id"]})
    md = [f"# Evaluation report\n\n{len(methods)} method(s), {n_clips} clip(s). Cells: mean ± 95 % CI (clips). "
          "↑ higher is better, ↓ lower is better. Source: " + p.name + "\n" + _left_out(p.parent)]
    tex = ["% panoworld eval report (booktabs)\n"]
    if ranking:
        fams = [f for f in FAMILIES if f in ranking]
        md.append("## Ranking per metric family (mean rank, 1 = best)\n")
        md.append("| method | " + " | ".join(fams) + " |\n|---|" + "---:|" * len(fams))
        for m in methods:
            cells = [f"{ranking[f][m]:.2f}" if m in ranking[f] else "–" for f in fams]
            md.append(f"| {m} | " + " | ".join(cells) + " |")
        md.append("")
    md.append(_missing(rows, methods))
    for name, grouping in GROUPINGS.items():
        groups = sorted({r["group"] for r in summaries[name]})
        for group in groups:
            title = "Overall" if grouping is None else f"{grouping} = {group}"
            for fam in FAMILIES:
                metrics = HEADLINE[fam] if grouping is None else HEADLINE[fam][:3]
                t_md = _table(summaries[name], methods, metrics, group, latex=False)
                if t_md:
                    md.append(f"## {title}: {fam}\n\n{t_md}")
                    tex.append(f"% {title}: {fam}\n" + _table(summaries[name], methods, metrics, group, latex=True))
    files.append(atomic_write_text(layout.markdown, "\n".join(md)))
    files.append(atomic_write_text(layout.latex, "\n".join(tex)))
    if charts:
        index = {(r["method"], r["metric"]): r for r in summaries["overall"] if r["group"] == "all"}
        for fam in FAMILIES:
            panels = [(metric, [index.get((m, metric), {"mean": float("nan")})["mean"] for m in methods],
                       [index.get((m, metric), {"ci95": float("nan")})["ci95"] for m in methods], _better(metric))
                      for metric in HEADLINE[fam] if any((m, metric) in index for m in methods)]
            if panels:
                target = layout.chart(fam)
                family_chart(target, f"{fam}: mean and 95% CI over clips", methods, panels)
                files.append(target)
    return {"files": [str(f) for f in files], "ranking": ranking}
