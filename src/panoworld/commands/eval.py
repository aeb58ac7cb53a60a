"""``panoworld eval``: generate methods' outputs (infer), score them (run), tabulate (report), list methods."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import parse_list, parse_shard, progress_bar, raise_failures, say, take_shard
from ._options import new_app, output_dir, output_file

app = new_app("Evaluate methods on a test set (master.csv): infer -> run -> report. Results live in "
              "<results>/<method>/<split>__<clip>/video.mp4; see docs/eval.md.")

MASTER = typer.Option(..., "--master", exists=True, dir_okay=False, help="The test set's master.csv (relative "
                      "paths resolve against its folder).")
RESULTS = typer.Option(..., "--results", callback=output_dir, help="Results folder: "
                       "<results>/<method>/<split>__<clip>/video.mp4.")
METHODS = typer.Option(..., "--methods", help="Comma-separated method ids, e.g. oracle,static,panoworld (all ids: "
                       "`panoworld eval methods`).")
SPLITS = typer.Option(None, "--splits", help="Comma-separated splits to keep (default: all).")
SHARD = typer.Option(None, "--shard", help="Process only shard i of n (0-based), e.g. 0/4, for several GPUs.")
FORCE = typer.Option(False, "--force", help="Redo clips already done (needed when their settings changed).")
DEVICE = typer.Option("cpu", "--device", help="Torch device, e.g. cpu or cuda.")
DEFAULT = "[default: {}; skipped with a warning when not installed]"


@app.command()
def methods() -> None:
    """List the method ids (with what each is) for --methods."""
    from panoworld.eval.runners import get_method, method_ids

    for name in method_ids():
        typer.echo(f"{name:20s} {get_method(name).description}")


@app.command()
def infer(master: Path = MASTER, results: Path = RESULTS, methods: str = METHODS, splits: str = SPLITS,
          shard: str = SHARD, device: str = DEVICE, force: bool = FORCE,
          runner_config: Path = typer.Option(None, "--runner-config", exists=True, dir_okay=False,
                                             help="TOML (or .json) with one table per method, e.g. [argus] with "
                                             "its command template, or [panoworld] with weights = MODEL_FOLDER "
                                             "(docs/eval.md)."),
          seed: int = typer.Option(0, "--seed", help="Seed passed to every method.")) -> None:
    """Produce each method's video for every clip (finished clips are skipped; failures get failed.json)."""
    from panoworld.eval.runners import check_method_ids

    names, shard_index = parse_list(methods) or [], parse_shard(shard)
    check_method_ids(names)
    from panoworld.eval.infer import infer_methods, read_runner_config
    from panoworld.formats.testset import read_master

    clips = take_shard(read_master(master, splits=parse_list(splits)), *shard_index)
    with progress_bar("generating", len(clips) * len(names)) as advance:
        report = infer_methods(clips, results, names, runner_config=read_runner_config(runner_config), seed=seed,
                               device=device, force=force, advance=advance, say=say)
    say(f"{len(report.done)} clip(s) generated, {len(report.skipped)} already done")
    raise_failures(report.failed, "failed.json beside each")


