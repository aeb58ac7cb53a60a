"""Benchmark (P6): score a 150-clip test set with every metric, including the annotation of the generated videos.

Writes a synthetic test set (``--distinct`` different 5-s clips, GT 20 frames at 4 fps, 512x1024, exact metric
depth, 30x30 tracks, visibility, 3-D tracks and poses; the other clips are hard links to these files) and a stand-in
generated method (``generated``: a 93-frame 16-fps 512x1024 video per clip and no annotations, like every
generator), then times ``panoworld.eval`` scoring of ``generated`` over every clip with cold caches, exactly as
``panoworld eval run`` does it: per clip the evaluation clock (80 frames @ 16 fps, decoded in a prefetch thread),
PSNR / SSIM / LPIPS on the ERP, 4 views and the poles, CLIP-T, the seam and temporal metrics, the features of
FVD / FID / OmniFID / fd_vae for the prediction and the GT, the annotation of the generated video
(``panoworld.annotate``: DAP depth + CoTracker3 tracks on the clock frames at the GT's 20 annotation times, queried
at the GT's 900 points, lifting, camera motion, static flags; written to its cache folder), and the depth / track /
camera / consistency / warping metrics; then the Fréchet rows of every bucket. Networks are full size with random
weights (timing does not depend on the weight values): LPIPS-AlexNet, CLIP ViT-B/32, FID Inception-v3,
VideoMAE-Base, SD-VAE-sized AutoencoderKL (when diffusers is installed), DAP ViT-L/16 + DPT heads, CoTracker3.

The whole run ends by ``--deadline-s`` (default 420 s, counted once the imports are done): scoring stops taking
clips when the next one would not end ``--reserve-s`` before it (kept for the Fréchet rows and comparison); clips
left are extrapolated from the measured seconds per clip and the output says so. The comparison measured in the same run:
our eigenvalue Fréchet distance vs the reference's ``scipy.linalg.sqrtm`` (left out where scipy is absent).

Needs PyAV (``av``) to write and read the videos; diffusers only for the fd_vae network (skipped without it); no
scipy. On the GPU image (Python 3.12, torch 2.11, no PyAV, no diffusers) carry their wheels (device README)::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/av-*.whl .whl/diffusers-*.whl \\
        && PYTHONPATH=/tmp/site python3 bench/eval.py --device cuda --workdir /tmp/evalbench --out-md bench_eval.md
    python bench/eval.py --device cpu --clips 3 --height 64 --grid 8   # CPU smoke test (tiny networks)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from _common import Budget, append_markdown, is_cuda, machine_name, sync  # bench/ (and src/) on sys.path

from panoworld.eval.align import AlignConfig
from panoworld.eval.backbones import Backbones
from panoworld.eval.estimate import EstimateSettings, Estimator
from panoworld.eval.metrics import fit_gaussian, frechet_distance
from panoworld.eval.score import ScoreConfig, Scorer
from panoworld.formats.annotations import AnnotationWriter, is_complete
from panoworld.formats.results import ResultsLayout
from panoworld.formats.run_records import MethodRunRecord, write_method_run
from panoworld.formats.testset import TestSetLayout, make_clip_id, read_master, write_master
from panoworld.io import write_video
from panoworld.sphere import erp_directions, lonlat_to_direction, pixel_to_lonlat, query_grid, rotation_matrix

GT_FRAMES, GT_FPS = 20, 4.0
GEN_FRAMES, GEN_FPS = 93, 16.0
METHOD = "generated"


def world(h: int, w: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(3, H, W) colour texture and (H, W) depth in metres, smooth on the sphere."""
    x, y, z = erp_directions(h, w, dtype=torch.float32).unbind(-1)
    r = 0.5 + 0.25 * torch.sin(25 * x + 10 * y + seed) + 0.2 * torch.cos(35 * z - 15 * x)
    g = 0.5 + 0.3 * torch.sin(20 * y * z + 30 * x + seed)
    b = 0.5 + 0.3 * torch.cos(15 * x * y + 25 * z) * torch.sin(10 * y)
    depth = 3.0 + 1.5 * torch.sin(3 * x + seed) * torch.cos(2 * z) + 0.5 * y
    return torch.stack([r, g, b]).clamp(0, 1), depth


