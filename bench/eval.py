"""Benchmark: scoring synthetic clips with `panoworld.eval` (per-clip metrics, features, Fréchet buckets).

Writes N exact synthetic clips at GT size (a textured world turning right by one pixel column per frame, with
metric depth, 2-D/3-D tracks, visibility and poses in the reference layout), runs the ``oracle`` and ``static``
methods, and times ``Scorer.score_all`` + ``Scorer.distributional`` per method:
  * ``--device cpu``: non-learned metrics only (PSNR/SSIM on ERP, views, poles; seam; depth; tracks; camera;
    consistency), a few clips, extrapolated linearly to 150 clips;
  * ``--device cuda``: every metric with full-size backbones in random weights (LPIPS-AlexNet, CLIP ViT-B/32,
    FID Inception-v3, VideoMAE-Base 16x224, SD-VAE-sized AutoencoderKL if diffusers is installed), extrapolated to
    150 clips. The GT clips are short (``--frames``, default 20) so that writing them is quick; the metrics still run
    on the full 80-frame evaluation clock (a short clip repeats its last frame), so only video decoding is cheaper
    than with real 93-130-frame clips.
The comparison measured in the same run: our eigenvalue Fréchet distance vs the reference's
``scipy.linalg.sqrtm`` on 2048-d features.

    python bench/eval.py --device cuda --workdir /tmp/evalbench --out-md bench_eval.md
    python bench/eval.py --device cpu --clips 2 --frames 8          # CPU, small
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import numpy as np
import torch
from _common import append_markdown, is_cuda, machine_name, sync  # bench/ (and src/) on sys.path

from panoworld.eval.align import AlignConfig
from panoworld.eval.backbones import Backbones
from panoworld.eval.metrics import fit_gaussian, frechet_distance
from panoworld.eval.runners import RunRequest, get_method, run_method
from panoworld.eval.score import ScoreConfig, Scorer
from panoworld.formats.annotations import AnnotationWriter, is_complete
from panoworld.formats.results import ResultsLayout, method_run_complete, result_dir
from panoworld.formats.testset import TestSetLayout, make_clip_id, read_master, write_master
from panoworld.io import write_video
from panoworld.sphere import erp_directions, lonlat_to_direction, pixel_to_lonlat, rotation_matrix


def world(h: int, w: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(3, H, W) colour texture and (H, W) depth in metres, smooth on the sphere."""
    x, y, z = erp_directions(h, w, dtype=torch.float32).unbind(-1)
    r = 0.5 + 0.25 * torch.sin(25 * x + 10 * y + seed) + 0.2 * torch.cos(35 * z - 15 * x)
    g = 0.5 + 0.3 * torch.sin(20 * y * z + 30 * x + seed)
    b = 0.5 + 0.3 * torch.cos(15 * x * y + 25 * z) * torch.sin(10 * y)
    depth = 3.0 + 1.5 * torch.sin(3 * x + seed) * torch.cos(2 * z) + 0.5 * y
    return torch.stack([r, g, b]).clamp(0, 1), depth


def write_split(root: Path, n_clips: int, n_frames: int, h: int, grid: int = 30) -> Path:
    """The bench's synthetic split (master.csv + videos + annotations); existing clips are kept."""
    w, rows = 2 * h, []
    layout = TestSetLayout(root)
    for i in range(n_clips):
        name = f"clip{i:03d}"
        ann = layout.path(layout.annotations("bench", name))
        video = layout.path(layout.video(name))
        if not is_complete(ann) or not video.is_file():
            tex, d0 = world(h, w, i)
            write_video(video, torch.stack([torch.roll(tex, -t, dims=-1) for t in range(n_frames)]), 16)
            xs0 = (np.arange(grid) + 0.5) * w / grid
            ys0 = (np.arange(grid) + 0.5) * h / grid
            gx, gy = np.meshgrid(xs0, ys0)
            x0, y0 = gx.ravel(), gy.ravel()
            ll = pixel_to_lonlat(torch.from_numpy(x0), torch.from_numpy(y0), h, w)
            dd = d0[torch.from_numpy(y0).long(), torch.from_numpy(x0).long()].double()[:, None]
            c2w = np.tile(np.eye(4), (n_frames, 1, 1))
            for t in range(n_frames):
                c2w[t, :3, :3] = rotation_matrix(yaw=360.0 * t / w, dtype=torch.float64).numpy()
                c2w[t, :3, 3] = [0.05 * t, 0.0, 0.01 * t * t]
            rot = c2w[:, :3, :3].transpose(0, 2, 1)  # frame-0 camera -> frame-t camera: P_t = R P_0 + t
            with AnnotationWriter(ann) as writer:
                for t in range(n_frames):
                    writer.depth(t, torch.roll(d0, -t, dims=-1).numpy())
                writer.put(tracks_2d=np.stack([np.stack([(x0 - t) % w for t in range(n_frames)], 1),
                                                      np.repeat(y0[:, None], n_frames, 1)], -1))
                writer.put(visibility=np.ones((len(x0), n_frames)))
                writer.put(tracks_3d=np.repeat((lonlat_to_direction(ll) * dd).numpy()[:, None], n_frames, 1))
                writer.put(track_is_static=np.ones(len(x0)))
                writer.put(camera_poses=np.concatenate(
                    [rot.reshape(-1, 9), -np.einsum("tij,tj->ti", rot, c2w[:, :3, 3])], 1))
                writer.put(camera_c2w=c2w)
                writer.commit({"video_resolution": [w, h], "n_frames": n_frames,
                               "frame_times": [t / 16 for t in range(n_frames)]})
        rows.append({"clip_id": make_clip_id("bench", name), "split": "bench", "video_path": layout.video(name),
                     "annotation_dir": layout.annotations("bench", name), "n_frames": n_frames, "fps": 16,
                     "resolution": f"{w}x{h}", "is_static": 0, "trajectory_kind": "rotate",
                     "scene_kind": ["indoor", "outdoor"][i % 2]})
    return write_master(layout.master, rows)


