"""The one spherical convention of DESIGN.md, checked by behaviour."""

import math

import pytest
import torch

from panoworld import sphere
from panoworld.sphere import (
    direction_to_lonlat,
    erp_directions,
    erp_to_perspective,
    geodesic_distance,
    perspective_to_erp,
    rotate_erp,
    rotation_matrix,
    rotation_to_angles,
    solid_angle_weights,
)


def ray_image(height=64, width=128):
    """ERP whose three channels are the unit ray of each pixel (smooth, so interpolation keeps it exact-ish)."""
    return erp_directions(height, width, dtype=torch.float64).permute(2, 0, 1)


def lonlat_deg_at(view, row, col):
    d = view[:, row, col]
    return torch.rad2deg(direction_to_lonlat(d / d.norm())).tolist()


def test_pixel_centres_follow_the_convention():
    lonlat = sphere.erp_lonlat(4, 8, dtype=torch.float64)
    assert lonlat[0, 0, 0] == pytest.approx(-math.pi + 2 * math.pi * 0.5 / 8)
    assert lonlat[0, 0, 1] == pytest.approx(math.pi / 2 - math.pi * 0.5 / 4)
    d = erp_directions(4, 8, dtype=torch.float64)
    assert torch.allclose(d.norm(dim=-1), torch.ones(4, 8, dtype=torch.float64))
    # Straight ahead is +z, up is -y (OpenCV frame).
    ahead = sphere.lonlat_to_direction(torch.tensor([0.0, 0.0], dtype=torch.float64))
    up = sphere.lonlat_to_direction(torch.tensor([0.0, math.pi / 2], dtype=torch.float64))
    assert torch.allclose(ahead, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    assert torch.allclose(up, torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("yaw,pitch", [(0, 0), (37, 12), (-120, -40), (170, 25), (0, 89), (45, -90)])
def test_view_centre_looks_at_yaw_pitch(yaw, pitch):
    view = erp_to_perspective(ray_image(256, 512), fov_x=60, yaw=yaw, pitch=pitch, size=(65, 65))
    lon, lat = lonlat_deg_at(view, 32, 32)
    assert lat == pytest.approx(pitch, abs=0.3)
    if abs(pitch) < 89:
        assert (lon - yaw + 180) % 360 - 180 == pytest.approx(0, abs=0.3)


def test_positive_roll_sends_right_edge_below_horizon():
    erp = ray_image()
    for roll, sign in [(30, -1), (-30, 1)]:
        view = erp_to_perspective(erp, fov_x=90, roll=roll, size=(33, 33))
        _, lat_right = lonlat_deg_at(view, 16, 32)
        _, lat_left = lonlat_deg_at(view, 16, 0)
        assert math.copysign(1, lat_right) == sign
        assert math.copysign(1, lat_left) == -sign


def test_positive_yaw_moves_window_right_and_pitch_moves_it_up():
    img = torch.ones(1, 30, 40, dtype=torch.float64)
    _, m0 = perspective_to_erp(img, fov_x=60, size=(64, 128))
    _, m_yaw = perspective_to_erp(img, fov_x=60, yaw=90, size=(64, 128))
    _, m_up = perspective_to_erp(img, fov_x=60, pitch=30, size=(64, 128))
    cols = torch.arange(128, dtype=torch.float64)
    rows = torch.arange(64, dtype=torch.float64)
    centre_col = lambda m: float((m[0].sum(0) * cols).sum() / m.sum())  # noqa: E731
    centre_row = lambda m: float((m[0].sum(1) * rows).sum() / m.sum())  # noqa: E731
    assert centre_col(m0) == pytest.approx(63.5, abs=0.5)
    assert centre_col(m_yaw) == pytest.approx(95.5, abs=0.5)
    assert centre_row(m_up) < centre_row(m0) - 8


def test_perspective_to_erp_at_yaw_180_splits_continuously_across_seam():
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 64), indexing="ij")
    img = torch.stack([xx, yy, 0.5 * torch.ones_like(xx)]).double()
    erp, mask = perspective_to_erp(img, fov_x=90, yaw=180, size=(128, 256))
    m = mask[0].bool()
    assert m[:, 0].any() and m[:, -1].any(), "the window must touch both ERP edges"
    assert not m[:, 128].any(), "the window must not appear at the front"
    both = m[:, 0] & m[:, -1]
    # The two halves meet: the horizontal gradient is continuous across the seam (one column step apart).
    step = float(erp[0, both, 1:].diff(dim=-1).abs().max()) if both.any() else 0.0
    jump = (erp[0, both, 0] - erp[0, both, -1]).abs().max()
    assert float(jump) <= 2.5 * max(step, 1e-3)
    assert both.sum() > 10