def _write_gt_clip(layout: TestSetLayout, name: str, h: int, seed: int, grid: int) -> None:
    """One GT clip: a textured world turning right by one column per frame, with exact annotations."""
    w = 2 * h
    tex, d0 = world(h, w, seed)
    write_video(layout.path(layout.video(name)), torch.stack([torch.roll(tex, -t, dims=-1) for t in range(GT_FRAMES)]),
                GT_FPS)
    q = query_grid(h, w, grid, dtype=torch.float64)
    x0, y0 = q[:, 0].numpy(), q[:, 1].numpy()
    rays = lonlat_to_direction(pixel_to_lonlat(q[:, 0], q[:, 1], h, w))
    rng = d0[q[:, 1].round().long(), q[:, 0].round().long()].double()[:, None]
    c2w = np.tile(np.eye(4), (GT_FRAMES, 1, 1))
    for t in range(GT_FRAMES):
        c2w[t, :3, :3] = rotation_matrix(yaw=360.0 * t / w, dtype=torch.float64).numpy()
    rot = c2w[:, :3, :3].transpose(0, 2, 1)  # frame-0 camera -> frame-t camera: P_t = R P_0 (+ 0)
    with AnnotationWriter(layout.path(layout.annotations("bench", name))) as writer:
        for t in range(GT_FRAMES):
            writer.depth(t, torch.roll(d0, -t, dims=-1).numpy())
        writer.put(tracks_2d=np.stack([np.stack([(x0 - t) % w for t in range(GT_FRAMES)], 1),
                                       np.repeat(y0[:, None], GT_FRAMES, 1)], -1),
                   visibility=np.ones((len(x0), GT_FRAMES)), query_points=q.numpy(),
                   tracks_3d=np.repeat((rays * rng).numpy()[:, None], GT_FRAMES, 1),
                   tracks_3d_raw=np.repeat((rays * rng).numpy()[:, None], GT_FRAMES, 1),
                   track_is_static=np.ones(len(x0)), sky_mask=np.zeros((GT_FRAMES, h, w), bool),
                   camera_poses=np.concatenate([rot.reshape(-1, 9), np.zeros((GT_FRAMES, 3))], 1),
                   camera_c2w=c2w, frame_indices=np.arange(GT_FRAMES))
        writer.commit({"video_resolution": [w, h], "n_frames": GT_FRAMES, "n_tracks": len(x0),
                       "frame_times_s": [t / GT_FPS for t in range(GT_FRAMES)]})


def _link(src: Path, dst: Path) -> None:
    """Hard-link a file or every file of a folder (copy where links are not possible)."""
    if src.is_dir():
        for f in src.rglob("*"):
            if f.is_file():
                _link(f, dst / f.relative_to(src))
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)


def write_split(root: Path, n_clips: int, distinct: int, h: int, grid: int = 30) -> Path:
    """The bench's test set (master.csv + videos + annotations); clip i shares the files of clip i % distinct."""
    layout, rows = TestSetLayout(root), []
    for i in range(n_clips):
        name, base = f"clip{i:03d}", f"clip{i % distinct:03d}"
        ann = layout.path(layout.annotations("bench", name))
        if not is_complete(ann) or not layout.path(layout.video(name)).is_file():
            if i < distinct:
                _write_gt_clip(layout, name, h, i, grid)
            else:
                _link(layout.path(layout.video(base)), layout.path(layout.video(name)))
                _link(layout.path(layout.annotations("bench", base)), ann)
        rows.append({"clip_id": make_clip_id("bench", name), "split": "bench", "video_path": layout.video(name),
                     "annotation_dir": layout.annotations("bench", name), "n_frames": GT_FRAMES, "fps": GT_FPS,
                     "resolution": f"{2 * h}x{h}", "is_static": 0, "trajectory_kind": "rotate",
                     "scene_kind": ["indoor", "outdoor"][i % 2]})
    return write_master(layout.master, rows)


