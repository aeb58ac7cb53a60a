"""One clip -> geometry annotations (depth, tracks, camera, static flags), written as an annotation folder.

The folder layout, shapes, dtypes and units are owned by :mod:`panoworld.formats.annotations`; depth is written
in metres (DAP's [0, 1] code x 100, sky / invalid pixels at DAP's maximum, 100 m, and marked in ``sky_mask.npy``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from panoworld.formats.annotations import AnnotationWriter
from panoworld.io import probe_video, read_video
from panoworld.sphere import direction_to_lonlat, lonlat_to_pixel, resize_erp, wrap_dx

from .camera import CameraMotion, estimate_camera_motion, motion_inliers, stabilise
from .cotracker import CoTracker3Offline
from .dap import DAPModel
from .lifting import lift_tracks, sample_erp
from .static import SemanticClassifier, StaticFlags, static_flags
from .tracking import track_erp

__all__ = ["AnnotateOptions", "Annotation", "sample_frame_indices", "read_clip_frames", "annotate_frames",
           "annotate_geometry", "write_annotation"]


@dataclass
class AnnotateOptions:
    """Knobs of :func:`annotate_frames` (sizes in pixels, angles in degrees)."""

    grid_size: int = 30
    pad_frac: float = 0.25
    iters: int = 6
    depth_batch: int = 4
    query_region: str = "erp"
    queries: torch.Tensor | None = field(default=None, repr=False)  # (N, 2) frame-0 ERP px instead of the grid
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


def read_clip_frames(video: str | os.PathLike, count: int,
                     size: tuple[int, int]) -> tuple[torch.Tensor, list[int], float]:
    """``count`` frames spread evenly over a video, resized with the seam wrap to ``size`` = (H, W).

    Returns (T, 3, H, W) float frames in [0, 1], their source frame indices and the video's frame rate.
    """
    info = probe_video(video, count_frames=True)
    indices = sample_frame_indices(info.num_frames, count)
    return resize_erp(read_video(video, frame_indices=indices), size), indices, float(info.fps)


def _diagnostics(ann_tracks, vis, raw, motion, height, width) -> dict:
    """Median reprojection error (px, seam-aware), 3-D smoothness (m) as in the reference's meta.json."""
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
                            query_region=o.query_region, queries=o.queries)
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
    raw, on_edge = lift_tracks(tracks, depth_m, vis, return_edges=True)
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


def write_annotation(ann: Annotation, out_dir: str | os.PathLike, extra_meta: dict | None = None) -> Path:
    """Write the annotation folder (:class:`panoworld.formats.annotations.AnnotationWriter`: staged, then moved
    in with ``meta.json`` last, so an interrupted write never looks finished)."""
    with AnnotationWriter(out_dir) as writer:
        for i in range(ann.depth_m.shape[0]):
            writer.depth(i, ann.depth_m[i].numpy())
        writer.put(
            sky_mask=ann.sky.numpy(),
            tracks_2d=ann.tracks.numpy(),
            visibility=ann.visibility.numpy(),
            tracks_3d_raw=ann.raw_points.numpy(),
            tracks_3d=ann.points.numpy(),
            camera_poses=ann.motion.as_rows().numpy(),
            camera_c2w=ann.motion.camera_to_world().numpy().astype(np.float32),
            track_is_static=ann.static.is_static.numpy(),
            rigidity=ann.static.rigidity.numpy(),
            frame_indices=np.asarray(ann.frame_indices),
        )
        return writer.commit({**ann.meta, "frame_indices": list(ann.frame_indices), **(extra_meta or {})})
