"""A tiny synthetic test split with exact GT, written in the reference §9.2 / §8.4 layout.

The camera turns right by ``step`` pixels of longitude per frame, so every GT quantity is exact:
frame t = frame 0 rolled left by ``step * t`` columns; depth likewise; tracks move by ``-step * t`` (mod W);
3-D tracks (frame-0 camera coordinates) stay fixed; camera-to-world poses rotate about the vertical axis.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from panoworld.io import write_video
from panoworld.sphere import erp_directions, pixel_to_lonlat, lonlat_to_direction, rotation_matrix
from tests.conftest import textured_erp

H, W, FPS = 32, 64, 16


def _depth0(h: int, w: int, seed: int) -> torch.Tensor:
    d = erp_directions(h, w, dtype=torch.float64)
    x, y, z = d.unbind(-1)
    return (3.0 + 1.5 * torch.sin(3 * x + seed) * torch.cos(2 * z) + 0.5 * y).float()


def write_tiny_split(root: Path, *, n_clips: int = 4, n_frames: int = 12, step: int = 1, split: str = "synth") -> Path:
    """Write ``n_clips`` clips and ``root/master.csv``; return the master path."""
    rows = []
    for i in range(n_clips):
        name = f"clip{i:02d}"
        base = torch.roll(textured_erp(H, W, dtype=torch.float32), shifts=7 * i, dims=-1)
        frames = torch.stack([torch.roll(base, -step * t, dims=-1) for t in range(n_frames)])
        vdir = root / "videos"
        write_video(vdir / f"{name}.mp4", frames, FPS, crf=0)
        ann = root / "annotations" / name
        (ann / "depth").mkdir(parents=True, exist_ok=True)
        d0 = _depth0(H, W, i)
        for t in range(n_frames):
            np.save(ann / "depth" / f"{t:04d}.npy", torch.roll(d0, -step * t, dims=-1).numpy())
        gx, gy = np.meshgrid(np.arange(2, W, 8) + 0.0, np.arange(4, H - 4, 6) + 0.0)
        x0, y0 = gx.ravel(), gy.ravel()
        xs = np.stack([(x0 - step * t) % W for t in range(n_frames)], 1)
        ys = np.repeat(y0[:, None], n_frames, 1)
        np.save(ann / "tracks_2d.npy", np.stack([xs, ys], -1).astype(np.float32))
        np.save(ann / "visibility.npy", np.ones(xs.shape, np.float32))
        ll = pixel_to_lonlat(torch.from_numpy(x0), torch.from_numpy(y0), H, W)
        rng = lonlat_to_direction(ll) * d0[torch.from_numpy(y0).long(), torch.from_numpy(x0).long()].double()[:, None]
        np.save(ann / "tracks_3d.npy", np.repeat(rng.numpy()[:, None], n_frames, 1).astype(np.float32))
        np.save(ann / "track_is_static.npy", np.ones(len(x0), np.float32))
        poses = np.tile(np.eye(4), (n_frames, 1, 1))
        for t in range(n_frames):
            poses[t, :3, :3] = rotation_matrix(yaw=360.0 * step * t / W, dtype=torch.float64).numpy()
            poses[t, :3, 3] = [0.05 * t, 0.0, 0.01 * t * t]  # a path with spread, for ATE (not rendered)
        np.save(ann / "camera_poses.npy", poses.astype(np.float32))
        meta = {"video_resolution": [W, H], "n_frames": n_frames, "frame_times": [t / FPS for t in range(n_frames)],
                "depth_unit": "m"}
        (ann / "meta.json").write_text(json.dumps(meta))
        cap = root / "captions" / f"{name}.json"
        cap.parent.mkdir(exist_ok=True)
        cap.write_text(json.dumps({"short": "a room", "medium": f"a colourful room number {i}", "long": "..."}))
        rows.append({
            "clip_id": f"{split}::{name}", "split": split, "video_path": f"videos/{name}.mp4",
            "annotation_dir": f"annotations/{name}", "caption_path": f"captions/{name}.json", "n_frames": n_frames,
            "fps": FPS, "resolution": f"{W}x{H}", "is_static": 0, "has_depth": 1, "has_tracks": 1,
            "has_camera_poses": 1, "depth_kind": "synthetic_gt", "pose_kind": "synthetic_gt",
            "trajectory_kind": "rotate", "scene_id": name, "scene_type": ["indoor", "outdoor"][i % 2],
        })  # fmt: skip
    master = root / "master.csv"
    with open(master, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return master


class HashTokenizer:
    """Word-hash tokenizer with the call signature the CLIP wrapper uses (no vocab files needed)."""

    def __call__(self, texts, padding=True, truncation=True, max_length=32, return_tensors="pt"):
        ids = [[1] + [3 + sum(map(ord, w)) % 90 for w in t.split()][: max_length - 2] + [2] for t in texts]
        n = max(map(len, ids))
        return {
            "input_ids": torch.tensor([i + [0] * (n - len(i)) for i in ids]),
            "attention_mask": torch.tensor([[1] * len(i) + [0] * (n - len(i)) for i in ids]),
        }


def make_tiny_backbones():
    """Tiny randomly initialised LPIPS, CLIP, FID-Inception and VideoMAE networks."""
    from transformers import CLIPConfig, CLIPModel, VideoMAEConfig, VideoMAEModel

    from panoworld.eval.backbones import Backbones
    from panoworld.eval.backbones.clip import ClipBackbone
    from panoworld.eval.backbones.inception import FIDInception
    from panoworld.eval.backbones.lpips import LPIPSNet
    from panoworld.eval.backbones.video import VideoBackbone

    torch.manual_seed(0)
    text = dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=32, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                  num_attention_heads=4)
    clip = ClipBackbone(CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)),
                        HashTokenizer())
    video = VideoBackbone(VideoMAEModel(VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2,
                                                       hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                                       intermediate_size=37)))
    return Backbones(lpips=LPIPSNet(width_mult=0.25).eval(), clip=clip,
                     inception=FIDInception(width=1 / 16, input_size=75).eval(), video=video)


@pytest.fixture(scope="session")
def tiny_backbones():
    return make_tiny_backbones()


@pytest.fixture(scope="session")
def tiny_split(tmp_path_factory) -> Path:
    return write_tiny_split(tmp_path_factory.mktemp("split"))