def write_generated(results: Path, clips, distinct: int, h: int) -> None:
    """The stand-in generated method: a 93-frame 16-fps video turning left per clip, no annotations."""
    layout = ResultsLayout(results)
    for i, clip in enumerate(clips):
        folder = layout.clip_dir(METHOD, clip.dirname)
        if (folder / "method_run.json").is_file():
            continue
        source = layout.video(METHOD, clips[i % distinct].dirname)
        if i < distinct:
            tex, _ = world(h, 2 * h, 100 + i)
            write_video(source, torch.stack([torch.roll(tex, t // 2, dims=-1) for t in range(GEN_FRAMES)]), GEN_FPS)
        else:
            _link(source, layout.video(METHOD, clip.dirname))
        write_method_run(folder, MethodRunRecord(method=METHOD, clip_id=clip.clip_id, input_kind="perspective",
                                                 native_fps=GEN_FPS, container_fps=GEN_FPS, size=[h, 2 * h],
                                                 num_frames=GEN_FRAMES, seconds=0.0))


class _Tok:
    def __call__(self, texts, padding=True, truncation=True, max_length=77, return_tensors="pt"):
        ids = [[49406] + [1000 + sum(map(ord, t_)) % 40000 for t_ in t.split()][: max_length - 2] + [49407]
               for t in texts]
        n = max(map(len, ids))
        return {"input_ids": torch.tensor([i + [0] * (n - len(i)) for i in ids]),
                "attention_mask": torch.tensor([[1] * len(i) + [0] * (n - len(i)) for i in ids])}


def backbones(kind: str, device: str) -> Backbones:
    """Full-size (or tiny) evaluation networks with random weights."""
    if kind == "none":
        return Backbones()
    from transformers import CLIPConfig, CLIPModel, VideoMAEConfig, VideoMAEModel

    from panoworld.eval.backbones.clip import ClipBackbone
    from panoworld.eval.backbones.inception import FIDInception
    from panoworld.eval.backbones.lpips import LPIPSNet
    from panoworld.eval.backbones.video import VideoBackbone

    torch.manual_seed(0)
    tiny = kind == "tiny"
    text = dict(vocab_size=49408, hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4,
                max_position_embeddings=77)
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                  num_attention_heads=4)
    clip = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16) if tiny else CLIPConfig())
    video = VideoMAEModel(VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=32,
                                         num_hidden_layers=1, num_attention_heads=4, intermediate_size=37)
                          if tiny else VideoMAEConfig())
    autoencoder = None
    try:  # SD-VAE-sized AutoencoderKL for fd_vae (diffusers is optional)
        from diffusers import AutoencoderKL

        from panoworld.eval.backbones.autoencoder import AutoencoderBackbone

        blocks = (8,) if tiny else (128, 256, 512, 512)
        vae = AutoencoderKL(block_out_channels=blocks, down_block_types=("DownEncoderBlock2D",) * len(blocks),
                            up_block_types=("UpDecoderBlock2D",) * len(blocks), latent_channels=4,
                            layers_per_block=1 if tiny else 2, norm_num_groups=4 if tiny else 32)
        autoencoder = AutoencoderBackbone(vae, size=16, pool=2) if tiny else AutoencoderBackbone(vae)
        autoencoder = autoencoder.to(device)
    except ImportError:
        pass
    return Backbones(
        lpips=LPIPSNet(width_mult=0.25 if tiny else 1.0).eval().to(device),
        clip=ClipBackbone(clip, _Tok()).to(device),
        inception=(FIDInception(width=1 / 16, input_size=75) if tiny else FIDInception()).eval().to(device),
        video=VideoBackbone(video).to(device),
        autoencoder=autoencoder,
    )


def annotators(kind: str, device: str):
    """(DAP, CoTracker3) with random weights: full size or tiny."""
    from panoworld.annotate.cotracker import CoTracker3Offline, CoTrackerConfig
    from panoworld.annotate.dap import DAPConfig, DAPModel

    torch.manual_seed(0)
    tiny = kind == "tiny"
    dap = DAPModel(DAPConfig.tiny() if tiny else DAPConfig())
    tracker = CoTracker3Offline(CoTrackerConfig.tiny() if tiny else CoTrackerConfig())
    return dap.to(device).eval(), tracker.to(device).eval()


class TimedEstimator(Estimator):
    """The scorer's estimator, also summing the seconds spent annotating."""

    seconds = 0.0

    def annotations(self, *args, **kwargs):
        sync(self.device)
        start = time.perf_counter()
        try:
            return super().annotations(*args, **kwargs)
        finally:
            sync(self.device)
            self.seconds += time.perf_counter() - start


