"""``panoworld eval``: generate methods' outputs (infer), score them (run), tabulate (report), list methods; the
drift report of one long video (extension, ``commands/eval_extension.py``)."""

from __future__ import annotations

from pathlib import Path

import typer

from . import _eval_options as o
from ._common import parse_list, parse_shard, progress_bar, raise_failures, say, take_shard
from ._options import new_app
from .eval_extension import extension

app = new_app("Evaluate methods on a test set (master.csv): infer -> run -> report. Results live in "
              "<results>/<method>/<split>__<clip>/video.mp4; see docs/eval.md. `eval extension` scores one long video.")


@app.command()
def methods() -> None:
    """List the method ids (with what each is) for --methods."""
    from panoworld.eval.runners import get_method, method_ids

    for name in method_ids():
        typer.echo(f"{name:20s} {get_method(name).description}")


@app.command()
def infer(master: Path = o.MASTER, results: Path = o.RESULTS, methods: str = o.METHODS, splits: str = o.SPLITS,
          shard: str = o.SHARD, device: str = o.DEVICE, force: bool = o.FORCE, runner_config: Path = o.RUNNER_CONFIG,
          model: str = o.MODEL, seed: int = o.SEED) -> None:
    """Produce each method's video for every clip (finished clips are skipped; failures get failed.json)."""
    from panoworld.eval.runners import check_method_ids

    names, shard_index = parse_list(methods) or [], parse_shard(shard)
    check_method_ids(names)
    from panoworld.eval.infer import infer_methods, read_runner_config
    from panoworld.formats.testset import read_master

    config = read_runner_config(runner_config)
    if model is not None:
        config["panoworld"] = {**config.get("panoworld", {}), "weights": model}
    from panoworld.parallel.sharding import job_share

    share, device = job_share(shard_index, device)  # under torchrun: this process's share, one summary
    ranks = share if share != tuple(shard_index) else None
    clips = take_shard(read_master(master, splits=parse_list(splits)), *(shard_index if ranks is None else (0, 1)))
    with progress_bar("generating", len(clips) * len(names)) as advance:
        report = infer_methods(clips, results, names, runner_config=config, seed=seed, device=device, force=force,
                               advance=advance, say=say, shard=ranks)
    say(f"{len(report.done)} clip(s) generated, {len(report.skipped)} already done")
    raise_failures(report.failed, "failed.json beside each")


@app.command()
def run(master: Path = o.MASTER, results: Path = o.RESULTS, methods: str = o.METHODS, splits: str = o.SPLITS,
        shard: str = o.SHARD, force: bool = o.FORCE, device: str = o.DEVICE, out: Path = o.OUT,
        frames: int = o.FRAMES, fps: float = o.FPS, solid_angle: bool = o.SOLID_ANGLE, views: bool = o.VIEWS,
        lpips: str = o.LPIPS, clip: str = o.CLIP, inception: str = o.INCEPTION, video_model: str = o.VIDEO_MODEL,
        autoencoder: str = o.AUTOENCODER, min_bucket: int = o.MIN_BUCKET, fid_frames: int = o.FID_FRAMES,
        caption_style: str = o.CAPTION_STYLE, strata: Path = o.STRATA, annotate: str = o.ANNOTATE,
        dap_weights: Path = o.DAP_WEIGHTS, cotracker_weights: Path = o.COTRACKER_WEIGHTS,
        tiny_random_annotators: bool = o.TINY_ANNOTATORS) -> None:
    """Score results into a long CSV; idempotent (a clip's rows are replaced) and resumable. Methods without
    annotations are annotated (depth, tracks, camera) for the geometry metrics, cached beside their video."""
    from panoworld.eval.runners import check_method_ids

    names, shard_index = parse_list(methods) or [], parse_shard(shard)
    check_method_ids(names)
    from panoworld.eval.estimate import EstimateSettings

    estimate = EstimateSettings(mode=annotate, dap_weights=dap_weights, cotracker_weights=cotracker_weights,
                                tiny_random=tiny_random_annotators).validate()
    from panoworld.eval.align import AlignConfig
    from panoworld.eval.evaluate import evaluate
    from panoworld.eval.score import ScoreConfig
    from panoworld.formats.results import ResultsLayout
    from panoworld.formats.testset import read_master

    from panoworld.parallel.sharding import barrier, job_share

    share, device = job_share(shard_index, device)
    all_clips = read_master(master, caption_style=caption_style, strata=strata, splits=parse_list(splits))
    cfg = ScoreConfig(align=AlignConfig(frames, fps), solid_angle=solid_angle, views=views, fid_frames=fid_frames,
                      min_bucket=min_bucket, device=device)
    sources = {"lpips": lpips, "clip": clip, "inception": inception, "video": video_model, "autoencoder": autoencoder}
    target = out or ResultsLayout(results).long_csv

    def score(part: tuple[int, int], again: bool, distributional: bool) -> dict:
        with progress_bar("scoring", None) as advance:
            return evaluate(results, names, take_shard(all_clips, *part), all_clips, cfg, sources=sources,
                            caption_style=caption_style, out=target, force=again, distributional=distributional,
                            estimate=estimate, advance=advance, say=say)

    if share != tuple(shard_index):  # torchrun: each process scores its share, then rank 0 adds what needs them all
        score(share, force, False)
        barrier()
        if share[0]:
            return
        shard_index, shard, force = (0, 1), None, False
    stats = score(shard_index, force, not shard)
    skipped = ", ".join(f"{n} ({why})" for n, why in stats["skipped_backbones"].items())
    say(f"scored {stats['scored']} (annotated {stats['annotated']}), already scored {stats['skipped']}, without "
        f"result {stats['missing']}; {stats['rows']} rows in {target}" +
        (f"; networks left out: {skipped}" if skipped else ""))


@app.command()
def report(inp: Path = o.REPORT_IN, out: Path = o.REPORT_OUT, methods: str = o.REPORT_METHODS,
           charts: bool = o.CHARTS) -> None:
    """Tables by split / scene type / motion kind (CSV, Markdown, LaTeX) with 95 % CIs, plus a chart per family."""
    from panoworld.eval.report import write_report

    result = write_report(inp, out, methods=parse_list(methods), charts=charts)
    say(f"wrote {len(result['files'])} file(s) to {out}")


app.command("extension")(extension)
