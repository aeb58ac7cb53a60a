"""One clip -> geometry annotations (depth, tracks, camera, static flags) and the on-disk layout.

Files in ``<out>/<clip>/`` (reference §8.4 names; T = frames, N = tracks, H x W = 512 x 1024 by default):

=====================  ==================  ====================================================
depth/0000.npy ...     (H, W) float16      DAP code in [0, 1] (x 100 = metres), sky = 1.0
depth_m/0000.npy ...   (H, W) float16      range along the ray in metres
sky_mask.npy           (T, H, W) bool      sky / invalid pixels
tracks_2d.npy          (N, T, 2) float32   (x, y) pixels, centres at integers, x wrapped to [0, W)
visibility.npy         (N, T) float16      visibility x confidence in [0, 1] (threshold 0.5)
tracks_3d_raw.npy      (N, T, 3) float32   points in each frame's camera (OpenCV, metres), NaN if invisible
tracks_3d.npy          (N, T, 3) float32   stabilised points in the frame-0 camera axes, NaN if invisible
camera_poses.npy       (T, 12) float32     [R row-major, t]: point transform frame 0 -> frame t
camera_c2w.npy         (T, 4, 4) float32   camera-to-world poses, world = frame-0 camera
track_is_static.npy    (N,) float32        1 = static
rigidity.npy           (N,) float32        metres
frame_indices.npy      (T,) int64          source-video frame of each annotation frame
meta.json                                  written last; its presence marks the clip done
=====================  ==================  ====================================================
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .camera import CameraMotion, estimate_camera_motion, motion_inliers, stabilise
from .cotracker import CoTracker3Offline
from .dap import DEPTH_SCALE_M, DAPModel
from .lifting import lift_tracks, sample_erp, sample_range
from .static import SemanticClassifier, StaticFlags, static_flags
from .tracking import track_erp, wrap_dx

__all__ = ["AnnotateOptions", "Annotation", "sample_frame_indices", "resize_frames", "annotate_frames",
           "annotate_geometry", "write_annotation", "is_done"]


@dataclass
class AnnotateOptions:
    """Knobs of :func:`annotate_frames` (sizes in pixels, angles in degrees)."""

    grid_size: int = 30
    pad_frac: float = 0.25
    iters: int = 6
    depth_batch: int = 4
    query_region: str = "erp"
    semantic: SemanticClassifier | None = field(default=None, repr=False)


@dataclass
class Annotation:
    depth_m: torch.Tensor  # (T, H, W) float32
    sky: torch.Tensor  # (T, H, W) bool
    tracks: torch.Tensor  # (N, T, 2)
    visibility: torch.Tensor  # (N, T)
    raw_points: torch.Tensor  # (N, T, 3) float64
    points: torch.Tensor  # (N, T, 3) float64 stabilised
    motion: CameraMotion
    static: StaticFlags
    frame_indices: list[int]
    meta: dict


def sample_frame_indices(total: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over [0, total - 1] (all frames if fewer)."""
    if total <= count:
        return list(range(total))
    return sorted(set(int(round(v)) for v in np.linspace(0, total - 1, count)))


