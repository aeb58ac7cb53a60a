"""Spherical Video metadata (Google's V1 and V2 RFCs) in MP4 files, so 360-degree players recognise ERP videos.

- **V1**: an XML document inside a ``uuid`` box (UUID ffcc8263-f855-4a93-8814-587a02521fdd) appended to the
  video track's ``trak`` box.
- **V2**: an ``sv3d`` box appended to the video track's VisualSampleEntry (``moov/trak/mdia/minf/stbl/stsd/avc1``)
  holding ``svhd`` (metadata source) and ``proj`` = ``prhd`` (pose: yaw, pitch, roll as 16.16 fixed-point
  degrees) + ``equi`` (projection bounds top, bottom, left, right as 0.32 fixed-point fractions, all 0 for a
  full sphere). Players that know V2 prefer it over V1.

:func:`inject_spherical_metadata` writes whichever of the two is missing (so every ``VideoWriter(...,
spherical=True)`` file carries both), rewrites the file atomically and fixes chunk offsets when the ``moov`` box
precedes the media data.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from .atomic import atomic_write_bytes

__all__ = [
    "SPHERICAL_UUID",
    "METADATA_SOURCE",
    "inject_spherical_metadata",
    "read_spherical_metadata",
    "read_spherical_v2",
]

SPHERICAL_UUID = bytes.fromhex("ffcc8263f8554a938814587a02521fdd")
#: ``svhd`` metadata source string (the tool that wrote the V2 metadata).
METADATA_SOURCE = "panoworld"
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta"}
#: Bytes of a VisualSampleEntry before its child boxes (ISO/IEC 14496-12 §12.1.3), after the 8-byte box header.
_VISUAL_SAMPLE_ENTRY_FIELDS = 78

_XML = (
    '<?xml version="1.0"?>'
    '<rdf:SphericalVideo xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:GSpherical="http://ns.google.com/videos/1.0/spherical/">'
    "<GSpherical:Spherical>true</GSpherical:Spherical>"
    "<GSpherical:Stitched>true</GSpherical:Stitched>"
    "<GSpherical:StitchingSoftware>panoworld</GSpherical:StitchingSoftware>"
    "<GSpherical:ProjectionType>equirectangular</GSpherical:ProjectionType>"
    "</rdf:SphericalVideo>"
)


def _boxes(data: bytes, start: int, end: int):
    """Yield (type, box_start, header_size, box_end) for the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError("malformed MP4 box structure")
        yield kind, pos, header, pos + size
        pos += size


def _find(data: bytes, start: int, end: int, kind: bytes):
    return [b for b in _boxes(data, start, end) if b[0] == kind]


def _child(data: bytes, box, kind: bytes):
    """The first child box of ``kind`` inside ``box`` (None if absent)."""
    found = _find(data, box[1] + box[2], box[3], kind)
    return found[0] if found else None


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def _handler(data: bytes, trak) -> bytes:
    mdia = _child(data, trak, b"mdia")
    hdlr = _child(data, mdia, b"hdlr") if mdia else None
    if hdlr is None:
        return b""
    body = hdlr[1] + hdlr[2]
    return data[body + 8 : body + 12]


def _moov(data: bytes):
    moov = _find(data, 0, len(data), b"moov")
    return moov[0] if moov else None


def _video_trak(data: bytes, moov):
    for trak in _find(data, moov[1] + moov[2], moov[3], b"trak"):
        if _handler(data, trak) == b"vide":
            return trak
    raise ValueError("no video track in MP4 file")


def _sample_entry_path(data: bytes, trak) -> list:
    """[trak, mdia, minf, stbl, stsd, first sample entry] boxes of a video track."""
    path = [trak]
    for kind in (b"mdia", b"minf", b"stbl", b"stsd"):
        box = _child(data, path[-1], kind)
        if box is None:
            raise ValueError(f"video track has no {kind.decode()} box")
        path.append(box)
    stsd = path[-1]
    entries = list(_boxes(data, stsd[1] + stsd[2] + 8, stsd[3]))  # FullBox: version/flags + entry_count
    if not entries:
        raise ValueError("video track has no sample description")
    return path + [entries[0]]


def _shift_chunk_offsets(buf: bytearray, start: int, end: int, delta: int) -> None:
    for kind, s, h, e in _boxes(bytes(buf), start, end):
        if kind in _CONTAINERS:
            _shift_chunk_offsets(buf, s + h, e, delta)
        elif kind in (b"stco", b"co64"):
            count = struct.unpack(">I", buf[s + h + 4 : s + h + 8])[0]
            fmt, width = (">I", 4) if kind == b"stco" else (">Q", 8)
            pos = s + h + 8
            for _ in range(count):
                struct.pack_into(fmt, buf, pos, struct.unpack(fmt, buf[pos : pos + width])[0] + delta)
                pos += width


def _set_size(buf: bytearray, box, grow: int) -> None:
    _, s, h, e = box
    if h == 16:
        struct.pack_into(">Q", buf, s + 8, e - s + grow)
    else:
        struct.pack_into(">I", buf, s, e - s + grow)


