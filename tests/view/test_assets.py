"""Pre-rendered assets: depth colours and legend, the FOV outline, cube faces, tracks, script-wrapped videos."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch

from panoworld.io import probe_video, read_video, write_video
from panoworld.sphere import erp_lonlat, erp_to_cubemap, erp_to_perspective
from panoworld.view import Geometry
from panoworld.view.assets import (
    CUBE_LAYOUT,
    tracks_payload,
    write_cube_video,
    write_depth_video,
    write_erp_video,
    write_script_asset,
)
from panoworld.view.depth import DepthScale, colourise, depth_scale, legend
from panoworld.view.fov import fov_outline, vertical_fov
from tests.conftest import textured_erp


def test_depth_colours_near_red_far_blue_invalid_black():
    scale = DepthScale(1.0, 100.0)
    rgb = colourise(np.array([[1.0, 10.0, 100.0, np.nan, 0.0, -1.0]]), scale)[0]
    near, mid, far = rgb[:3]
    assert near[0] > 0.6 and near[2] < 0.1  # red
    assert far[2] > far[0] and far.max() < 0.3  # dark blue
    assert mid[1] > 0.8  # green half way (log scale: 10 m is the middle of 1..100 m)
    assert np.all(rgb[3:] == 0)


def test_depth_scale_uses_robust_percentiles():
    depth = np.full((10, 100), 5.0)
    depth[0, 0] = 1e6  # one outlier does not stretch the scale
    depth[1] = np.linspace(2.0, 8.0, 100)
    scale = depth_scale(depth)
    assert 2.0 <= scale.near_m < 5.0 and 5.0 < scale.far_m <= 8.0


def test_legend_ticks_are_round_metres_in_order():
    data = legend(DepthScale(0.8, 150.0))
    labels = [t["label"] for t in data["ticks"]]
    assert labels == ["1 m", "2 m", "5 m", "10 m", "20 m", "50 m", "100 m"]
    positions = [t["at"] for t in data["ticks"]]
    assert positions == sorted(positions) and 0 < positions[0] and positions[-1] < 1
    assert abs(positions[3] - np.log(10 / 0.8) / np.log(150 / 0.8)) < 1e-3
    assert len(data["colours"]) == 16 and all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in data["colours"])
    narrow = legend(DepthScale(3.1, 4.2))  # no round value inside: the two ends are labelled
    assert [t["label"] for t in narrow["ticks"]] == ["3.1 m", "4.2 m"]


@pytest.mark.parametrize("camera", [dict(fov_x=90.0), dict(fov_x=70.0, yaw=150.0, pitch=-20.0, roll=15.0)])
def test_fov_outline_follows_the_border_of_the_rendered_view(camera):
    """Render the ERP of every pixel's own ray as a perspective view: its border pixels lie on the outline."""
    height, width = 64, 128
    lonlat = erp_lonlat(height, width, dtype=torch.float64)
    erp = torch.stack([torch.cos(lonlat[..., 1]) * torch.sin(lonlat[..., 0]), -torch.sin(lonlat[..., 1]),
                       torch.cos(lonlat[..., 1]) * torch.cos(lonlat[..., 0])])  # unit ray per pixel
    h, w = 30, 40
    view = erp_to_perspective(erp.float(), size=(h, w), **camera).double()  # (3, h, w) rays at the view's pixels
    border = torch.cat([view[:, 0], view[:, -1], view[:, :, 0], view[:, :, -1]], dim=1).T
    border = border / border.norm(dim=-1, keepdim=True)
    outline = torch.deg2rad(fov_outline(aspect=h / w, points_per_side=64, **camera))
    rays = torch.stack([torch.cos(outline[:, 1]) * torch.sin(outline[:, 0]), -torch.sin(outline[:, 1]),
                        torch.cos(outline[:, 1]) * torch.cos(outline[:, 0])], -1)
    nearest = torch.rad2deg(torch.arccos((border @ rays.T).clamp(-1, 1)).min(dim=1).values)
    pixel_deg = camera["fov_x"] / w
    assert nearest.max() < 1.5 * pixel_deg  # border pixel centres are half a pixel inside the outline
    assert abs(vertical_fov(90.0, 3, 4) - 73.74) < 0.01


