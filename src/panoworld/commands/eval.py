"""``panoworld eval``: generate baselines' outputs (infer), score them (run), and tabulate (report)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from panoworld.errors import InputError
from panoworld.weights import weights_root

from ._common import console, parse_shard, progress_bar, take_shard

app = typer.Typer(
    help="Evaluate methods on a test set (master.csv): infer -> run -> report. Results live in "
    "<results>/<method>/<split>__<clip>/video.mp4; see docs/eval.md.",
    no_args_is_help=True,
)

WEIGHTS = weights_root()
MASTER = typer.Option(..., "--master", help="The test set's master.csv (relative paths resolve against its folder).")
RESULTS = typer.Option(..., "--results", help="Results folder: <results>/<method>/<split>__<clip>/video.mp4.")
METHODS = typer.Option(..., "--methods", help="Comma-separated method ids, e.g. oracle,static,panoworld.")
SPLITS = typer.Option(None, "--splits", help="Comma-separated splits to keep (default: all).")
SHARD = typer.Option(None, "--shard", help="Process only shard i of n (0-based), e.g. 0/4, for several GPUs.")
FORCE = typer.Option(False, "--force", help="Redo clips that are already done (their rows are replaced).")
DEVICE = typer.Option("cpu", "--device", help="Torch device, e.g. cpu or cuda.")
STYLE = typer.Option("medium", "--caption-style", help="Caption style for CLIP-T: long, medium or short "
                     "(falls back long -> medium -> short).")
STRATA = typer.Option(None, "--strata", help="Optional strata.csv (clip_id, scene_type, motion_kind).")


def _list(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _runner_config(path: Path | None) -> dict:
    if path is None:
        return {}
    if not path.is_file():
        raise InputError(f"runner config not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"runner config {path} is not valid JSON: {exc}") from None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"runner config {path} is not valid TOML: {exc}") from None


@app.command()
def infer(
    master: Path = MASTER,
    results: Path = RESULTS,
    methods: str = METHODS,
    runner_config: Path = typer.Option(None, "--runner-config", help="TOML (or .json) with one [method] table per "
                                       "external method: command template and its placeholders (docs/eval.md)."),
    splits: str = SPLITS,
    shard: str = SHARD,
    seed: int = typer.Option(0, "--seed", help="Seed passed to every method."),
    device: str = DEVICE,
    force: bool = FORCE,
) -> None:
    """Produce each method's video for every clip (skips finished clips: method-run record present)."""
    from panoworld.eval.runners import RunRequest, get_method, run_method
    from panoworld.eval.runners._command import check_command_config
    from panoworld.formats.results import ResultsLayout, method_run_complete, result_dir, write_method_error
    from panoworld.formats.testset import read_master

    clips = take_shard(read_master(master, splits=_list(splits)), *parse_shard(shard))
    specs = [get_method(m) for m in _list(methods) or []]
    config = _runner_config(runner_config)
    for spec in specs:
        check_command_config(spec, config.get(spec.name, {}))
    todo = [(s, c) for s in specs for c in clips if force or not method_run_complete(result_dir(results, s.name, c))]
    failed: list[str] = []
    with progress_bar("generating", len(todo)) as advance:
        for spec, clip in todo:
            out = result_dir(results, spec.name, clip)
            work = ResultsLayout(results).work_dir(spec.name, clip.dirname)
            request = RunRequest(clip=clip, out_dir=out, work_dir=work,
                                 spec=spec, config=config.get(spec.name, {}), device=device, seed=seed)
            try:
                run_method(spec, request)
            except InputError as exc:  # a failing clip does not stop the batch; the reason is kept beside it
                failed.append(f"{spec.name}/{clip.dirname}: {exc}")
                write_method_error(out, str(exc))
            advance(1)
    console.print(f"{len(todo) - len(failed)} clip(s) generated, {len(specs) * len(clips) - len(todo)} already done")
    if failed:
        raise InputError(f"{len(failed)} clip(s) failed (reasons in error.txt beside each); first: {failed[0]}")


