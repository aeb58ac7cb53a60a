"""A test set: ``master.csv`` (reference §9.2 schema plus our columns) and the split folder around it.

Layout of a split folder (written by ``panoworld synth``; a released test set has the same ``master.csv``)::

    master.csv                                one row per clip, paths relative to this folder (or absolute)
    split.json                                the settings the split was made with (synth only)
    videos/<name>.mp4                         ERP video
    inputs/<name>.png, inputs/<name>.json     perspective input (frame 0) and its fov / yaw / pitch / roll
    captions/<name>.json                      captions (``panoworld.formats.captions``)
    annotations/<split>__<name>/              geometry annotations (``panoworld.formats.annotations``)

Clip ids: ``<split>::<name>``; an id without ``::`` is a bare name whose split is the ``split`` column (else
``default``). The one folder name of a clip, wherever per-clip folders are made (annotations, method results),
is ``<split>__<name>`` (:func:`clip_dirname`).

Schema version 1: columns :data:`MASTER_COLUMNS` (``clip_id`` and ``video_path`` required, the rest optional;
unknown columns are kept in :attr:`TestClip.extra`). ``resolution`` is ``WIDTHxHEIGHT`` (the reference's order);
flags are ``1``/``0`` (``true``/``yes`` read as 1).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from panoworld.errors import InputError
from panoworld.io.atomic import atomic_write_text

from .captions import read_captions

__all__ = [
    "TESTSET_VERSION",
    "MASTER_CSV",
    "SPLIT_SETTINGS",
    "MASTER_COLUMNS",
    "REQUIRED_COLUMNS",
    "TestClip",
    "TestSetLayout",
    "make_clip_id",
    "parse_clip_id",
    "clip_dirname",
    "read_master",
    "write_master",
]

TESTSET_VERSION = 1
MASTER_CSV = "master.csv"
SPLIT_SETTINGS = "split.json"
DEFAULT_SPLIT = "default"
ID_SEPARATOR = "::"
DIR_SEPARATOR = "__"

#: master.csv columns: the reference schema (section 9.2) followed by ours (written by ``panoworld synth``).
MASTER_COLUMNS = (
    "clip_id", "split", "video_path", "annotation_dir", "caption_path", "n_frames", "fps", "resolution",
    "is_static", "has_depth", "has_tracks", "has_camera_poses", "depth_kind", "pose_kind", "trajectory_kind",
    "scene_id", "input_path", "input_fov_x", "input_yaw", "input_pitch", "scene_kind", "n_video_frames", "seed",
)
REQUIRED_COLUMNS = ("clip_id", "video_path")


def make_clip_id(split: str, name: str) -> str:
    """The clip id of clip ``name`` of ``split``: ``<split>::<name>``."""
    return f"{split}{ID_SEPARATOR}{name}"


def parse_clip_id(clip_id: str, split: str | None = None) -> tuple[str, str]:
    """(split, name) of a clip id; a bare name takes ``split`` (else ``default``). A given ``split`` wins."""
    head, sep, tail = clip_id.strip().partition(ID_SEPARATOR)
    if not sep:
        return (split or DEFAULT_SPLIT).strip(), clip_id.strip()
    return (split or head).strip(), tail


def clip_dirname(split: str, name: str) -> str:
    """The folder name of a clip's per-clip outputs: ``<split>__<name>``."""
    return f"{split}{DIR_SEPARATOR}{name}"


@dataclass(frozen=True)
class TestClip:
    """One row of a test set. Paths are absolute; ``fps`` is the master's value (the video header wins when read).

    ``size`` is (H, W) (0, 0 when the master has no resolution); ``caption`` is the caption of the style asked
    for when reading ("" when none or when captions were not loaded; :meth:`caption_for` reads any style).
    """

    __test__ = False  # not a pytest test class

    clip_id: str
    split: str
    name: str
    video_path: Path
    annotation_dir: Path | None
    caption: str
    caption_path: Path | None
    n_frames: int
    fps: float
    size: tuple[int, int]
    is_static: bool
    has_depth: bool
    has_tracks: bool
    has_camera_poses: bool
    depth_kind: str
    pose_kind: str
    scene_type: str
    motion_kind: str
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def caption_for(self, style: str, model_key: str | None = None) -> str:
        """The caption in ``style`` (falling back long -> medium -> short); "" without a caption file."""
        if not self.caption_path:
            return self.caption
        return read_captions(self.caption_path, model_key=model_key).pick(style)

    @property
    def dirname(self) -> str:
        """Folder name of this clip's per-clip outputs: ``<split>__<name>``."""
        return clip_dirname(self.split, self.name)