def frechet_comparison(dim: int = 2048, n: int = 1200) -> dict:
    """Our eigenvalue Fréchet distance vs the reference's ``scipy.linalg.sqrtm`` on the same random features
    (the scipy side is left out, and said so, where scipy is not installed)."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(n, dim)), rng.normal(size=(n, dim)) * 1.1 + 0.1
    (ma, ca), (mb, cb) = fit_gaussian(a), fit_gaussian(b)
    t0 = time.perf_counter()
    ours = frechet_distance(ma, ca, mb, cb)
    out = {"ours_s": time.perf_counter() - t0, "ours": ours, "scipy_sqrtm_s": None, "scipy": None}
    try:
        import scipy.linalg
    except ImportError:
        return out
    t1 = time.perf_counter()
    covmean = scipy.linalg.sqrtm(ca @ cb)
    out["scipy"] = float(((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * covmean.real))
    out["scipy_sqrtm_s"] = time.perf_counter() - t1
    return out


def _frechet_line(fd: dict, dim: int) -> str:
    if fd["scipy"] is None:
        return f"| Fréchet {dim}-d: ours (scipy not installed: no sqrtm comparison) | {fd['ours_s']:.3f} s |"
    rel = abs(fd["ours"] - fd["scipy"]) / max(abs(fd["scipy"]), 1e-12)
    return (f"| Fréchet {dim}-d: ours / scipy sqrtm | {fd['ours_s']:.3f} s / {fd['scipy_sqrtm_s']:.3f} s "
            f"({fd['scipy_sqrtm_s'] / max(fd['ours_s'], 1e-9):.1f}x), values equal to {rel:.1e} relative |")


def _cold(results: Path, clip) -> None:
    """Forget what scoring ``clip`` left behind (scores, features, the cached annotation)."""
    layout = ResultsLayout(results)
    shutil.rmtree(layout.estimated(METHOD, clip.dirname), ignore_errors=True)
    layout.scores(METHOD, clip.dirname).unlink(missing_ok=True)
    for f in layout.features.glob(f"*/*/{clip.dirname}.*"):
        f.unlink()


def _score_within(scorer: Scorer, clips, budget: Budget, reserve_s: float, first_guess_s: float) -> int:
    """Score clips in order while the next one is predicted to end ``reserve_s`` before the deadline; returns the
    number scored. Chunks of up to 10 keep the decoding prefetch busy between checks."""
    scored, per_clip, start = 0, first_guess_s, time.perf_counter()
    while scored < len(clips):
        fit = int((budget.left() - reserve_s) // max(per_clip, 1e-3))
        if fit < 1:
            break
        chunk = clips[scored : scored + min(10, fit)]
        scorer.score_pairs([(METHOD, c) for c in chunk])
        scored += len(chunk)
        per_clip = (time.perf_counter() - start) / scored
    return scored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cuda (the benchmark) or cpu (smoke test)")
    ap.add_argument("--workdir", default="bench_eval_work", help="folder for the test set and results (the test set "
                    "and the generated videos are reused between runs; scores, features and annotations are not)")
    ap.add_argument("--clips", type=int, default=None, help="clips to score (default: 150 on cuda, 2 on cpu)")
    ap.add_argument("--distinct", type=int, default=4, help="distinct clips written; the others are hard links")
    ap.add_argument("--height", type=int, default=512, help="ERP height in pixels (width = 2x)")
    ap.add_argument("--grid", type=int, default=30, help="GT tracks: a grid x grid grid of frame-0 queries")
    ap.add_argument("--backbones", choices=("full", "tiny", "none"), default=None, help="evaluation networks: "
                    "full-size random (default on cuda), tiny (default on cpu) or none")
    ap.add_argument("--annotators", choices=("full", "tiny"), default=None, help="DAP + CoTracker3: full-size random "
                    "(default on cuda) or tiny (default on cpu)")
    ap.add_argument("--deadline-s", type=float, default=420.0, help="wall-clock seconds for the whole run, counted "
                    "once the imports are done: scoring stops taking clips so that the run ends by then; the clips left "
                    "are extrapolated (and reported as such)")
    ap.add_argument("--reserve-s", type=float, default=None, help="seconds kept after scoring for the Fréchet rows "
                    "and the Fréchet comparison (default 60 on cuda, 30 on cpu)")
    ap.add_argument("--fd-dim", type=int, default=None, help="feature size of the Fréchet comparison (default 2048 "
                    "on cuda, 512 on cpu)")
    ap.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = ap.parse_args()
    budget = Budget(args.deadline_s)
    dev, cuda = args.device, is_cuda(args.device)
    n = args.clips or (150 if cuda else 2)
    root = Path(args.workdir)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    clips = read_master(write_split(root / "split", n, min(args.distinct, n), args.height, args.grid))
    results = root / "results"
    write_generated(results, clips, min(args.distinct, n), args.height)
    setup_s = budget.elapsed()
    t0 = time.perf_counter()
    nets = backbones(args.backbones or ("full" if cuda else "tiny"), dev)
    estimator = TimedEstimator(EstimateSettings(), dev, networks=annotators(args.annotators or
                                                                           ("full" if cuda else "tiny"), dev))
    cfg = ScoreConfig(align=AlignConfig(80, 16.0), device=dev, min_bucket=8 if n >= 16 else 2)
    scorer = Scorer(results, nets, cfg, estimator)
    init_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scorer.score_pairs([(METHOD, clips[0])])  # warm-up (kernels, plans, lazy imports): not timed
    sync(dev)
    warmup_s = time.perf_counter() - t0
    for clip in clips:
        _cold(results, clip)
    estimator.seconds = 0.0
    reserve = args.reserve_s if args.reserve_s is not None else (60.0 if cuda else 30.0)
    start = time.perf_counter()
    scored = _score_within(scorer, clips, budget, reserve, warmup_s)
    if scored == 0:
        raise SystemExit(f"error: no clip fits in --deadline-s {args.deadline_s:g} (setup {setup_s:.0f} s, network "
                         f"init {init_s:.0f} s, warm-up clip {warmup_s:.0f} s); raise it")
    sync(dev)
    score_s = time.perf_counter() - start
    t1 = time.perf_counter()
    scorer.distributional(METHOD, clips[:scored])
    sync(dev)
    dist_s = time.perf_counter() - t1
    fd_dim = args.fd_dim or (2048 if cuda else 512)
    fd = frechet_comparison(fd_dim, max(1200, fd_dim // 2))  # inside the reserve
    per_clip = score_s / scored
    total_150 = per_clip * 150 + dist_s
    gpu = machine_name(dev)
    measured = scored >= 150
    summary = {
        "device": gpu, "clips_scored": scored, "clips_asked": n, "gt": f"{args.height}x{2 * args.height}, "
        f"{GT_FRAMES} f @ {GT_FPS:g} fps", "generated": f"{GEN_FRAMES} f @ {GEN_FPS:g} fps", "clock": "80 f @ 16 fps",
        "backbones": args.backbones or ("full" if cuda else "tiny"),
        "annotators": args.annotators or ("full" if cuda else "tiny"),
        "s_per_clip": round(per_clip, 3), "annotation_s_per_clip": round(estimator.seconds / scored, 3),
        "scoring_s": round(score_s, 1), "distributional_s": round(dist_s, 2),
        "150_clips_min": round(total_150 / 60, 2), "150_clips": "measured" if measured else
        f"EXTRAPOLATED from {scored} clips", "setup_s": round(setup_s, 1), "networks_init_s": round(init_s, 1),
        "warmup_clip_s": round(warmup_s, 1), "frechet_dim": fd_dim, "frechet_ours_s": round(fd["ours_s"], 3),
        "frechet_scipy_sqrtm_s": None if fd["scipy"] is None else round(fd["scipy_sqrtm_s"], 3),
        "frechet_rel_diff": None if fd["scipy"] is None else
        abs(fd["ours"] - fd["scipy"]) / max(abs(fd["scipy"]), 1e-12),
        "wall_s": round(budget.elapsed(), 1),
    }
    print(json.dumps(summary))
    if args.out_md:
        how = "measured" if measured else f"**extrapolated** from {scored} clips"
        lines = [
            f"\n### eval scoring with annotation (P6), {datetime.date.today()}, {gpu} ({dev})\n",
            f"`python bench/eval.py --device {dev} --clips {n} --height {args.height} --grid {args.grid}`: one "
            f"method over {n} clips "
            f"(GT {summary['gt']}, generated {summary['generated']}), every metric, {summary['backbones']} "
            f"random-weight backbones, {summary['annotators']} random-weight annotators, cold caches.\n",
            "| quantity | value |",
            "|---|---:|",
            f"| clips scored | {scored} |",
            f"| s / clip, all metrics incl. annotation | {per_clip:.3f} |",
            f"| of which annotating the generated video | {estimator.seconds / scored:.3f} |",
            f"| Fréchet rows, every bucket | {dist_s:.2f} s |",
            f"| 150 clips, one method ({how}) | {total_150 / 60:.2f} min |",
            _frechet_line(fd, fd_dim),
            f"| whole run (setup {setup_s:.0f} s, network init {init_s:.0f} s, warm-up clip {warmup_s:.0f} s) | "
            f"{summary['wall_s']:.0f} s |",
        ]
        append_markdown(args.out_md, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
