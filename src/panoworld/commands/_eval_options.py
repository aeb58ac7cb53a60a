"""Options of ``panoworld eval`` (declared here so that ``commands/eval.py`` stays a thin parse-call-print module)."""

from __future__ import annotations

import typer

from ._options import output_dir, output_file

DEFAULT = "[default: {}; skipped with a warning when not installed]"

MASTER = typer.Option(..., "--master", exists=True, dir_okay=False, help="The test set's master.csv (relative "
                      "paths resolve against its folder).")
RESULTS = typer.Option(..., "--results", callback=output_dir, help="Results folder: "
                       "<results>/<method>/<split>__<clip>/video.mp4.")
METHODS = typer.Option(..., "--methods", help="Comma-separated method ids, e.g. oracle,static,panoworld (all ids: "
                       "`panoworld eval methods`).")
SPLITS = typer.Option(None, "--splits", help="Comma-separated splits to keep (default: all).")
SHARD = typer.Option(None, "--shard", help="Process only shard i of n (0-based), e.g. 0/4, for several GPUs (under "
                     "torchrun each process takes its share by itself).")
FORCE = typer.Option(False, "--force", help="Redo clips already done (needed when their settings changed).")
DEVICE = typer.Option("cpu", "--device", help="Torch device, e.g. cpu or cuda.")
RUNNER_CONFIG = typer.Option(None, "--runner-config", exists=True, dir_okay=False, help="TOML (or .json) with one "
                             "table per method, e.g. [argus] with its command template, or [panoworld] with weights "
                             "= MODEL_FOLDER (docs/eval.md).")
MODEL = typer.Option(None, "--model", help="PanoWorld model folder (model_index.json) or weights root for the "
                     "panoworld method, small (the small PanoWorld shipped with the package), or tiny-random "
                     "(random output, for smoke tests) (overrides [panoworld] "
                     "weights; default: the full weights under $PANOWORLD_WEIGHTS, else the small model shipped with "
                     "the package).")
SEED = typer.Option(0, "--seed", help="Seed passed to every method.")
OUT = typer.Option(None, "--out", callback=output_file, help="Long CSV to write (default "
                   "<results>/results_long.csv).")
FRAMES = typer.Option(80, "--frames", min=1, help="Frames on the evaluation clock (a shorter video is padded with "
                      "its last frame, with a warning).")
FPS = typer.Option(16.0, "--fps", min=0.001, help="Evaluation clock frame rate, frames per second.")
SOLID_ANGLE = typer.Option(True, "--solid-angle/--no-solid-angle", help="Also report solid-angle weighted ERP "
                           "metrics (and weight depth metrics by solid angle).")
VIEWS = typer.Option(True, "--views/--no-views", help="Also score 4 upright 90-degree yaw views.")
LPIPS = typer.Option(None, "--lpips", help="Folder with LPIPS AlexNet weights (alexnet-owt-*.pth + alex.pth), or "
                     "none " + DEFAULT.format("$PANOWORLD_WEIGHTS/eval/lpips"))
CLIP = typer.Option(None, "--clip", help="CLIP model (folder or hub id) for CLIP-T, or none " +
                    DEFAULT.format("laion/CLIP-ViT-B-32-laion2B-s34B-b79K"))
INCEPTION = typer.Option(None, "--inception", help="FID Inception weights (pytorch-fid pt_inception .pth) for "
                         "FID/OmniFID, or none " +
                         DEFAULT.format("$PANOWORLD_WEIGHTS/eval/pt_inception-2015-12-05-6726825d.pth"))
VIDEO_MODEL = typer.Option(None, "--video-model", help="VideoMAE model (folder or hub id) for FVD, or none " +
                           DEFAULT.format("MCG-NJU/videomae-base-finetuned-kinetics"))
AUTOENCODER = typer.Option(None, "--autoencoder", help="diffusers AutoencoderKL (folder or hub id) for fd_vae, "
                           "or none " + DEFAULT.format("stabilityai/sd-vae-ft-mse"))
MIN_BUCKET = typer.Option(8, "--min-bucket", min=2, help="Fewest clips for a Fréchet bucket (else NaN).")
FID_FRAMES = typer.Option(8, "--fid-frames", min=1, help="Frames per clip for FID and OmniFID.")
CAPTION_STYLE = typer.Option("medium", "--caption-style", help="Caption style for CLIP-T: long, medium or short "
                             "(falls back long -> medium -> short).")
STRATA = typer.Option(None, "--strata", exists=True, dir_okay=False, help="Optional strata.csv "
                      "(clip_id, scene_type, motion_kind).")
ANNOTATE = typer.Option("missing", "--annotate", help="Which methods' videos get depth, tracks and camera from "
                        "panoworld.annotate for the geometry metrics: missing (those that bring no annotations, or "
                        "no tracks or camera: their own depth is kept), all, or none (their geometry rows are NaN).")
DAP_WEIGHTS = typer.Option(None, "--dap-weights", dir_okay=False, help="DAP model.pth for --annotate "
                           "[default: $PANOWORLD_WEIGHTS/dap/model.pth; NaN geometry with a warning when absent].")
COTRACKER_WEIGHTS = typer.Option(None, "--cotracker-weights", dir_okay=False, help="CoTracker3 scaled_offline.pth "
                                 "for --annotate [default: $PANOWORLD_WEIGHTS/cotracker3/scaled_offline.pth].")
TINY_ANNOTATORS = typer.Option(False, "--tiny-random-annotators", help="Annotate with tiny random networks: FOR "
                               "TESTS AND TIMING ONLY, their geometry is meaningless.")
REPORT_IN = typer.Option(..., "--in", exists=True, dir_okay=False, help="Long CSV written by `panoworld eval run`.")
REPORT_OUT = typer.Option(..., "--out", callback=output_dir, help="Folder for summary CSVs, report.md, report.tex "
                          "and charts/ (one PNG per metric family).")
REPORT_METHODS = typer.Option(None, "--methods", help="Comma-separated methods and their order (default: all, the "
                              "compared methods first, then oracle / static / fov-only / degradations).")
CHARTS = typer.Option(True, "--charts/--no-charts", help="Draw the chart PNGs (Pillow).")
