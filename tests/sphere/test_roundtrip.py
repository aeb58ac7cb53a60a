"""Round trips, agreement with py360convert, dtypes, batching, gradients and devices."""

import math

import numpy as np
import pytest
import torch

from panoworld.sphere import cubemap_to_erp, erp_to_cubemap, erp_to_perspective, perspective_to_erp
from tests.conftest import psnr, textured_erp, textured_image


def test_perspective_erp_perspective_roundtrip_is_at_least_35db():
    # 96x128 at fov 90 (focal 64 px) -> ERP 384x768 (1.9 ERP px per view px at the centre, about 1 at the
    # window's corners, i.e. matched sampling density) -> back.
    img = textured_image(96, 128)
    erp, mask = perspective_to_erp(img, fov_x=90, yaw=40, pitch=15, roll=5, size=(384, 768))
    back = erp_to_perspective(erp, fov_x=90, yaw=40, pitch=15, roll=5, size=(96, 128))
    inner = torch.zeros(1, 96, 128, dtype=torch.float64)
    inner[:, 2:-2, 2:-2] = 1  # the outermost pixels mix with the black outside the window
    value = psnr(back, img, inner)
    assert value >= 35.0, value  # measured on 2026-11-23: 38.5 dB


def test_erp_cubemap_erp_roundtrip_is_at_least_35db():
    # Face size W / pi = 82 px matches the ERP's equatorial sampling density at the face centres.
    erp = textured_erp(128, 256)
    faces = erp_to_cubemap(erp, 82)
    assert faces.shape == (6, 3, 82, 82)
    back = cubemap_to_erp(faces, (128, 256))
    value = psnr(back, erp)
    assert value >= 35.0, value  # measured on 2026-11-23: 39.3 dB


def test_cubemap_faces_are_where_the_convention_says():
    from panoworld.sphere import erp_directions

    rays = erp_directions(64, 128, dtype=torch.float64).permute(2, 0, 1)
    faces = erp_to_cubemap(rays, 9)
    centre = faces[..., 4, 4]  # (6, 3) ray at each face centre
    expected = torch.tensor(
        [[0, 0, 1], [1, 0, 0], [0, 0, -1], [-1, 0, 0], [0, -1, 0], [0, 1, 0]], dtype=torch.float64
    )
    assert torch.allclose(centre / centre.norm(dim=-1, keepdim=True), expected, atol=0.02)
    # Side faces are upright: the top row looks up (y < 0), the bottom row down.
    assert (faces[:4, 1, 0, 4] < 0).all() and (faces[:4, 1, -1, 4] > 0).all()
    # The up face's bottom edge and the down face's top edge touch the front face (+z).
    assert faces[4, 2, -1, 4] > 0.5 and faces[5, 2, 0, 4] > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_agrees_with_py360convert(seed):
    py360convert = pytest.importorskip("py360convert")
    gen = torch.Generator().manual_seed(seed)
    yaw = float(torch.empty(1).uniform_(-170, 170, generator=gen))
    pitch = float(torch.empty(1).uniform_(-60, 60, generator=gen))
    erp = textured_erp(256, 512)
    ours = erp_to_perspective(erp, fov_x=90, yaw=yaw, pitch=pitch, size=(120, 160))
    fov_y = math.degrees(2 * math.atan(math.tan(math.radians(45)) * 120 / 160))
    # py360convert: u_deg > 0 looks right, v_deg > 0 looks up (same signs as ours), HWC numpy.
    theirs = py360convert.e2p(
        erp.permute(1, 2, 0).numpy(), fov_deg=(90, fov_y), u_deg=yaw, v_deg=pitch, out_hw=(120, 160)
    )
    theirs = torch.from_numpy(np.ascontiguousarray(theirs)).permute(2, 0, 1)
    value = psnr(ours, theirs)
    assert value >= 35.0, value  # measured 38-39 dB: the two differ by half-pixel grid conventions


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_dtypes_and_leading_batch_dims(dtype):
    erp = textured_erp(32, 64).to(dtype)
    batch = torch.stack([erp, erp.flip(-1)])[:, None].expand(2, 3, 3, 32, 64)  # (B, T, C, H, W)
    view = erp_to_perspective(batch, fov_x=80, yaw=10, size=(12, 16))
    assert view.shape == (2, 3, 3, 12, 16) and view.dtype == dtype
    single = erp_to_perspective(erp.flip(-1), fov_x=80, yaw=10, size=(12, 16))
    assert torch.allclose(view[1, 2].double(), single.double(), atol=1e-3)
    canvas, mask = perspective_to_erp(view, fov_x=80, yaw=10, size=(32, 64))
    assert canvas.shape == (2, 3, 3, 32, 64) and mask.shape == (2, 3, 1, 32, 64) and canvas.dtype == dtype
    assert (canvas * (1 - mask)).abs().max() == 0


def test_differentiable_with_respect_to_the_image():
    erp = textured_erp(32, 64).float().requires_grad_(True)
    view = erp_to_perspective(erp, fov_x=90, yaw=179, pitch=80, size=(16, 16))
    faces = erp_to_cubemap(erp, 8)
    (view.sum() + faces.sum()).backward()
    assert erp.grad is not None and erp.grad.abs().sum() > 0
    img = textured_image(16, 16).float().requires_grad_(True)
    canvas, _ = perspective_to_erp(img, fov_x=90, yaw=180, size=(32, 64))
    canvas.sum().backward()
    assert img.grad.abs().sum() > 0


def test_nearest_mode_copies_source_pixels():
    erp = torch.arange(32 * 64, dtype=torch.float64).view(1, 32, 64)
    view = erp_to_perspective(erp, fov_x=90, yaw=179, size=(10, 10), mode="nearest")
    assert set(view.flatten().tolist()) <= set(erp.flatten().tolist())


def test_seam_is_wrapped_not_black_or_duplicated():
    erp = textured_erp(64, 128)
    view = erp_to_perspective(erp, fov_x=30, yaw=180, size=(32, 32))
    rolled = erp_to_perspective(torch.roll(erp, 64, dims=-1), fov_x=30, yaw=0, size=(32, 32))
    assert torch.allclose(view, rolled, atol=1e-9)
    assert view.min() > 0.01


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_matches_cpu_batched():
    erp = textured_erp(128, 256).float()[None].repeat(4, 1, 1, 1)
    cpu = erp_to_perspective(erp, fov_x=90, yaw=170, pitch=20, size=(48, 64))
    gpu = erp_to_perspective(erp.cuda(), fov_x=90, yaw=170, pitch=20, size=(48, 64)).cpu()
    assert torch.allclose(cpu, gpu, atol=1e-4)
    c_cpu, m_cpu = perspective_to_erp(cpu, fov_x=90, yaw=180, size=(128, 256))
    c_gpu, m_gpu = perspective_to_erp(cpu.cuda(), fov_x=90, yaw=180, size=(128, 256))
    assert torch.equal(m_cpu, m_gpu.cpu()) and torch.allclose(c_cpu, c_gpu.cpu(), atol=1e-4)
    faces = erp_to_cubemap(erp.cuda(), 32)
    assert torch.allclose(cubemap_to_erp(faces, (128, 256)).cpu(), cubemap_to_erp(faces.cpu(), (128, 256)), atol=1e-4)