def resize_frames(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(T, 3, h, w) -> (T, 3, H, W): area averaging when shrinking, bilinear otherwise."""
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    shrink = frames.shape[-2] >= size[0] and frames.shape[-1] >= size[1]
    mode = "area" if shrink else "bilinear"
    kw = {} if shrink else {"align_corners": False}
    return F.interpolate(frames, size=size, mode=mode, **kw).clamp(0, 1)


def _diagnostics(ann_tracks, vis, raw, motion, height, width) -> dict:
    """Median reprojection error (px, seam-aware), 3-D smoothness (m) as in the reference's meta.json."""
    from panoworld.sphere import direction_to_lonlat, lonlat_to_pixel

    pred = (motion.rotation[None] @ raw[:, :1, :, None])[..., 0] + motion.translation[None]
    px = lonlat_to_pixel(direction_to_lonlat(pred), height, width).float()
    err = torch.sqrt(wrap_dx(px[..., 0] - ann_tracks[..., 0], width) ** 2 + (px[..., 1] - ann_tracks[..., 1]) ** 2)
    ok = torch.isfinite(err) & (vis > 0.5)
    acc = (raw[:, :-2] - 2 * raw[:, 1:-1] + raw[:, 2:]).norm(dim=-1) if raw.shape[1] > 2 else torch.zeros(0)
    acc = acc[torch.isfinite(acc)] if acc.numel() else acc
    return {
        "reproj_error_median_px": float(err[ok].median()) if ok.any() else None,
        "smoothness_median_m": float(acc.median()) if acc.numel() else None,
    }


def annotate_frames(
    frames: torch.Tensor, depth_model: DAPModel, tracker: CoTracker3Offline, options: AnnotateOptions | None = None,
    *, frame_indices: list[int] | None = None,
) -> Annotation:
    """Annotate (T, 3, H, W) ERP frames in [0, 1]: DAP depth, CoTracker3 tracks, then :func:`annotate_geometry`."""
    o = options or AnnotateOptions()
    depth_m, sky = depth_model.predict(frames, batch_size=o.depth_batch)
    tracks, vis = track_erp(tracker, frames, grid_size=o.grid_size, pad_frac=o.pad_frac, iters=o.iters,
                            query_region=o.query_region)
    semantic = o.semantic(frames, tracks, vis) if o.semantic is not None else None
    return annotate_geometry(depth_m, sky, tracks, vis, grid_size=o.grid_size, semantic=semantic,
                             frame_indices=frame_indices)


def annotate_geometry(
    depth_m: torch.Tensor, sky: torch.Tensor, tracks: torch.Tensor, visibility: torch.Tensor, *,
    grid_size: int | None = None, semantic: torch.Tensor | None = None, frame_indices: list[int] | None = None,
) -> Annotation:
    """Geometry stages from (T, H, W) range maps in metres, (T, H, W) sky mask, (N, T, 2) tracks, (N, T) visibility.

    Lifts tracks (edge-aware), estimates the camera motion with sky tracks left out (they have no finite
    range; their inliers are checked against the rotation only), stabilises and flags static tracks.
    ``semantic`` (N,) in [0, 1] is the optional semantic static score. Works the same on network outputs
    and on ground truth.
    """
    t, height, width = depth_m.shape
    tracks = tracks.float()
    vis = visibility.float()
    raw = lift_tracks(tracks, depth_m, vis)
    _, on_edge = sample_range(depth_m, tracks.double(), return_edges=True)
    on_sky = sample_erp(sky.double(), tracks.double()) > 0.5
    motion = estimate_camera_motion(torch.where(on_sky[..., None], torch.nan, raw))
    stab = stabilise(raw, motion)
    inliers = motion_inliers(raw, motion, at_infinity=on_sky)
    flags = static_flags(raw, stab, inliers, semantic=semantic, reliable=~on_edge)
    ground = depth_m[: min(5, t)][~sky[: min(5, t)]]
    ground = ground if ground.numel() else depth_m.flatten()
    meta = {
        "video_resolution": [width, height],
        "n_frames": t,
        "n_tracks": int(tracks.shape[0]),
        "grid_size": grid_size,
        "depth_unit": "m",
        "depth_scale": DEPTH_SCALE_M,
        "max_depth_m": float(min(torch.quantile(ground.flatten()[:: max(1, ground.numel() // 100000)].float(), 0.99),
                                 100.0)),
        "camera_motion": {"method": motion.method, "is_static": motion.is_static,
                          "inlier_ratio": motion.inlier_ratio},
        "n_static_tracks": int(flags.is_static.sum()),
        "rigidity_median_m": float(flags.rigidity.median()) if len(flags.rigidity) else None,
        "pose_convention": "camera_poses: P_t = R P_0 + t; camera_c2w: camera-to-world, "
                           "world = frame-0 camera (OpenCV)",
        "semantic_static": semantic is not None,
        **_diagnostics(tracks, vis, raw, motion, height, width),
    }
    return Annotation(depth_m, sky, tracks, vis, raw, stab, motion, flags,
                      list(frame_indices) if frame_indices is not None else list(range(t)), meta)


def is_done(out_dir: str | os.PathLike) -> bool:
    """True when a clip folder is complete (its ``meta.json`` exists)."""
    return (Path(out_dir) / "meta.json").is_file()


def write_annotation(ann: Annotation, out_dir: str | os.PathLike, extra_meta: dict | None = None) -> Path:
    """Write all files into a temporary sibling folder, then rename it to ``out_dir`` (atomic per clip).

    Temporary folders of this clip left by a killed run are removed first.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.*.tmp"):  # left by a killed run of this clip
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        (tmp / "depth").mkdir()
        (tmp / "depth_m").mkdir()
        code = (ann.depth_m / DEPTH_SCALE_M).clamp(0, 1)
        for i in range(code.shape[0]):
            np.save(tmp / "depth" / f"{i:04d}.npy", code[i].numpy().astype(np.float16))
            np.save(tmp / "depth_m" / f"{i:04d}.npy", ann.depth_m[i].numpy().astype(np.float16))
        np.save(tmp / "sky_mask.npy", ann.sky.numpy().astype(bool))
        np.save(tmp / "tracks_2d.npy", ann.tracks.numpy().astype(np.float32))
        np.save(tmp / "visibility.npy", ann.visibility.numpy().astype(np.float16))
        np.save(tmp / "tracks_3d_raw.npy", ann.raw_points.numpy().astype(np.float32))
        np.save(tmp / "tracks_3d.npy", ann.points.numpy().astype(np.float32))
        np.save(tmp / "camera_poses.npy", ann.motion.as_rows().numpy().astype(np.float32))
        np.save(tmp / "camera_c2w.npy", ann.motion.camera_to_world().numpy().astype(np.float32))
        np.save(tmp / "track_is_static.npy", ann.static.is_static.numpy().astype(np.float32))
        np.save(tmp / "rigidity.npy", ann.static.rigidity.numpy().astype(np.float32))
        np.save(tmp / "frame_indices.npy", np.asarray(ann.frame_indices, dtype=np.int64))
        meta = {**ann.meta, **(extra_meta or {})}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
