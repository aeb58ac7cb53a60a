"""Spherical Video V1 + V2 metadata, checked with a box reader written here (not the injector's code)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from panoworld.io import (
    inject_spherical_metadata,
    read_spherical_metadata,
    read_spherical_v2,
    read_video,
    write_video,
)

av = pytest.importorskip("av")  # a dependency; only the bare GPU test machine lacks it

GSPHERICAL_UUID = "ffcc8263-f855-4a93-8814-587a02521fdd"
# Boxes whose payload is only child boxes, and sample entries whose children follow fixed fields.
PLAIN_CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "sv3d", "proj", "edts", "udta"}
VISUAL_ENTRIES = {"avc1", "avc3", "hvc1", "hev1", "mp4v"}


def parse_tree(data: bytes, offset: int = 0, end: int | None = None) -> list[dict]:
    """Every box as {"type", "start", "end", "body", "children"}; sizes 0 (to end) and 1 (64-bit) handled."""
    end = len(data) if end is None else end
    boxes = []
    while offset < end:
        (size,) = struct.unpack_from(">I", data, offset)
        kind = data[offset + 4 : offset + 8].decode("latin-1")
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        assert size >= header and offset + size <= end, f"box {kind} at {offset} overflows its parent"
        body = offset + header
        box = {"type": kind, "start": offset, "end": offset + size, "body": body, "children": []}
        if kind in PLAIN_CONTAINERS:
            box["children"] = parse_tree(data, body, offset + size)
        elif kind == "stsd":  # FullBox header (4) + entry_count (4), then sample entries
            box["children"] = parse_tree(data, body + 8, offset + size)
        elif kind in VISUAL_ENTRIES:  # 6 reserved + 2 index + 70 bytes of visual fields, then child boxes
            box["children"] = parse_tree(data, body + 78, offset + size)
        boxes.append(box)
        offset += size
    return boxes


def child(box_list: list[dict], kind: str) -> dict:
    found = [b for b in box_list if b["type"] == kind]
    assert found, f"no {kind} box among {[b['type'] for b in box_list]}"
    return found[0]


def video_track(tree: list[dict], data: bytes) -> dict:
    for trak in child(tree, "moov")["children"]:
        if trak["type"] != "trak":
            continue
        hdlr = child(child(trak["children"], "mdia")["children"], "hdlr")
        if data[hdlr["body"] + 8 : hdlr["body"] + 12] == b"vide":
            return trak
    raise AssertionError("no video track")


def spherical_boxes(path) -> tuple[str | None, dict | None]:
    """(V1 XML text or None, V2 fields or None) of the file's video track."""
    data = path.read_bytes()
    tree = parse_tree(data)
    trak = video_track(tree, data)
    xml = None
    for box in trak["children"]:
        if box["type"] == "uuid":
            uid = data[box["body"] : box["body"] + 16].hex()
            if uid == GSPHERICAL_UUID.replace("-", ""):
                xml = data[box["body"] + 16 : box["end"]].decode("utf-8")
    stbl = child(child(child(trak["children"], "mdia")["children"], "minf")["children"], "stbl")
    entry = child(stbl["children"], "stsd")["children"][0]
    sv3d = [b for b in entry["children"] if b["type"] == "sv3d"]
    if not sv3d:
        return xml, None
    svhd = child(sv3d[0]["children"], "svhd")
    proj = child(sv3d[0]["children"], "proj")
    prhd = child(proj["children"], "prhd")
    equi = child(proj["children"], "equi")
    v2 = {
        "entry": entry["type"],
        "svhd_version_flags": data[svhd["body"] : svhd["body"] + 4],
        "source": data[svhd["body"] + 4 : svhd["end"]],
        "prhd_version_flags": data[prhd["body"] : prhd["body"] + 4],
        "pose_16_16": struct.unpack_from(">iii", data, prhd["body"] + 4),
        "prhd_size": prhd["end"] - prhd["start"],
        "equi_version_flags": data[equi["body"] : equi["body"] + 4],
        "bounds_0_32": struct.unpack_from(">IIII", data, equi["body"] + 4),
        "equi_size": equi["end"] - equi["start"],
        "proj_order": [b["type"] for b in proj["children"]],
    }
    return xml, v2


def frames(n: int = 9) -> torch.Tensor:
    t = torch.linspace(0, 1, n)[:, None, None, None]
    y, x = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 64), indexing="ij")
    return torch.stack([x + 0 * y, y + 0 * x, (x * y)], 0)[None].mul(0.5).add(0.25 * t).clamp(0, 1)


def check_both(path) -> None:
    xml, v2 = spherical_boxes(path)
    assert xml is not None and "<GSpherical:ProjectionType>equirectangular</GSpherical:ProjectionType>" in xml
    assert "<GSpherical:Spherical>true</GSpherical:Spherical>" in xml
    assert v2 is not None and v2["entry"] == "avc1"
    assert v2["svhd_version_flags"] == b"\0\0\0\0" and v2["source"] == b"panoworld\0"
    assert v2["prhd_version_flags"] == b"\0\0\0\0" and v2["pose_16_16"] == (0, 0, 0) and v2["prhd_size"] == 24
    assert v2["equi_version_flags"] == b"\0\0\0\0" and v2["bounds_0_32"] == (0, 0, 0, 0) and v2["equi_size"] == 28
    assert v2["proj_order"] == ["prhd", "equi"]


def test_every_spherical_write_carries_v1_and_v2_and_still_decodes(tmp_path):
    plain = write_video(tmp_path / "plain.mp4", frames(), 16)
    erp = write_video(tmp_path / "erp.mp4", frames(), 16, spherical=True)
    assert spherical_boxes(plain) == (None, None)
    check_both(erp)
    assert read_spherical_v2(plain) is None
    assert read_spherical_v2(erp) == {"metadata_source": "panoworld", "yaw": 0.0, "pitch": 0.0, "roll": 0.0,
                                      "projection": "equirectangular", "bounds": (0.0, 0.0, 0.0, 0.0)}
    assert torch.equal(read_video(erp), read_video(plain))  # the same pixels decode after injection


def test_injection_adds_v2_to_a_v1_only_file_and_is_idempotent(tmp_path):
    path = write_video(tmp_path / "v.mp4", frames(), 16)
    inject_spherical_metadata(path)
    once = path.read_bytes()
    inject_spherical_metadata(path)
    assert path.read_bytes() == once  # nothing is added twice
    check_both(path)
    assert read_spherical_metadata(path)["ProjectionType"] == "equirectangular"


def test_injection_fixes_chunk_offsets_when_moov_comes_first(tmp_path):
    path = tmp_path / "fast.mp4"
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=16)
        s.width, s.height, s.pix_fmt = 64, 32, "yuv420p"
        for arr in (frames() * 255).byte().permute(0, 2, 3, 1).numpy():
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    data = path.read_bytes()
    tree = parse_tree(data)
    assert [b["type"] for b in tree].index("moov") < [b["type"] for b in tree].index("mdat")
    before = read_video(path)
    inject_spherical_metadata(path)
    check_both(path)
    assert torch.equal(read_video(path), before)


def test_not_an_mp4_is_refused(tmp_path):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(struct.pack(">I4s", 16, b"free") + b"\0" * 8)
    with pytest.raises(ValueError):
        inject_spherical_metadata(bad)
    assert read_spherical_v2(bad) is None