class _Tok:
    def __call__(self, texts, padding=True, truncation=True, max_length=77, return_tensors="pt"):
        ids = [[49406] + [1000 + sum(map(ord, t_)) % 40000 for t_ in t.split()][: max_length - 2] + [49407]
               for t in texts]
        n = max(map(len, ids))
        return {"input_ids": torch.tensor([i + [0] * (n - len(i)) for i in ids]),
                "attention_mask": torch.tensor([[1] * len(i) + [0] * (n - len(i)) for i in ids])}


def full_backbones(device: str) -> Backbones:
    """Full-size networks in random weights (timing does not depend on the weight values)."""
    from transformers import CLIPConfig, CLIPModel, VideoMAEConfig, VideoMAEModel

    from panoworld.eval.backbones.clip import ClipBackbone
    from panoworld.eval.backbones.inception import FIDInception
    from panoworld.eval.backbones.lpips import LPIPSNet
    from panoworld.eval.backbones.video import VideoBackbone

    torch.manual_seed(0)
    try:  # SD-VAE-sized AutoencoderKL for fd_vae (diffusers is optional here)
        from diffusers import AutoencoderKL

        from panoworld.eval.backbones.autoencoder import AutoencoderBackbone

        blocks = ("DownEncoderBlock2D",) * 4
        vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=blocks,
                            up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=2)
        autoencoder = AutoencoderBackbone(vae).to(device)
    except ImportError:
        autoencoder = None
    return Backbones(
        lpips=LPIPSNet().eval().to(device),
        clip=ClipBackbone(CLIPModel(CLIPConfig()), _Tok()).to(device),
        inception=FIDInception().eval().to(device),
        video=VideoBackbone(VideoMAEModel(VideoMAEConfig())).to(device),
        autoencoder=autoencoder,
    )


def tiny_backbones() -> Backbones:
    """Tiny random networks: a quick CPU smoke test of the learned-metric code path (timings meaningless)."""
    from transformers import CLIPConfig, CLIPModel, VideoMAEConfig, VideoMAEModel

    from panoworld.eval.backbones.clip import ClipBackbone
    from panoworld.eval.backbones.inception import FIDInception
    from panoworld.eval.backbones.lpips import LPIPSNet
    from panoworld.eval.backbones.video import VideoBackbone

    torch.manual_seed(0)
    text = dict(vocab_size=49408, hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4,
                max_position_embeddings=77)
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                  num_attention_heads=4)
    return Backbones(
        lpips=LPIPSNet(width_mult=0.25).eval(),
        clip=ClipBackbone(CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)), _Tok()),
        inception=FIDInception(width=1 / 16, input_size=75).eval(),
        video=VideoBackbone(VideoMAEModel(VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2,
                                                         hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                                                         intermediate_size=37))),
    )