def _append_to(data: bytes, ancestors: list, new_box: bytes) -> bytes:
    """Insert ``new_box`` at the end of ``ancestors[-1]``, growing every ancestor (outermost first) and moving
    chunk offsets when the media data follows ``moov`` (``ancestors[0]``)."""
    moov, target = ancestors[0], ancestors[-1]
    buf = bytearray(data[: target[3]] + new_box + data[target[3] :])
    for box in ancestors:
        _set_size(buf, box, len(new_box))
    mdat = _find(data, 0, len(data), b"mdat")
    if mdat and moov[1] < mdat[0][1]:
        _shift_chunk_offsets(buf, moov[1] + moov[2], moov[3] + len(new_box), len(new_box))
    return bytes(buf)


def _v1_box() -> bytes:
    return _box(b"uuid", SPHERICAL_UUID + _XML.encode("utf-8"))


def _v2_box(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> bytes:
    """``sv3d`` for a monoscopic full-sphere equirectangular video with the given pose (degrees)."""
    svhd = _full_box(b"svhd", METADATA_SOURCE.encode("utf-8") + b"\0")
    prhd = _full_box(b"prhd", struct.pack(">iii", *(round(a * 65536) for a in (yaw, pitch, roll))))
    equi = _full_box(b"equi", struct.pack(">IIII", 0, 0, 0, 0))
    return _box(b"sv3d", svhd + _box(b"proj", prhd + equi))


def inject_spherical_metadata(path: str | os.PathLike) -> None:
    """Mark an MP4 as a monoscopic equirectangular 360-degree video (Spherical Video V1 and V2), in place,
    atomically. Metadata already present is kept; nothing is written when both versions are there."""
    data = Path(path).read_bytes()
    moov = _moov(data)
    if moov is None:
        raise ValueError(f"{path}: no moov box (not an MP4 file?)")
    changed = False
    if _read_v1(data) is None:
        data = _append_to(data, [moov, _video_trak(data, moov)], _v1_box())
        changed = True
    if _read_v2(data) is None:
        moov = _moov(data)
        data = _append_to(data, [moov, *_sample_entry_path(data, _video_trak(data, moov))], _v2_box())
        changed = True
    if changed:
        atomic_write_bytes(path, data)


def _read_v1(data: bytes) -> dict[str, str] | None:
    moov = _moov(data)
    if moov is None:
        return None
    try:
        trak = _video_trak(data, moov)
    except ValueError:
        return None
    for _, s, h, e in _find(data, trak[1] + trak[2], trak[3], b"uuid"):
        if data[s + h : s + h + 16] == SPHERICAL_UUID:
            xml = data[s + h + 16 : e].decode("utf-8", errors="replace")
            return dict(re.findall(r"<GSpherical:(\w+)>([^<]*)</GSpherical:\1>", xml))
    return None


def _read_v2(data: bytes) -> dict | None:
    moov = _moov(data)
    if moov is None:
        return None
    try:
        entry = _sample_entry_path(data, _video_trak(data, moov))[-1]
    except ValueError:
        return None
    sv3d = next(iter(_find(data, entry[1] + entry[2] + _VISUAL_SAMPLE_ENTRY_FIELDS, entry[3], b"sv3d")), None)
    if sv3d is None:
        return None
    out: dict = {}
    svhd, proj = _child(data, sv3d, b"svhd"), _child(data, sv3d, b"proj")
    if svhd is not None:
        out["metadata_source"] = data[svhd[1] + svhd[2] + 4 : svhd[3]].split(b"\0")[0].decode("utf-8", "replace")
    if proj is None:
        return out
    prhd = _child(data, proj, b"prhd")
    if prhd is not None:
        angles = struct.unpack(">iii", data[prhd[1] + prhd[2] + 4 : prhd[1] + prhd[2] + 16])
        out.update(zip(("yaw", "pitch", "roll"), (a / 65536 for a in angles)))
    equi = _child(data, proj, b"equi")
    if equi is not None:
        bounds = struct.unpack(">IIII", data[equi[1] + equi[2] + 4 : equi[1] + equi[2] + 20])
        out["projection"] = "equirectangular"
        out["bounds"] = tuple(b / 2**32 for b in bounds)
    elif _child(data, proj, b"cbmp") is not None:
        out["projection"] = "cubemap"
    return out


def read_spherical_metadata(path: str | os.PathLike) -> dict[str, str] | None:
    """Return the Spherical Video V1 tags of an MP4's video track (e.g. ProjectionType), or None if absent."""
    return _read_v1(Path(path).read_bytes())


def read_spherical_v2(path: str | os.PathLike) -> dict | None:
    """Return the Spherical Video V2 (``sv3d``) metadata of an MP4's video track, or None if absent.

    Keys (those present): ``metadata_source``; ``yaw``, ``pitch``, ``roll`` (pose, degrees); ``projection``
    (``"equirectangular"`` or ``"cubemap"``); ``bounds`` (top, bottom, left, right crop fractions, equirectangular).
    """
    return _read_v2(Path(path).read_bytes())
