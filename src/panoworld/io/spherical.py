"""Spherical Video V1 metadata (Google's RFC) in MP4 files, so 360-degree players recognise ERP videos.

The metadata is an XML document inside a ``uuid`` box (UUID ffcc8263-f855-4a93-8814-587a02521fdd)
appended to the video track's ``trak`` box. Injection rewrites the file atomically and fixes
chunk offsets when the ``moov`` box precedes the media data.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from .atomic import atomic_write_bytes

__all__ = ["SPHERICAL_UUID", "inject_spherical_metadata", "read_spherical_metadata"]

SPHERICAL_UUID = bytes.fromhex("ffcc8263f8554a938814587a02521fdd")
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta"}

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


def _handler(data: bytes, trak) -> bytes:
    _, s, h, e = trak
    for mdia in _find(data, s + h, e, b"mdia"):
        for hdlr in _find(data, mdia[1] + mdia[2], mdia[3], b"hdlr"):
            body = hdlr[1] + hdlr[2]
            return data[body + 8 : body + 12]
    return b""


def _video_trak(data: bytes, moov):
    for trak in _find(data, moov[1] + moov[2], moov[3], b"trak"):
        if _handler(data, trak) == b"vide":
            return trak
    raise ValueError("no video track in MP4 file")


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


def inject_spherical_metadata(path: str | os.PathLike) -> None:
    """Mark an MP4 as a monoscopic equirectangular 360-degree video (Spherical Video V1), in place, atomically."""
    data = Path(path).read_bytes()
    if read_spherical_metadata(path) is not None:
        return
    moov = _find(data, 0, len(data), b"moov")
    if not moov:
        raise ValueError(f"{path}: no moov box (not an MP4 file?)")
    moov = moov[0]
    trak = _video_trak(data, moov)
    payload = SPHERICAL_UUID + _XML.encode("utf-8")
    box = struct.pack(">I4s", 8 + len(payload), b"uuid") + payload
    buf = bytearray(data[: trak[3]] + box + data[trak[3] :])
    _set_size(buf, trak, len(box))
    _set_size(buf, moov, len(box))
    mdat = _find(data, 0, len(data), b"mdat")
    if mdat and moov[1] < mdat[0][1]:
        _shift_chunk_offsets(buf, moov[1] + moov[2], moov[3] + len(box), len(box))
    atomic_write_bytes(path, bytes(buf))


def read_spherical_metadata(path: str | os.PathLike) -> dict[str, str] | None:
    """Return the Spherical Video V1 tags of an MP4's video track (e.g. ProjectionType), or None if absent."""
    data = Path(path).read_bytes()
    moov = _find(data, 0, len(data), b"moov")
    if not moov:
        return None
    try:
        trak = _video_trak(data, moov[0])
    except ValueError:
        return None
    for _, s, h, e in _find(data, trak[1] + trak[2], trak[3], b"uuid"):
        if data[s + h : s + h + 16] == SPHERICAL_UUID:
            xml = data[s + h + 16 : e].decode("utf-8", errors="replace")
            return dict(re.findall(r"<GSpherical:(\w+)>([^<]*)</GSpherical:\1>", xml))
    return None
