"""Metric families (one module each): visual, distributional, panorama, temporal, depth, tracks, camera,
consistency.

Every per-clip family is a :class:`Metric` whose ``update(...)`` returns that clip's values (aggregation over
clips is the report's job); :func:`metric_info` says a metric's family, unit and direction.
"""

from ._base import METRIC_INFO, Metric, MetricInfo, metric_info
from .camera import CameraMetrics, ate, rpe, sim3_residuals
from .consistency import ConsistencyMetrics, depth_temporal_cv, rigidity, track_lifetime
from .depth import ALIGNMENTS, DepthMetrics, abs_rel, align_scale, delta1, fit_alignment, sky_mask, texture_weights
from .distributional import MIN_BUCKET_CLIPS, FeatureCache, bucket_frechet, fit_gaussian, frechet_distance
from .panorama import (
                       SeamMetrics,
                       cube_face_groups,
                       discontinuity_score,
                       end_continuity,
                       seam_crop,
                       seam_flicker,
                       true_median,
)
from .temporal import TemporalMetrics, distinct_frames, flicker_index, motion_amount, warp_error
from .tracks import THRESHOLDS_PX, TrackMetrics, angular_error_px, tapvid_metrics, track3d_error
from .visual import VisualMetrics, clip_scores, pole_mask, psnr, ssim, yaw_views

__all__ = [
    "METRIC_INFO", "Metric", "MetricInfo", "metric_info",
    "CameraMetrics", "ate", "rpe", "sim3_residuals",
    "ConsistencyMetrics", "depth_temporal_cv", "rigidity", "track_lifetime",
    "ALIGNMENTS", "DepthMetrics", "abs_rel", "align_scale", "delta1", "fit_alignment", "sky_mask", "texture_weights",
    "MIN_BUCKET_CLIPS", "FeatureCache", "bucket_frechet", "fit_gaussian", "frechet_distance",
    "SeamMetrics", "cube_face_groups", "discontinuity_score", "end_continuity", "seam_crop", "seam_flicker",
    "true_median", "TemporalMetrics", "distinct_frames", "flicker_index", "motion_amount", "warp_error",
    "THRESHOLDS_PX", "TrackMetrics", "angular_error_px", "tapvid_metrics", "track3d_error",
    "VisualMetrics", "clip_scores", "pole_mask", "psnr", "ssim", "yaw_views",
]
