"""Conditioning builder: crop, FOV placement on the latent grid, noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from panoworld.errors import InputError
from panoworld.pipelines import cover_resize_crop, initial_noise, latent_fov_mask, latent_frames, project_to_erp
from panoworld.pipelines.noise import latitude_warp_noise
from panoworld.sphere import lonlat_to_pixel, perspective_to_erp

ERP = (128, 256)  # pixels; latent 16 x 32
LATENT = (16, 32)


def _latent_mask(yaw: float, pitch: float, roll: float = 0.0) -> torch.Tensor:
    image = torch.rand(1, 3, 48, 64)
    _, pmask = project_to_erp(image, erp_size=ERP, fov_x=90.0, yaw=yaw, pitch=pitch, roll=roll)
    return latent_fov_mask(pmask.expand(5, -1, -1, -1), (2, *LATENT))[0, 0, 0]


def _cell(lon_deg: float, lat_deg: float) -> tuple[int, int]:
    xy = lonlat_to_pixel(torch.tensor([math.radians(lon_deg), math.radians(lat_deg)], dtype=torch.float64), *LATENT)
    return int(round(float(xy[1]))), int(round(float(xy[0]))) % LATENT[1]


@pytest.mark.parametrize("yaw,pitch", [(0, 0), (90, 0), (180, 0), (0, 30), (0, -30), (-90, 30)])
def test_latent_mask_sits_where_the_sphere_module_puts_the_view(yaw, pitch):
    mask = _latent_mask(yaw, pitch)
    pixel = perspective_to_erp(torch.rand(1, 3, 48, 64), fov_x=90.0, yaw=yaw, pitch=pitch, size=ERP)[1][0, 0]
    nearest = pixel[:: ERP[0] // LATENT[0], :: ERP[1] // LATENT[1]]  # nearest resize = every 8th pixel
    assert torch.equal(mask, (nearest > 0.5).float())
    row, col = _cell(yaw, pitch)
    assert mask[row, col] == 1  # the view centre
    arow, acol = _cell(yaw + 180, -pitch)
    assert mask[arow, acol] == 0  # the antipode
    rows = torch.nonzero(mask.any(dim=1)).squeeze(1).double()
    if pitch > 0:
        assert rows.mean() < LATENT[0] / 2 - 1
    elif pitch < 0:
        assert rows.mean() > LATENT[0] / 2
    else:
        assert abs(rows.mean() - (LATENT[0] - 1) / 2) < 0.6


def test_yaw_turns_the_mask_by_whole_columns_and_180_wraps_the_seam():
    front, right, back = _latent_mask(0, 0), _latent_mask(90, 0), _latent_mask(180, 0)
    assert torch.equal(torch.roll(front, LATENT[1] // 4, dims=1), right)
    assert torch.equal(torch.roll(front, LATENT[1] // 2, dims=1), back)
    cols = back.any(dim=0)
    assert cols[0] and cols[-1] and not cols[LATENT[1] // 2]


def test_pitch_sign_mirrors_vertically():
    # nearest resizing samples the top-left pixel of each 8x8 block (as the reference's F.interpolate does), so
    # the mirror image is exact up to that sub-cell offset: compare the row centroids
    def centroid(mask):
        rows = torch.arange(LATENT[0], dtype=torch.float64)[:, None].expand(LATENT)
        return float((rows * mask).sum() / mask.sum())

    assert abs(centroid(_latent_mask(0, 30)) - (LATENT[0] - 1 - centroid(_latent_mask(0, -30)))) < 1.0


def test_roll_is_honoured():
    assert not torch.equal(_latent_mask(0, 0, 30), _latent_mask(0, 0, 0))


def test_cover_resize_crop_keeps_the_centre():
    image = torch.zeros(3, 100, 300)
    image[:, :, 140:160] = 1.0  # a bright vertical band in the middle
    out = cover_resize_crop(image, (48, 64))
    assert out.shape == (3, 48, 64)
    assert out[:, :, 30:34].mean() > 0.9 and out[:, :, :10].max() < 0.05


def test_latent_frames_rejects_non_4k_plus_1():
    assert latent_frames(93) == 24 and latent_frames(1) == 1
    with pytest.raises(InputError, match="4k\\+1"):
        latent_frames(92)


def test_initial_noise_is_numpy_randomstate():
    shape = (1, 16, 3, 4, 8)
    expected = np.random.RandomState(42).standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(initial_noise(shape, 42).numpy(), expected)


def test_latitude_noise_keeps_unit_energy_and_stretches_near_the_poles():
    noise = initial_noise((64, 1, 1, 32, 64), 0)
    warped = latitude_warp_noise(noise)
    assert warped.shape == noise.shape
    assert abs(float((warped**2).mean()) - 1.0) < 0.05

    def neighbour_corr(rows):
        a, b = rows, torch.roll(rows, 1, dims=-1)
        return float((a * b).mean() / (a * a).mean())

    assert neighbour_corr(warped[..., :2, :]) > 0.8  # polar rows: strongly correlated along the row
    assert abs(neighbour_corr(warped[..., 15:17, :])) < 0.2  # equator: nearly white


@pytest.mark.parametrize("still", [True, False])
def test_batched_fov_conditionings_equal_single_calls(still):
    """B views in one guide encode and one reference encode give each view's single-call result within float
    rounding, for still images (one expanded still batch) and for moving perspective videos."""
    from panoworld.models.components import VideoVAE
    from panoworld.pipelines.conditioning import build_fov_conditioning, build_fov_conditionings

    vae = VideoVAE.tiny(seed=3, circular_longitude=True)
    g = torch.Generator().manual_seed(0)
    frames = [torch.rand(1 if still else 9, 3, 16, 22, generator=g) for _ in range(3)]
    cameras = [(90.0, -150.0, 5.0, 0.0), (70.0, 20.0, -10.0, 3.0), (110.0, 170.0, 0.0, -2.0)]
    seeds = [11, 12, 13]
    batched = build_fov_conditionings(frames, vae, num_frames=9, erp_size=(32, 64), cameras=cameras, seeds=seeds)
    assert len(batched) == 3
    for view, (fov_x, yaw, pitch, roll), seed, got in zip(frames, cameras, seeds, batched):
        one = build_fov_conditioning(view, vae, num_frames=9, erp_size=(32, 64), fov_x=fov_x, yaw=yaw, pitch=pitch,
                                     roll=roll, seed=seed)
        assert got.guide.shape == one.guide.shape == (1, 16, 3, 4, 8)
        torch.testing.assert_close(got.guide, one.guide, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(got.reference, one.reference, atol=1e-5, rtol=1e-5)
        assert torch.equal(got.mask, one.mask) and torch.equal(got.erp, one.erp)
    assert not torch.allclose(batched[0].reference, batched[1].reference)  # the views really differ
    with pytest.raises(ValueError, match="as many cameras"):
        build_fov_conditionings(frames, vae, num_frames=9, erp_size=(32, 64), cameras=cameras[:2], seeds=seeds)