def test_rolled_erp_at_yaw0_equals_erp_at_yaw180(erp_texture):
    rolled = torch.roll(erp_texture, erp_texture.shape[-1] // 2, dims=-1)
    a = erp_to_perspective(rolled, fov_x=100, yaw=0, size=(60, 80))
    b = erp_to_perspective(erp_texture, fov_x=100, yaw=180, size=(60, 80))
    assert torch.allclose(a, b, atol=1e-9)


def test_yaw_rotation_by_whole_columns_is_an_exact_roll(erp_texture):
    width = erp_texture.shape[-1]
    out = rotate_erp(erp_texture, yaw=360.0 * 5 / width)
    assert torch.allclose(out, torch.roll(erp_texture, -5, dims=-1), atol=1e-12)


def test_rotate_erp_composes_and_inverts(erp_texture):
    r1 = rotation_matrix(30, 20, 10)
    r2 = rotation_matrix(-50, 5, -25)
    two_steps = rotate_erp(rotate_erp(erp_texture, matrix=r1), matrix=r2)
    one_step = rotate_erp(erp_texture, matrix=r1 @ r2)
    inner = slice(16, -16)
    assert (two_steps - one_step)[:, inner].abs().mean() < 0.01
    back = rotate_erp(rotate_erp(erp_texture, yaw=30, pitch=20, roll=10), matrix=r1.T)
    assert (back - erp_texture)[:, inner].abs().mean() < 0.01
    angles = rotation_to_angles(r1 @ r2)
    assert torch.allclose(rotation_matrix(*angles.tolist()), r1 @ r2, atol=1e-10)


def test_solid_angle_weights_sum_to_four_pi():
    for h in (1, 7, 64, 256):
        w = solid_angle_weights(h, 2 * h, dtype=torch.float64)
        assert float(w.sum()) == pytest.approx(4 * math.pi, rel=1e-12)
        assert w[0, 0] < w[h // 2, 0] or h == 1


def test_geodesic_distance_symmetric_wraps_and_antipodal():
    a = torch.tensor([[math.radians(179.0), 0.0], [0.3, 0.2], [0.0, math.pi / 2]], dtype=torch.float64)
    b = torch.tensor([[math.radians(-179.0), 0.0], [-1.2, -0.4], [2.0, math.pi / 2]], dtype=torch.float64)
    d_ab, d_ba = geodesic_distance(a, b), geodesic_distance(b, a)
    assert torch.allclose(d_ab, d_ba)
    assert float(d_ab[0]) == pytest.approx(math.radians(2.0), rel=1e-9)
    assert float(d_ab[2]) == pytest.approx(0.0, abs=1e-9)
    f64 = torch.float64
    anti = geodesic_distance(torch.tensor([0.4, 0.3], dtype=f64), torch.tensor([0.4 - math.pi, -0.3], dtype=f64))
    assert float(anti) == pytest.approx(math.pi, abs=1e-9)


@pytest.mark.parametrize("fov", [0.0, -10.0, 180.0, 200.0])
def test_bad_fov_is_rejected(fov):
    with pytest.raises(ValueError, match="fov_x"):
        erp_to_perspective(torch.zeros(3, 8, 16), fov_x=fov, size=(4, 4))


def test_non_2to1_erp_is_rejected_with_advice():
    with pytest.raises(ValueError, match="twice as wide"):
        erp_to_perspective(torch.zeros(3, 10, 16), fov_x=90, size=(4, 4))
