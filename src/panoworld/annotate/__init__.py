"""Geometry annotation: DAP depth, CoTracker3 point tracks on ERP, lifting, camera motion, static flags.

See docs/annotate.md for the stages, the on-disk layout and the checkpoint key mappings.
"""

from .camera import CameraMotion, estimate_camera_motion, stabilise
from .cotracker import CoTracker3Offline, CoTrackerConfig
from .dap import DAPConfig, DAPModel
from .lifting import lift_tracks, sample_erp
from .pipeline import AnnotateOptions, Annotation, annotate_frames, annotate_geometry, write_annotation
from .static import StaticFlags, semantic_static_from_masks, static_flags
from .tracking import merge_seam_tracks, track_erp

__all__ = [
    "AnnotateOptions", "Annotation", "CameraMotion", "CoTracker3Offline", "CoTrackerConfig", "DAPConfig", "DAPModel",
    "StaticFlags", "annotate_frames", "annotate_geometry", "estimate_camera_motion", "lift_tracks",
    "merge_seam_tracks",
    "sample_erp", "semantic_static_from_masks", "stabilise", "static_flags", "track_erp", "write_annotation",
]