@app.command()
def run(master: Path = MASTER, results: Path = RESULTS, methods: str = METHODS, splits: str = SPLITS,
        shard: str = SHARD, force: bool = FORCE, device: str = DEVICE,
        out: Path = typer.Option(None, "--out", callback=output_file, help="Long CSV to write (default "
                                 "<results>/results_long.csv)."),
        frames: int = typer.Option(80, "--frames", min=1, help="Frames on the evaluation clock."),
        fps: float = typer.Option(16.0, "--fps", min=0.001, help="Evaluation clock frame rate, frames per second."),
        solid_angle: bool = typer.Option(True, "--solid-angle/--no-solid-angle", help="Also report solid-angle "
                                         "weighted ERP metrics (and weight depth metrics by solid angle)."),
        views: bool = typer.Option(True, "--views/--no-views", help="Also score 4 upright 90-degree yaw views."),
        lpips: str = typer.Option(None, "--lpips", help="Folder with LPIPS AlexNet weights (alexnet-owt-*.pth + "
                                  "alex.pth), or none " + DEFAULT.format("$PANOWORLD_WEIGHTS/eval/lpips")),
        clip: str = typer.Option(None, "--clip", help="CLIP model (folder or hub id) for CLIP-T, or none " +
                                 DEFAULT.format("laion/CLIP-ViT-B-32-laion2B-s34B-b79K")),
        inception: str = typer.Option(None, "--inception", help="FID Inception weights (pytorch-fid pt_inception "
                                      ".pth) for FID/OmniFID, or none " +
                                      DEFAULT.format("$PANOWORLD_WEIGHTS/eval/pt_inception-2015-12-05-6726825d.pth")),
        video_model: str = typer.Option(None, "--video-model", help="VideoMAE model (folder or hub id) for FVD, or "
                                        "none " + DEFAULT.format("MCG-NJU/videomae-base-finetuned-kinetics")),
        autoencoder: str = typer.Option(None, "--autoencoder", help="diffusers AutoencoderKL (folder or hub id) "
                                        "for fd_vae, or none " + DEFAULT.format("stabilityai/sd-vae-ft-mse")),
        min_bucket: int = typer.Option(8, "--min-bucket", min=2, help="Fewest clips for a Fréchet bucket (else NaN)."),
        fid_frames: int = typer.Option(8, "--fid-frames", min=1, help="Frames per clip for FID and OmniFID."),
        caption_style: str = typer.Option("medium", "--caption-style", help="Caption style for CLIP-T: long, "
                                          "medium or short (falls back long -> medium -> short)."),
        strata: Path = typer.Option(None, "--strata", exists=True, dir_okay=False, help="Optional strata.csv "
                                    "(clip_id, scene_type, motion_kind).")) -> None:
    """Score results into a long CSV; idempotent (a clip's rows are replaced) and resumable."""
    from panoworld.eval.runners import check_method_ids

    names, shard_index = parse_list(methods) or [], parse_shard(shard)
    check_method_ids(names)
    from panoworld.eval.align import AlignConfig
    from panoworld.eval.evaluate import evaluate
    from panoworld.eval.score import ScoreConfig
    from panoworld.formats.results import ResultsLayout
    from panoworld.formats.testset import read_master

    all_clips = read_master(master, caption_style=caption_style, strata=strata, splits=parse_list(splits))
    cfg = ScoreConfig(align=AlignConfig(frames, fps), solid_angle=solid_angle, views=views, fid_frames=fid_frames,
                      min_bucket=min_bucket, device=device)
    sources = {"lpips": lpips, "clip": clip, "inception": inception, "video": video_model, "autoencoder": autoencoder}
    target = out or ResultsLayout(results).long_csv
    with progress_bar("scoring", None) as advance:
        stats = evaluate(results, names, take_shard(all_clips, *shard_index), all_clips, cfg, sources=sources,
                         caption_style=caption_style, out=target, force=force, distributional=not shard,
                         advance=advance, say=say)
    skipped = ", ".join(f"{n} ({why})" for n, why in stats["skipped_backbones"].items())
    say(f"scored {stats['scored']}, already scored {stats['skipped']}, without result {stats['missing']}; "
        f"{stats['rows']} rows in {target}" + (f"; networks left out: {skipped}" if skipped else ""))


@app.command()
def report(inp: Path = typer.Option(..., "--in", exists=True, dir_okay=False, help="Long CSV written by "
                                    "`panoworld eval run`."),
           out: Path = typer.Option(..., "--out", callback=output_dir, help="Folder for summary CSVs, report.md, "
                                    "report.tex and charts/."),
           methods: str = typer.Option(None, "--methods", help="Comma-separated methods and their order (default: "
                                       "all)."),
           charts: bool = typer.Option(True, "--charts/--no-charts", help="Draw bar-chart PNGs (Pillow).")) -> None:
    """Tables by split / scene type / motion kind (CSV, Markdown, LaTeX) with 95 % CIs, plus bar charts."""
    from panoworld.eval.report import write_report

    result = write_report(inp, out, methods=parse_list(methods), charts=charts)
    say(f"wrote {len(result['files'])} file(s) to {out}")
