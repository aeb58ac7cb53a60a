"""Spherical geometry: the one ERP / camera convention of panoworld (see docs/conventions.md), and every ERP
array operation (seam-aware resize, wrap padding, query grids, wrapped pixel coordinates).

All functions are plain batched torch functions; image inputs are (..., C, H, W) on any device,
camera angles are in degrees, ``size`` is (height, width), masks are (..., 1, H, W).
"""

from .coords import (
    check_erp_size,
    direction_to_lonlat,
    erp_directions,
    erp_lonlat,
    geodesic_distance,
    lonlat_to_direction,
    lonlat_to_pixel,
    pixel_to_lonlat,
    solid_angle_weights,
)
from .cubemap import FACE_ANGLES, FACE_NAMES, cubemap_to_erp, erp_to_cubemap, rotate_erp
from .erp import query_grid, resize_erp, wrap_dx, wrap_pad, wrap_x
from .perspective import check_fov, erp_to_perspective, focal_length_px, perspective_rays, perspective_to_erp
from .rotation import rotation_matrix, rotation_to_angles

__all__ = [
    "FACE_ANGLES",
    "FACE_NAMES",
    "check_erp_size",
    "check_fov",
    "cubemap_to_erp",
    "direction_to_lonlat",
    "erp_directions",
    "erp_lonlat",
    "erp_to_cubemap",
    "erp_to_perspective",
    "focal_length_px",
    "geodesic_distance",
    "lonlat_to_direction",
    "lonlat_to_pixel",
    "perspective_rays",
    "perspective_to_erp",
    "pixel_to_lonlat",
    "query_grid",
    "resize_erp",
    "rotate_erp",
    "rotation_matrix",
    "rotation_to_angles",
    "solid_angle_weights",
    "wrap_dx",
    "wrap_pad",
    "wrap_x",
]
