"""Distribution metrics: a numerically stable Fréchet distance and bucketed FVD / FID / OmniFID.

Per-clip feature vectors come from a backbone (:mod:`panoworld.eval.backbones`) and are cached per
clip (:class:`FeatureCache`), so re-scoring a method or adding clips costs only the new clips.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from panoworld.formats.results import feature_file
from panoworld.io import atomic_path

from ._base import MetricInfo, register_info

__all__ = ["MIN_BUCKET_CLIPS", "frechet_distance", "fit_gaussian", "FeatureCache", "bucket_frechet"]

#: A bucket with fewer clips than this gets NaN: with fewer samples the covariance is too poorly estimated.
MIN_BUCKET_CLIPS = 8

for _name in ("fvd", "fid", "omnifid", "fd_vae"):
    register_info(_name, MetricInfo("distributional", "1", False, 0.0))


def fit_gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> mean (D,) and unbiased covariance (D, D), in float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need an (N >= 2, D) feature array, got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_distance(mu_a, cov_a, mu_b, cov_b, *, device: str | None = None) -> float:
    """Fréchet distance ``|mu_a - mu_b|^2 + tr(A + B - 2 (A B)^(1/2))`` between two Gaussians.

    ``tr (A B)^(1/2)`` is computed as the sum of the square roots of the (real, >= 0) eigenvalues of the
    symmetric PSD matrix ``A^(1/2) B A^(1/2)``, which has the same spectrum as ``A B``. Unlike
    ``scipy.linalg.sqrtm(A @ B)`` this needs no jitter retries, never returns complex values and is exactly
    symmetric up to round-off; rank-deficient covariances (fewer samples than dimensions) are fine.
    ``device`` (e.g. "cuda") runs the two float64 eigendecompositions with torch on that device.
    """
    if device is not None and not str(device).startswith("cpu"):
        return _frechet_torch(mu_a, cov_a, mu_b, cov_b, device)
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    tr_cross = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_cross)
    return max(value, 0.0)


def _frechet_torch(mu_a, cov_a, mu_b, cov_b, device) -> float:
    import torch

    t = [torch.as_tensor(np.asarray(x, np.float64), device=device) for x in (mu_a, cov_a, mu_b, cov_b)]
    mu_a, cov_a, mu_b, cov_b = t
    vals, vecs = torch.linalg.eigh((cov_a + cov_a.T) / 2)
    root_a = (vecs * vals.clamp_min(0).sqrt()) @ vecs.T
    middle = root_a @ cov_b @ root_a
    tr_cross = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    diff = mu_a - mu_b
    value = diff @ diff + torch.trace(cov_a) + torch.trace(cov_b) - 2.0 * tr_cross
    return max(float(value), 0.0)


def bucket_frechet(pred: list[np.ndarray], gt: list[np.ndarray], *, min_clips: int = MIN_BUCKET_CLIPS,
                   device: str | None = None) -> float:
    """Fréchet distance between the stacked per-clip features of two sets of clips (NaN if < ``min_clips``).

    Each list item is one clip's (k, D) features (k frames or k = 1 for a video embedding).
    """
    if min(len(pred), len(gt)) < min_clips:
        return float("nan")
    a = np.concatenate([np.atleast_2d(f) for f in pred])
    b = np.concatenate([np.atleast_2d(f) for f in gt])
    return frechet_distance(*fit_gaussian(a), *fit_gaussian(b), device=device)


class FeatureCache:
    """Per-clip feature arrays on disk (``panoworld.formats.results.feature_file``).

    ``key`` is a hash of the video file's path, size and mtime plus the feature settings, so a
    regenerated video is re-embedded; arrays are written atomically.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @staticmethod
    def key(video: str | os.PathLike, settings: str) -> str:
        st = Path(video).stat()
        text = f"{Path(video).resolve()}|{st.st_size}|{st.st_mtime_ns}|{settings}"
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def path(self, owner: str, backbone: str, clip: str, key: str) -> Path:
        return feature_file(self.root, owner, backbone, clip, key)

    def load(self, owner: str, backbone: str, clip: str, key: str) -> np.ndarray | None:
        p = self.path(owner, backbone, clip, key)
        return np.load(p) if p.is_file() else None

    def save(self, owner: str, backbone: str, clip: str, key: str, features: np.ndarray) -> None:
        p = self.path(owner, backbone, clip, key)
        p.parent.mkdir(parents=True, exist_ok=True)
        for stale in p.parent.glob(feature_file(self.root, owner, backbone, clip, None).name):
            stale.unlink(missing_ok=True)
        with atomic_path(p) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, np.asarray(features, dtype=np.float32))