def test_cube_video_places_faces_in_a_cross(tmp_path):
    frames = torch.stack([textured_erp(64, 128, dtype=torch.float32).roll(8 * t, -1) for t in range(3)])
    src = write_video(tmp_path / "erp.mp4", frames, 16)
    info = write_cube_video(src, tmp_path / "cube.mp4", face=32)
    cube = read_video(tmp_path / "cube.mp4")
    assert cube.shape == (3, 3, 96, 128) and info["face"] == 32
    expected = erp_to_cubemap(read_video(src), 32)
    for index, (row, col) in enumerate(CUBE_LAYOUT):
        cell = cube[:, :, 32 * row : 32 * row + 32, 32 * col : 32 * col + 32]
        errors = [(cell - expected[:, k]).abs().mean().item() for k in range(6)]
        assert int(np.argmin(errors)) == index and errors[index] < 0.1, (info["names"][index], errors)
    assert cube[:, :, :32, :32].max() < 0.05  # empty cells stay black


def test_depth_video_holds_the_nearest_depth_frame(tmp_path):
    depth = np.stack([np.full((32, 64), d, np.float32) for d in (1.0, 4.0, 16.0)])
    geo = Geometry(size=(32, 64), depth=depth, depth_times=np.array([0.0, 0.5, 1.0]))
    info = write_depth_video(geo, tmp_path / "d.mp4", fps=4, frames=5)  # t = 0, .25, .5, .75, 1
    video = read_video(tmp_path / "d.mp4")
    assert video.shape[0] == 5 and probe_video(tmp_path / "d.mp4").fps == 4
    means = video.mean(dim=(2, 3))  # frames at 0, .25, .5, .75, 1 s show maps 0, 0, 1, 1, 2 (ties: the earlier)
    assert torch.allclose(means[0], means[1], atol=0.02) and torch.allclose(means[2], means[3], atol=0.02)
    assert (means[0] - means[2]).abs().max() > 0.1 and (means[2] - means[4]).abs().max() > 0.1
    assert info["legend"]["ticks"][0]["label"].endswith(" m")


def test_tracks_payload_normalises_pixels_and_visibility():
    tracks = np.array([[[127.4, 0.0], [0.6, 31.0]]], np.float64)  # crosses the seam
    geo = Geometry(size=(32, 128), tracks=tracks, visibility=np.array([[True, False]]),
                   track_times=np.array([0.0, 0.25]))
    data = tracks_payload(geo)
    assert data["times"] == [0.0, 0.25]
    (track,) = data["tracks"]
    assert track["vis"] == "10"
    assert track["uv"] == pytest.approx([(127.9 / 128) % 1, 0.5 / 32, 1.1 / 128, 31.5 / 32], abs=1e-4)
    many = Geometry(size=(32, 64), tracks=np.zeros((1000, 2, 2)), visibility=np.ones((1000, 2), bool),
                    track_times=np.array([0.0, 1.0]))
    assert len(tracks_payload(many)["tracks"]) == 256


def test_erp_video_script_asset_holds_the_exact_file(tmp_path):
    src = write_video(tmp_path / "erp.mp4", textured_erp(32, 64, dtype=torch.float32)[None].expand(5, -1, -1, -1), 8)
    info = write_erp_video(src, tmp_path / "v.mp4.js", "clips/c000/v.mp4.js")
    text = (tmp_path / "v.mp4.js").read_text()
    match = re.fullmatch(r'PanoworldView\.register\("clips/c000/v\.mp4\.js", "([A-Za-z0-9+/=]+)"\);\n', text)
    assert match and base64.b64decode(match.group(1)) == src.read_bytes()
    assert info == {"width": 64, "height": 32, "fps": 8.0, "frames": 5, "duration": 0.625}
    write_script_asset(tmp_path / "t.js", "t.js", {"a": [1, 2]})
    assert json.loads((tmp_path / "t.js").read_text()[len('PanoworldView.register("t.js", '):-3]) == {"a": [1, 2]}


def test_a_video_that_is_not_2_to_1_is_refused(tmp_path):
    from panoworld.errors import InputError

    src = write_video(tmp_path / "wide.mp4", torch.rand(2, 3, 32, 96), 8)
    with pytest.raises(InputError, match="not a 2:1 equirectangular"):
        write_erp_video(src, tmp_path / "v.mp4.js", "v.mp4.js")


def test_non_h264_erp_is_reencoded(tmp_path):
    import av

    path = tmp_path / "mpeg4.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 64, 3), 90, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    write_erp_video(path, tmp_path / "v.mp4.js", "v.mp4.js")
    text = (tmp_path / "v.mp4.js").read_text()
    data = base64.b64decode(text.split('"')[3])
    (tmp_path / "back.mp4").write_bytes(data)
    with av.open(str(tmp_path / "back.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert read_video(tmp_path / "back.mp4").shape == (3, 3, 32, 64)


def test_a_narrow_depth_range_gets_finer_ticks():
    labels = [t["label"] for t in legend(DepthScale(1.4, 5.5))["ticks"]]
    assert labels == ["1.5 m", "2 m", "3 m", "4 m", "5 m"]
