"""Per-clip features for the distributional metrics (FVD, FID, OmniFID), cached on disk per clip."""

from __future__ import annotations

import numpy as np
import torch

from .metrics.distributional import FeatureCache
from .metrics.panorama import cube_face_groups
from .metrics.visual import clip_frame_indices

__all__ = ["FEATURE_KINDS", "network_tag", "feature_key", "compute_features", "split_omnifid", "clip_features"]

#: kind -> backbone attribute it needs.
FEATURE_KINDS = {"fvd": "video", "fid": "inception", "omnifid": "inception", "fd_vae": "autoencoder"}


def network_tag(net) -> str:
    """Identity of a loaded network's weights (class, size, a checksum of the first and last tensors)."""
    params = list(net.parameters())
    total = sum(p.numel() for p in params)
    check = float(params[0].detach().double().sum() + params[-1].detach().double().sum())
    return f"{type(net).__name__}-{total}-{check:.6g}"


def feature_key(cache: FeatureCache, video_file, kind: str, net, *, settings: str, n_frames: int,
                face_size: int) -> str:
    """Cache key of one clip's ``kind`` features: the video file's identity, the clock settings, the network and
    the frame sampling (any change re-embeds the clip)."""
    return cache.key(video_file, f"{settings}|{kind}-{network_tag(net)}|{n_frames}|{face_size}")


@torch.no_grad()
def compute_features(kind: str, net, video: torch.Tensor, *, n_frames: int, face_size: int) -> np.ndarray:
    """Features of one aligned (T, 3, H, W) video: fvd (1, D); fid and fd_vae (k, D) of k frames; omnifid (6k, D) =
    k*4 side faces, k up faces, k down faces."""
    if kind == "fvd":
        return net.features(video[None]).cpu().numpy()
    frames = video[clip_frame_indices(video.shape[0], n_frames)]
    if kind in ("fid", "fd_vae"):
        return net.features(frames).cpu().numpy()
    groups = cube_face_groups(frames, face_size)
    return torch.cat([net.features(groups[g]) for g in ("sides", "up", "down")]).cpu().numpy()


def split_omnifid(features: np.ndarray) -> dict[str, np.ndarray]:
    """Undo :func:`compute_features`' OmniFID layout: {"sides": (4k, D), "up": (k, D), "down": (k, D)}."""
    k = len(features) // 6
    return {"sides": features[: 4 * k], "up": features[4 * k : 5 * k], "down": features[5 * k :]}


def clip_features(cache: FeatureCache, owner: str, clip_name: str, video_file, video: torch.Tensor, backbones,
                  *, settings: str, n_frames: int, face_size: int) -> dict[str, np.ndarray]:
    """Every available feature kind of one clip, from the cache or computed and cached."""
    out = {}
    for kind, attr in FEATURE_KINDS.items():
        net = getattr(backbones, attr, None)
        if net is None:
            continue
        key = feature_key(cache, video_file, kind, net, settings=settings, n_frames=n_frames, face_size=face_size)
        feats = cache.load(owner, kind, clip_name, key)
        if feats is None:
            feats = compute_features(kind, net, video, n_frames=n_frames, face_size=face_size)
            cache.save(owner, kind, clip_name, key, feats)
        out[kind] = feats
    return out