def frechet_comparison(dim: int = 2048, n: int = 1200) -> dict:
    import scipy.linalg

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(n, dim)), rng.normal(size=(n, dim)) * 1.1 + 0.1
    (ma, ca), (mb, cb) = fit_gaussian(a), fit_gaussian(b)
    t0 = time.perf_counter()
    ours = frechet_distance(ma, ca, mb, cb)
    t1 = time.perf_counter()
    covmean = scipy.linalg.sqrtm(ca @ cb)
    ref = float(((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * covmean.real))
    t2 = time.perf_counter()
    return {"ours_s": t1 - t0, "scipy_sqrtm_s": t2 - t1, "ours": ours, "scipy": ref}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu (non-learned metrics) or cuda (all metrics)")
    ap.add_argument("--workdir", default="bench_eval_work", help="folder for the synthetic split and results "
                    "(reused between runs)")
    ap.add_argument("--clips", type=int, default=None, help="clips to score (default: 2 on cpu, 12 on cuda)")
    ap.add_argument("--frames", type=int, default=20, help="GT frames per clip (annotation frames too)")
    ap.add_argument("--height", type=int, default=512, help="GT ERP height in pixels (width = 2x)")
    ap.add_argument("--target", type=int, default=150, help="clips to extrapolate to")
    ap.add_argument("--backbones", choices=("full", "tiny", "none"), default=None,
                    help="learned metrics: full-size random nets (default on cuda), tiny ones (smoke test) or none "
                    "(default on cpu)")
    ap.add_argument("--budget-s", type=float, default=180.0, help="stop scoring new clips once the two methods "
                    "have used this many seconds (the rest is extrapolated)")
    ap.add_argument("--fd-dim", type=int, default=None, help="feature size of the Fréchet comparison "
                    "(default 2048 on cuda, 512 on cpu)")
    ap.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = ap.parse_args()
    dev = args.device
    n = args.clips or (12 if is_cuda(dev) else 2)
    root = Path(args.workdir)
    t0 = time.perf_counter()
    master = write_split(root / "split", n, args.frames, args.height)
    clips = read_master(master)
    results = root / "results"
    for name in ("oracle", "static"):
        spec = get_method(name)
        for c in clips:
            out = result_dir(results, name, c)
            if not method_run_complete(out):
                run_method(spec, RunRequest(clip=c, out_dir=out, spec=spec,
                                            work_dir=ResultsLayout(results).work_dir(name, c.dirname)))
    t_gen = time.perf_counter() - t0
    kind = args.backbones or ("full" if is_cuda(dev) else "none")
    bb = {"full": lambda: full_backbones(dev), "tiny": tiny_backbones, "none": Backbones}[kind]()
    cfg = ScoreConfig(align=AlignConfig(80, 16.0), device=dev, min_bucket=2)
    per_method, done = {}, {}
    for name in ("oracle", "static"):
        scorer = Scorer(results, bb, cfg)
        if name == "oracle":  # warm-up (kernels, plans, lazy imports) on one clip, not timed
            scorer.score_all([name], clips[:1], force=True)
        for f in ResultsLayout(results).features.glob("*/*/*"):
            f.unlink()  # cold feature cache: GT and prediction features are computed inside the timing
        sync(dev)
        start = time.perf_counter()
        scored = []
        for c in clips:  # clip by clip, so that a slow machine stops early and extrapolates
            scorer.score_all([name], [c], force=True)
            scored.append(c)
            if time.perf_counter() - start > args.budget_s / 2:
                break
        scorer.distributional(name, scored)
        sync(dev)
        per_method[name], done[name] = (time.perf_counter() - start) / len(scored), len(scored)
    fd_dim = args.fd_dim or (2048 if is_cuda(dev) else 512)
    fd = frechet_comparison(fd_dim, max(1200, fd_dim // 2))
    gpu = machine_name(dev)
    metrics = {"full": "all metrics, full-size random-weight backbones", "tiny": "all metrics, TINY backbones "
               "(smoke test)", "none": "non-learned metrics"}[kind]
    per_clip = float(np.mean(list(per_method.values())))
    pixel_scale = (512 * 1024) / (args.height * 2 * args.height)  # per-pixel work dominates: scale to 512x1024
    summary = {
        "device": gpu, "metrics": metrics, "clips": n, "clips_timed": done,
        "gt": f"{args.height}x{2 * args.height}x{args.frames}f",
        "clock": "80 f @ 16 fps", "s_per_clip": {k: round(v, 3) for k, v in per_method.items()},
        f"extrapolated_{args.target}_clips_min": round(per_clip * args.target / 60, 2),
        f"extrapolated_{args.target}_clips_at_512x1024_min": round(per_clip * pixel_scale * args.target / 60, 2),
        "setup_s": round(t_gen, 1), "frechet_dim": fd_dim, "frechet_ours_s": round(fd["ours_s"], 3),
        "frechet_scipy_sqrtm_s": round(fd["scipy_sqrtm_s"], 3),
        "frechet_rel_diff": abs(fd["ours"] - fd["scipy"]) / max(abs(fd["scipy"]), 1e-12),
    }
    print(json.dumps(summary))
    if args.out_md:
        lines = [
            f"\n### eval scoring, {datetime.date.today()}, {gpu} ({dev})\n",
            f"`python bench/eval.py --device {dev} --clips {n} --frames {args.frames} --height {args.height}`: "
            f"{metrics}; clips timed {done}; GT {summary['gt']}, evaluation clock 80 frames @ 16 fps, cold feature "
            "cache.\n",
            "| quantity | value |",
            "|---|---:|",
            *(f"| s / clip, {k} | {v:.3f} |" for k, v in per_method.items()),
            f"| extrapolated {args.target} clips, one method | {per_clip * args.target / 60:.2f} min |",
        ]
        if pixel_scale != 1:
            scaled = per_clip * pixel_scale * args.target / 60
            lines.append(f"| same, scaled by pixel count to 512x1024 | {scaled:.1f} min |")
        lines += [
            f"| Fréchet {fd_dim}-d, ours (eigh, CPU float64) | {fd['ours_s']:.3f} s |",
            f"| Fréchet {fd_dim}-d, scipy sqrtm (reference) | {fd['scipy_sqrtm_s']:.3f} s |",
            f"| ratio sqrtm / ours | {fd['scipy_sqrtm_s'] / max(fd['ours_s'], 1e-9):.1f}x |",
            f"| relative difference of the two values | {summary['frechet_rel_diff']:.1e} |",
        ]
        append_markdown(args.out_md, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