@dataclass(frozen=True)
class TestSetLayout:
    """Paths inside a split folder written by ``panoworld synth`` (relative ones as POSIX strings for the CSV)."""

    __test__ = False  # not a pytest test class

    root: Path

    @property
    def master(self) -> Path:
        return self.root / MASTER_CSV

    @property
    def settings(self) -> Path:
        return self.root / SPLIT_SETTINGS

    @staticmethod
    def video(name: str) -> str:
        return f"videos/{name}.mp4"

    @staticmethod
    def input_image(name: str) -> str:
        return f"inputs/{name}.png"

    @staticmethod
    def input_view(name: str) -> str:
        """The JSON with the input's ``fov_x``, ``yaw``, ``pitch``, ``roll`` (degrees) and ``size``."""
        return f"inputs/{name}.json"

    @staticmethod
    def captions(name: str) -> str:
        return f"captions/{name}.json"

    @staticmethod
    def annotations(split: str, name: str) -> str:
        return f"annotations/{clip_dirname(split, name)}"

    def path(self, relative: str) -> Path:
        """Absolute path of a relative entry of this layout."""
        return self.root / relative


def _flag(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "y")


def _resolve(base: Path, value: str | None) -> Path | None:
    if not value or not value.strip():
        return None
    p = Path(os.path.expanduser(value.strip()))
    return p if p.is_absolute() else (base / p)


def _size(text: str | None) -> tuple[int, int]:
    """``"1024x512"`` (W x H, the reference's order) -> (H, W); 0 x 0 when absent."""
    if not text:
        return (0, 0)
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"resolution must look like WIDTHxHEIGHT (e.g. 1024x512), got {text!r}") from None
    return (h, w)


def _read_strata(path: str | os.PathLike | None) -> dict[str, dict]:
    if not path:
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["clip_id"]: row for row in csv.DictReader(fh) if row.get("clip_id")}


def read_master(
    path: str | os.PathLike,
    *,
    caption_style: str = "medium",
    caption_model: str | None = None,
    strata: str | os.PathLike | None = None,
    splits: list[str] | None = None,
    load_captions: bool = True,
) -> list[TestClip]:
    """Read ``master.csv`` into :class:`TestClip` records (in file order), optionally keeping only ``splits``.

    ``scene_type`` / ``motion_kind`` come from the CSV's own columns when present, else from a strata CSV
    (reference ``strata.csv``), else ``scene_type`` = the synth column ``scene_kind`` (else ``unknown``) and
    ``motion_kind`` = ``trajectory_kind`` (or ``static``). ``load_captions=False`` skips reading caption files
    (``caption`` is then "", :meth:`TestClip.caption_for` still reads them).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"master CSV not found: {p}")
    base = p.resolve().parent
    strata_rows = _read_strata(strata)
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{p} lacks the column(s) {', '.join(missing)} (master.csv schema: docs/eval.md)")
        rows = list(reader)
    clips, seen = [], set()
    for row in rows:
        clip_id = row["clip_id"].strip()
        split, name = parse_clip_id(clip_id, (row.get("split") or "").strip() or None)
        if clip_id in seen:
            raise InputError(f"{p}: clip_id {clip_id!r} appears twice")
        seen.add(clip_id)
        if splits and split not in splits:
            continue
        st = strata_rows.get(clip_id, {})
        is_static = _flag(row.get("is_static"))
        trajectory = (row.get("trajectory_kind") or "").strip()
        motion = row.get("motion_kind") or st.get("motion_kind") or trajectory or ("static" if is_static else "unknown")
        caption_path = _resolve(base, row.get("caption_path"))
        caption = ""
        if load_captions and caption_path is not None:
            caption = read_captions(caption_path, model_key=caption_model).pick(caption_style)
        clips.append(
            TestClip(
                clip_id=clip_id,
                split=split,
                name=name,
                video_path=_resolve(base, row["video_path"]),
                annotation_dir=_resolve(base, row.get("annotation_dir")),
                caption=caption,
                caption_path=caption_path,
                n_frames=int(float(row.get("n_frames") or 0)),
                fps=float(row.get("fps") or 0.0),
                size=_size(row.get("resolution")),
                is_static=is_static,
                has_depth=_flag(row.get("has_depth")),
                has_tracks=_flag(row.get("has_tracks")),
                has_camera_poses=_flag(row.get("has_camera_poses")),
                depth_kind=(row.get("depth_kind") or "").strip(),
                pose_kind=(row.get("pose_kind") or "").strip(),
                scene_type=(row.get("scene_type") or st.get("scene_type") or row.get("scene_kind") or "unknown")
                .strip(),
                motion_kind=motion.strip(),
                extra={k: v for k, v in row.items() if k},
            )
        )
    if not clips:
        raise InputError(f"{p} has no clips" + (f" in split(s) {', '.join(splits)}" if splits else ""))
    return clips


def write_master(path: str | os.PathLike, rows: list[dict], columns: tuple[str, ...] = MASTER_COLUMNS) -> Path:
    """Write ``rows`` (dicts keyed by ``columns``) as a master.csv atomically; return its path."""
    unknown = sorted({k for row in rows for k in row} - set(columns))
    if unknown:
        raise ValueError(f"master.csv rows have columns outside the schema: {unknown}")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"master.csv needs the column(s) {missing}")
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, text.getvalue())
