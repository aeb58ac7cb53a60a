"""ERP array operations: wrap padding, the seam-aware resize, query grids, wrapped coordinates."""

from __future__ import annotations

import pytest
import torch

from panoworld.sphere import query_grid, resize_erp, wrap_dx, wrap_pad, wrap_x
from tests.conftest import textured_erp


def test_wrap_pad_any_width():
    row = torch.arange(4.0)
    assert wrap_pad(row, 0) is row
    assert wrap_pad(row, 2).tolist() == [2, 3, 0, 1, 2, 3, 0, 1]
    assert wrap_pad(row, 6).tolist() == [2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1]  # wider than the image
    with pytest.raises(ValueError):
        wrap_pad(row, -1)


@pytest.mark.parametrize("size", [(16, 32), (48, 96), (20, 40), (64, 128)])
def test_resize_commutes_with_rotation_about_the_vertical_axis(size):
    """A yaw rotation by whole output columns is a roll: resizing must commute with it, seam included."""
    erp = textured_erp(32, 64, dtype=torch.float32)[None]
    step_out = size[1] // 8
    step_in = 64 // 8
    a = torch.roll(resize_erp(erp, size), step_out, dims=-1)
    b = resize_erp(torch.roll(erp, step_in, dims=-1), size)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_resize_keeps_leading_dims_constants_and_range():
    x = torch.rand(2, 3, 1, 16, 32)
    out = resize_erp(x, (8, 16))
    assert out.shape == (2, 3, 1, 8, 16) and float(out.min()) >= 0 and float(out.max()) <= 1 + 1e-6
    torch.testing.assert_close(resize_erp(torch.full((1, 1, 8, 16), 0.25), (5, 10)), torch.full((1, 1, 5, 10), 0.25))
    assert resize_erp(x, (16, 32)) is x


def test_seam_columns_see_each_other():
    img = torch.zeros(1, 1, 16, 32)
    img[..., 0] = 1.0  # bright first column: after shrinking both edge columns see it
    out = resize_erp(img, (8, 16))
    assert float(out[0, 0, 4, -1]) > 0.05 and float(out[0, 0, 4, 0]) > 0.2
    up = resize_erp(img, (32, 64))  # enlarging: the last column interpolates towards the first
    assert float(up[0, 0, 4, -1]) > 0.1


def test_query_grid_cell_centres():
    q = query_grid(4, 8, 2)
    assert q.dtype == torch.float32 and q.tolist() == [[1.5, 0.5], [5.5, 0.5], [1.5, 2.5], [5.5, 2.5]]
    shifted = query_grid(4, 8, 2, x_offset=3, dtype=torch.float64)
    assert shifted.dtype == torch.float64 and torch.equal(shifted[:, 0], q[:, 0].double() + 3)


def test_wrapped_coordinates():
    x = torch.tensor([-0.5, -0.6, 63.4, 63.5, 130.0])
    assert torch.allclose(wrap_x(x, 64), torch.tensor([-0.5, 63.4, 63.4, -0.5, 2.0]))
    assert torch.allclose(wrap_dx(torch.tensor([63.0, -63.0, 10.0, 32.0]), 64), torch.tensor([-1.0, 1.0, 10.0, -32.0]))
