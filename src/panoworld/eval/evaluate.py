"""Score methods' results into the long CSV (``panoworld eval run``): settings-keyed, resumable, shardable.

Item = (method, clip) with a result video. Beside its score rows the scorer writes the clip's score record (last;
``panoworld.formats.results``) with the settings key (:func:`score_settings`: the evaluation clock, weighting,
views, feature sampling, caption style and which backbone networks were used) and the inputs key (the result's video
and method-run record and the GT video's identity). A result that changed is re-scored; other settings stop the run
naming ``--force`` (:mod:`panoworld.formats.job_record`).

Backbone networks given explicitly must load; the default ones that are not installed are skipped with one warning
naming what to install, and the metrics needing them are left out (the results folder's score-run summary says
which). Methods without annotations are annotated (:mod:`panoworld.eval.estimate`; the annotators' settings key is
part of the settings key); with the annotation networks missing their geometry rows are NaN with the reason and
one warning names what to install. Videos shorter than the evaluation clock get one warning naming ``--frames``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable

from panoworld.errors import MissingComponentError
from panoworld.formats.job_record import Item, plan_items, settings_key, source_fingerprint, write_record
from panoworld.formats.results import ResultsLayout, record_files
from panoworld.formats.testset import TestClip

from .backbones import Backbones, load_backbones
from .estimate import EstimateSettings, Estimator
from .score import ScoreConfig, Scorer, assemble

__all__ = ["BACKBONE_FLAGS", "default_backbones", "load_available_backbones", "score_settings", "evaluate"]

#: Backbone -> (CLI flag, metrics that need it).
BACKBONE_FLAGS = {"lpips": ("--lpips", "LPIPS"), "clip": ("--clip", "CLIP-T"),
                  "inception": ("--inception", "FID and OmniFID"), "video": ("--video-model", "FVD"),
                  "autoencoder": ("--autoencoder", "fd_vae")}


def default_backbones() -> dict[str, str]:
    """Where each backbone is looked for when its flag is not given."""
    from panoworld.weights import weights_root

    root = weights_root() / "eval"
    return {"lpips": str(root / "lpips"), "clip": "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
            "inception": str(root / "pt_inception-2015-12-05-6726825d.pth"),
            "video": "MCG-NJU/videomae-base-finetuned-kinetics", "autoencoder": "stabilityai/sd-vae-ft-mse"}


def load_available_backbones(sources: dict[str, str | None], defaults: dict[str, str], device: str = "cpu",
                             say: Callable[[str], None] = print) -> tuple[Backbones, dict[str, str]]:
    """Load each backbone: ``sources[name]`` when given (must load; "none" skips it), else ``defaults[name]``
    when it loads. Returns the backbones and {name: why skipped}; one warning line names the missing defaults."""
    loaded, skipped = Backbones(), {}
    for name in BACKBONE_FLAGS:
        source = sources.get(name)
        explicit = source is not None
        source = source if explicit else defaults.get(name)
        if source is None or str(source).lower() == "none":
            skipped[name] = "turned off"
            continue
        try:
            setattr(loaded, name, getattr(load_backbones(**{name: source}, device=device), name))
        except MissingComponentError:
            if explicit:
                raise
            skipped[name] = f"not installed ({source})"
    missing = [n for n, why in skipped.items() if why.startswith("not installed")]
    if missing:
        what = ", ".join(f"{BACKBONE_FLAGS[n][1]} (needs {BACKBONE_FLAGS[n][0]}: {defaults[n]})" for n in missing)
        say(f"warning: skipping the metrics whose networks are not installed: {what}; install them (docs/eval.md) "
            "or point the flags at them")
    return loaded, skipped


def score_settings(cfg: ScoreConfig, backbones: dict[str, str | None], caption_style: str,
                   annotators: str | None = None, annotate: str = "missing") -> dict:
    """What determines a clip's score rows besides the videos (the input of the settings key); ``annotators`` is
    the :class:`~panoworld.eval.estimate.Estimator` key."""
    config = {k: v for k, v in asdict(cfg).items() if k not in ("device", "min_bucket")}
    return {"config": config, "backbones": backbones, "caption_style": caption_style, "annotate": annotate,
            "annotators": annotators}


def _inputs(layout: ResultsLayout, method: str, clip: TestClip) -> dict:
    """The identity of what a clip's scores are computed from: the result's files and the GT video."""
    files = {f.name: f for f in record_files(layout.clip_dir(method, clip.dirname))}
    return {name: {k: v for k, v in source_fingerprint(f).items() if k != "path"}
            for name, f in {**files, "gt": clip.video_path}.items()}


def _warn_short(scorer: Scorer, pairs: list[tuple[str, TestClip]], say: Callable[[str], None]) -> list[str]:
    """One warning for the videos the clock pads (shorter than its window); returns their names."""
    cfg = scorer.cfg.align
    short = {}
    for method, clip in pairs:
        for side, covered in scorer.shortfall(method, clip).items():
            short[f"{method if side == 'pred' else 'GT'}/{clip.dirname}"] = covered
    if short:
        name, covered = min(short.items(), key=lambda kv: kv[1])
        say(f"warning: {len(short)} video(s) are shorter than the evaluation clock ({cfg.n_frames} frames @ "
            f"{cfg.fps:g} fps = {cfg.n_frames / cfg.fps:.2f} s) and are padded with their last frame (shortest: "
            f"{name}, {covered} frame(s) covered); pass --frames {max(1, covered)} to score a window every video "
            "covers")
    return sorted(short)


def evaluate(results: Path, methods: list[str], clips: list[TestClip], all_clips: list[TestClip], cfg: ScoreConfig, *,
             sources: dict[str, str | None], caption_style: str, out: Path, force: bool = False,
             distributional: bool = True, estimate: EstimateSettings | None = None,
             advance: Callable[[int], None] | None = None, say: Callable[[str], None] = print) -> dict:
    """Score the (method, clip) results of ``clips`` that need it, then (``distributional``) the Fréchet rows
    over ``all_clips`` and the long CSV ``out``; return counts and the skipped backbones.

    ``sources`` maps backbone name -> path / hub id / "none", or None for the default location
    (:func:`load_available_backbones`); ``estimate`` says how methods without annotations are annotated.
    """
    from panoworld.formats.annotations import has_annotations
    from panoworld.io import atomic_write_json

    estimator = Estimator(estimate or EstimateSettings(), cfg.device)
    defaults = default_backbones()
    backbones, skipped = load_available_backbones(sources, defaults, cfg.device, say=say)
    used = {n: None if n in skipped else (sources.get(n) or defaults[n]) for n in BACKBONE_FLAGS}
    scorer = Scorer(results, backbones, cfg, estimator)
    layout = scorer.layout
    key = settings_key(score_settings(cfg, used, caption_style, estimator.key, estimator.settings.mode))
    plain = settings_key(score_settings(cfg, used, caption_style, None, estimator.settings.mode))

    def item_key(method: str, clip: TestClip) -> str:
        """The annotators are part of the settings of the clips they annotate only."""
        needs = has_annotations(clip.annotation_dir) and estimator.wanted(layout.clip_dir(method, clip.dirname))
        return key if needs else plain

    items = [Item(f"{m}/{c.dirname}", layout.score_record(m, c.dirname), item_key(m, c), (m, c),
                  inputs=settings_key(_inputs(layout, m, c)))
             for m in methods for c in clips if scorer.has_result(m, c)]
    plan = plan_items(items, force=force, complete=lambda item, _: scorer.score_path(*item.payload).is_file())
    say(plan.summary("clip"))
    todo = [item.payload for item in plan.todo]
    to_annotate = sorted({m for m, c in todo if has_annotations(c.annotation_dir)
                          and estimator.wanted(layout.clip_dir(m, c.dirname))})
    if estimator.unavailable and to_annotate:
        say(f"warning: the geometry rows of {', '.join(to_annotate)} that need annotation are NaN: "
            f"{estimator.unavailable}; get {estimator.install_hint}")
    short = _warn_short(scorer, todo, say)
    by_pair = {item.payload: item for item in plan.todo}

    def done(method: str, clip: TestClip) -> None:
        item = by_pair[(method, clip)]
        write_record(item.record, {"method": method, "clip_id": clip.clip_id}, item.key, item.inputs)

    scored = scorer.score_pairs(todo, advance=advance, on_scored=done)
    if distributional:
        for method in methods:
            scorer.distributional(method, all_clips)
    stats = {"scored": scored, "skipped": len(plan.done), "missing": len(methods) * len(clips) - len(items),
             "annotated": scorer.annotated, "rows": assemble(results, methods, all_clips, out),
             "skipped_backbones": skipped, "annotators": estimator.unavailable or "available",
             "padded_videos": short}
    atomic_write_json(layout.score_run, {"settings_key": key, "backbones": used, **stats})
    return stats