@app.command()
def run(
    master: Path = MASTER,
    results: Path = RESULTS,
    methods: str = METHODS,
    out: Path = typer.Option(None, "--out", help="Long CSV to write (default <results>/results_long.csv)."),
    splits: str = SPLITS,
    shard: str = SHARD,
    force: bool = FORCE,
    device: str = DEVICE,
    frames: int = typer.Option(80, "--frames", min=1, help="Frames on the evaluation clock."),
    fps: float = typer.Option(16.0, "--fps", help="Frame rate of the evaluation clock, frames per second."),
    solid_angle: bool = typer.Option(True, "--solid-angle/--no-solid-angle", help="Also report solid-angle "
                                     "weighted ERP metrics (and weight depth metrics by solid angle)."),
    views: bool = typer.Option(True, "--views/--no-views", help="Also score 4 upright 90-degree yaw views."),
    lpips: str = typer.Option(str(WEIGHTS / "eval" / "lpips"), "--lpips", help="Folder with LPIPS AlexNet "
                              "weights (alexnet-owt-*.pth + alex.pth), or none."),
    clip: str = typer.Option("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "--clip", help="CLIP model (folder or hub "
                             "id) for CLIP-T, or none."),
    inception: str = typer.Option(str(WEIGHTS / "eval" / "pt_inception-2015-12-05-6726825d.pth"), "--inception",
                                  help="FID Inception weights (pytorch-fid pt_inception .pth) for FID/OmniFID, "
                                  "or none."),
    video_model: str = typer.Option("MCG-NJU/videomae-base-finetuned-kinetics", "--video-model",
                                    help="VideoMAE model (folder or hub id) for FVD, or none."),
    autoencoder: str = typer.Option("stabilityai/sd-vae-ft-mse", "--autoencoder", help="diffusers AutoencoderKL "
                                    "(folder or hub id) for fd_vae (a FAED-style latent distance), or none."),
    min_bucket: int = typer.Option(8, "--min-bucket", min=2, help="Fewest clips for a Fréchet bucket (else NaN)."),
    fid_frames: int = typer.Option(8, "--fid-frames", min=1, help="Frames per clip for FID and OmniFID."),
    caption_style: str = STYLE,
    strata: Path = STRATA,
) -> None:
    """Score results into a long CSV; idempotent (a clip's rows are replaced) and resumable."""
    from panoworld.eval.align import AlignConfig
    from panoworld.eval.backbones import load_backbones
    from panoworld.eval.score import ScoreConfig, Scorer, assemble
    from panoworld.formats.results import ResultsLayout
    from panoworld.formats.testset import read_master

    all_clips = read_master(master, caption_style=caption_style, strata=strata, splits=_list(splits))
    method_list = _list(methods) or []
    cfg = ScoreConfig(align=AlignConfig(frames, fps), solid_angle=solid_angle, views=views, fid_frames=fid_frames,
                      min_bucket=min_bucket, device=device)
    bb = load_backbones(lpips=lpips, clip=clip, inception=inception, video=video_model, autoencoder=autoencoder,
                        device=device)
    scorer = Scorer(results, bb, cfg)
    clips = take_shard(all_clips, *parse_shard(shard))
    total = sum(1 for m in method_list for c in clips if scorer.has_result(m, c))
    with progress_bar("scoring", total) as advance:
        advance(0)
        stats = scorer.score_all(method_list, clips, force=force, advance=advance)
    if not shard:
        for m in method_list:
            scorer.distributional(m, all_clips)
    target = out or ResultsLayout(results).long_csv
    n = assemble(results, method_list, all_clips, target)
    console.print(f"scored {stats['scored']}, already scored {stats['skipped']}, without result {stats['missing']}; "
                  f"{n} rows in {target}")


@app.command()
def report(
    inp: Path = typer.Option(..., "--in", help="Long CSV written by `panoworld eval run`."),
    out: Path = typer.Option(..., "--out", help="Folder for summary CSVs, report.md, report.tex and charts/."),
    methods: str = typer.Option(None, "--methods", help="Comma-separated methods and their order (default: all)."),
    charts: bool = typer.Option(True, "--charts/--no-charts", help="Draw bar-chart PNGs (Pillow)."),
) -> None:
    """Tables by split / scene type / motion kind (CSV, Markdown, LaTeX) with 95 % CIs, plus bar charts."""
    from panoworld.eval.report import write_report

    result = write_report(inp, out, methods=_list(methods), charts=charts)
    console.print(f"wrote {len(result['files'])} file(s) to {out}")
