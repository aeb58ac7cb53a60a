"""A geometry annotation folder: depth, point tracks, camera poses, static flags (reference §8.4 names).

Written by ``panoworld annotate`` (estimated: DAP depth, CoTracker3 tracks), ``panoworld synth`` (exact ground
truth) and the eval runners that produce annotations; read by eval and training. Symbols: K annotation frames,
N tracks, H x W the ERP size, T video frames.

=========================  ==============  =================  ===========================================
file                       shape           dtype              content
=========================  ==============  =================  ===========================================
depth/NNNN.npy             (H, W)          float16|float32    range along the ray, metres (DAP: sky = 100 m)
sky_mask.npy               (K, H, W)       bool               sky / invalid pixels
tracks_2d.npy              (N, K, 2)       float32            (x, y) px, centres at integers, x in [-0.5, W-0.5)
visibility.npy             (N, K)          float16            visibility (x confidence) in [0, 1]; visible > 0.5
tracks_3d.npy              (N, K, 3)       float32            points in the frame-0 camera axes, m; NaN = unseen
tracks_3d_raw.npy          (N, K, 3)       float32            points in each frame's camera, m; NaN = unseen
track_is_static.npy        (N,)            float32            1 = static
camera_poses.npy           (K, 12)         float32            [R row-major, t]: P_k = R P_0 + t (frame 0 -> k)
camera_c2w.npy             (K, 4, 4)       float32|float64    camera-to-world, world = frame-0 camera
frame_indices.npy          (K,)            int64              video frame of each annotation frame
meta.json                                                     written last: its presence marks the folder done
=========================  ==============  =================  ===========================================

Optional files (:data:`OPTIONAL_FILES`): ``instances/NNNN.npy`` (object ids, synth), ``tracks_3d_world.npy``,
``query_points.npy`` and ``camera_c2w_video.npy`` (camera-to-world per video frame, synth), ``rigidity.npy``
(metres, annotate). Cameras use OpenCV axes (x right, y down, z forward).

``meta.json`` (version 2): ``format``, ``version``, ``depth_unit`` ("m"), ``video_resolution`` [W, H],
``n_frames`` (K), ``n_tracks`` (N), ``frame_indices``, optional ``fps`` / ``frame_times_s``, ``camera_motion``,
``max_depth_m``, ``pose_convention`` and whatever else the writer records.

Folders written before version 2 (no ``version`` in meta.json) still read: depth is converted to metres by
``meta["depth_scale"]`` when present, else ``meta["depth_unit"]`` ("m" or "dap"), else the master's
``depth_kind == "dap_estimated"``, else a float16 map with all values <= 1.5 is a DAP code (the reference's
rule); a DAP code of 1.0 is 100 m. Times of the annotation frames: ``meta["frame_times"]`` /
``meta["frame_times_s"]`` (s), else ``meta["frame_indices"]`` / fps, else the reference rule (every
``max(1, n_video // K)``-th video frame).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from panoworld.errors import InputError
from panoworld.io.atomic import atomic_write_json

__all__ = [
    "ANNOTATIONS_FORMAT",
    "ANNOTATIONS_VERSION",
    "DAP_METRES",
    "META",
    "ANNOTATION_FILES",
    "OPTIONAL_FILES",
    "PER_FRAME_DIRS",
    "FIELDS",
    "Annotations",
    "AnnotationWriter",
    "is_complete",
    "has_annotations",
    "read_meta",
    "read_annotations",
    "depth_scale",
    "poses_to_c2w",
    "check_folder",
]

ANNOTATIONS_FORMAT = "panoworld-annotations"
ANNOTATIONS_VERSION = 2
#: Metres represented by a DAP depth code of 1.0 (the DAP network's scale; its sky marker is this range).
DAP_METRES = 100.0
META = "meta.json"
DEPTH_DIR = "depth"
INSTANCES_DIR = "instances"
PER_FRAME_DIRS = (DEPTH_DIR, INSTANCES_DIR)
FRAME_FILE = "{k:04d}.npy"

#: Files every complete folder holds: name -> (shape with symbols, allowed dtypes, first = default).
ANNOTATION_FILES = {
    "depth/{k:04d}.npy": (("H", "W"), "float16|float32"),
    "sky_mask.npy": (("K", "H", "W"), "bool"),
    "tracks_2d.npy": (("N", "K", 2), "float32"),
    "visibility.npy": (("N", "K"), "float16"),
    "tracks_3d.npy": (("N", "K", 3), "float32"),
    "tracks_3d_raw.npy": (("N", "K", 3), "float32"),
    "track_is_static.npy": (("N",), "float32"),
    "camera_poses.npy": (("K", 12), "float32"),
    "camera_c2w.npy": (("K", 4, 4), "float32|float64"),
    "frame_indices.npy": (("K",), "int64"),
    "meta.json": ((), "json"),
}
#: Files some writers add.
OPTIONAL_FILES = {
    "instances/{k:04d}.npy": (("H", "W"), "uint16"),
    "tracks_3d_world.npy": (("N", "K", 3), "float32"),
    "query_points.npy": (("N", 2), "float32"),
    "camera_c2w_video.npy": (("T", 4, 4), "float64"),
    "rigidity.npy": (("N",), "float32"),
}
_SCHEMA = {**ANNOTATION_FILES, **OPTIONAL_FILES}
#: Field names of the whole-clip arrays (:meth:`AnnotationWriter.put`): their file names without ``.npy``.
FIELDS = tuple(n[: -len(".npy")] for n in _SCHEMA if n.endswith(".npy") and "{k" not in n)
#: Files whose presence makes a folder count as holding annotations (legacy folders may lack meta.json).
_MARKERS = (DEPTH_DIR, "tracks_2d.npy", "camera_poses.npy", META)
#: OpenGL / Habitat camera axes (x right, y up, z backward) -> OpenCV axes (x right, y down, z forward).
GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])


def _frame_name(directory: str, k: int) -> str:
    return f"{directory}/{FRAME_FILE.format(k=k)}"


def _cast(name: str, array) -> np.ndarray:
    """``array`` in the schema dtype of ``name`` (kept when it is one of the allowed dtypes)."""
    allowed = _SCHEMA[name][1].split("|")
    array = np.ascontiguousarray(array)
    return array if array.dtype.name in allowed else array.astype(allowed[0])


class AnnotationWriter:
    """Writes one annotation folder: files are staged in a temporary sibling folder and moved in by :meth:`commit`,
    ``meta.json`` last, so an interrupted write never leaves a folder that looks complete.

    The target may be shared with other files (a method's result folder holds its video too): only annotation
    files are replaced; an older annotation there is invalidated (its meta.json removed) before files move in.
    Temporary folders left by a killed writer of the same target are removed when a new writer starts.

    Args:
        folder: the annotation folder.
        depth_dtype: "float16" (default, the reference's) or "float32" for ``depth/``.
    """

    def __init__(self, folder: str | os.PathLike, *, depth_dtype: str = "float16"):
        if depth_dtype not in ("float16", "float32"):
            raise ValueError(f"depth_dtype must be float16 or float32, got {depth_dtype!r}")
        self.folder = Path(folder)
        self.depth_dtype = depth_dtype
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.parent.glob(f".{self.folder.name}.*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        self._stage = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.", suffix=".tmp", dir=self.folder.parent))
        self._written: list[str] = []

    def __enter__(self) -> "AnnotationWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.abort()

    def _save(self, name: str, array: np.ndarray) -> None:
        path = self._stage / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
        self._written.append(name)

    def depth(self, k: int, metres) -> None:
        """Depth of annotation frame ``k``: (H, W) range along the ray in metres."""
        self._save(_frame_name(DEPTH_DIR, k), np.asarray(metres).astype(self.depth_dtype))

    def instances(self, k: int, ids) -> None:
        """Object ids of annotation frame ``k``: (H, W), 0 = sky."""
        self._save(_frame_name(INSTANCES_DIR, k), _cast("instances/{k:04d}.npy", ids))

    def copy(self, source: str | os.PathLike, *, depth_kind: str = "") -> dict:
        """Stage every annotation file of the folder ``source`` (fields can then be replaced with :meth:`put` /
        :meth:`depth`); return its meta.json. Depth of a folder without a format version is converted to metres
        (:func:`depth_scale`, ``depth_kind`` as in the test set)."""
        src = Path(source)
        meta = read_meta(src)
        for name in _SCHEMA:
            if name == META:
                continue
            directory = name.split("/")[0] if "{k" in name else None
            files = sorted((src / directory).glob("*.npy")) if directory and (src / directory).is_dir() else []
            if directory is None and (src / name).is_file():
                files = [src / name]
            for f in files:
                rel = f"{directory}/{f.name}" if directory else name
                if directory == DEPTH_DIR:
                    depth = np.load(f, allow_pickle=False)
                    scale = 1.0 if meta.get("format") == ANNOTATIONS_FORMAT else depth_scale(meta, depth_kind, depth)
                    if scale != 1.0:
                        self._save(rel, (depth.astype(np.float32) * scale).astype(self.depth_dtype))
                        continue
                (self._stage / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, self._stage / rel)
                self._written.append(rel)
        return {k: v for k, v in meta.items() if k not in ("format", "version", "depth_scale")}

    def put(self, **arrays) -> None:
        """Whole-clip arrays by field name (a file name without ``.npy``: ``tracks_2d=...``, ``camera_poses=...``),
        each cast to its documented dtype."""
        for field, array in arrays.items():
            name = f"{field}.npy"
            if name not in _SCHEMA:
                raise ValueError(f"{field!r} is not a whole-clip annotation field; known: {', '.join(FIELDS)}")
            self._save(name, _cast(name, array))

    def commit(self, meta: dict) -> Path:
        """Move the staged files into the folder, then write ``meta.json`` (with format and version); return it."""
        target = self.folder
        target.mkdir(parents=True, exist_ok=True)
        (target / META).unlink(missing_ok=True)
        for directory in PER_FRAME_DIRS:
            if (self._stage / directory).is_dir() or (target / directory).is_dir():
                shutil.rmtree(target / directory, ignore_errors=True)
        for name in _SCHEMA:
            if "{k" not in name and name != META and not (self._stage / name).exists():
                (target / name).unlink(missing_ok=True)
        for entry in sorted(self._stage.iterdir()):
            os.replace(entry, target / entry.name)
        record = {"format": ANNOTATIONS_FORMAT, "version": ANNOTATIONS_VERSION, "depth_unit": "m", **meta}
        record["depth_unit"] = "m"
        record.pop("depth_scale", None)
        atomic_write_json(target / META, record)
        shutil.rmtree(self._stage, ignore_errors=True)
        return target

    def abort(self) -> None:
        """Drop the staged files (no-op after :meth:`commit`)."""
        shutil.rmtree(self._stage, ignore_errors=True)


def is_complete(folder: str | os.PathLike) -> bool:
    """True when an annotation folder was finished (its ``meta.json`` exists)."""
    return (Path(folder) / META).is_file()


def has_annotations(folder: str | os.PathLike | None) -> bool:
    """True if the folder holds any annotation (also a legacy folder without ``meta.json``)."""
    return folder is not None and any((Path(folder) / f).exists() for f in _MARKERS)


def read_meta(folder: str | os.PathLike) -> dict:
    """The folder's ``meta.json`` ({} when absent)."""
    path = Path(folder) / META
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: expected a JSON object")
    version = meta.get("version") if meta.get("format") == ANNOTATIONS_FORMAT else None
    if isinstance(version, int) and version > ANNOTATIONS_VERSION:
        raise InputError(f"{path}: annotation format version {version} is newer than this panoworld understands "
                         f"({ANNOTATIONS_VERSION}); upgrade panoworld")
    return meta


def poses_to_c2w(poses: np.ndarray, *, opengl: bool = False) -> np.ndarray:
    """Camera poses as stored -> (K, 4, 4) camera-to-world in OpenCV axes.

    (K, 4, 4) are camera-to-world already (``opengl=True``: camera axes y up / -z forward, as Habitat writes
    them, converted to OpenCV axes); (K, 12) reference point transforms ``P_k = R P_0 + t`` become their
    inverse, i.e. camera-to-world with the frame-0 camera as the world.
    """
    poses = np.asarray(poses, np.float64)
    if poses.ndim == 3 and poses.shape[1:] == (4, 4):
        return poses @ GL_TO_CV if opengl else poses
    if poses.ndim == 2 and poses.shape[1] == 12:
        out = np.tile(np.eye(4), (len(poses), 1, 1))
        rot, t = poses[:, :9].reshape(-1, 3, 3), poses[:, 9:]
        out[:, :3, :3] = rot.transpose(0, 2, 1)
        out[:, :3, 3] = -np.einsum("tji,tj->ti", rot, t)
        return out
    raise InputError(f"camera_poses must be (K, 4, 4) or (K, 12), got {poses.shape}")


def _frame_times(meta: dict, n_ann: int, video_fps: float, video_frames: int) -> np.ndarray:
    for key in ("frame_times", "frame_times_s"):
        if key in meta:
            return np.asarray(meta[key], np.float64)[:n_ann]
    fps = float(meta.get("fps") or video_fps)
    if "frame_indices" in meta:
        return np.asarray(meta["frame_indices"], np.float64)[:n_ann] / fps
    step = max(1, int(video_frames) // max(1, n_ann)) if video_frames else 1
    return np.arange(n_ann, dtype=np.float64) * step / fps


def depth_scale(meta: dict, depth_kind: str, sample: np.ndarray) -> float:
    """Metres per stored depth unit of a folder (1 for version 2; the legacy rules of the module doc otherwise)."""
    if meta.get("format") == ANNOTATIONS_FORMAT and isinstance(meta.get("version"), int):
        return 1.0
    if "depth_scale" in meta:
        return float(meta["depth_scale"])
    unit = str(meta.get("depth_unit", "")).lower()
    if unit in ("m", "metre", "meter", "metres", "meters"):
        return 1.0
    if unit == "dap" or depth_kind == "dap_estimated":
        return DAP_METRES
    if sample.dtype == np.float16 and np.nanmax(sample) <= 1.5:
        return DAP_METRES
    return 1.0


@dataclass
class Annotations:
    """Geometry of one video: times (K,) s of the annotation frames, annotated size (H, W), and what exists of:

    depth (K, H, W) float32 torch tensor in metres; sky (K, H, W) bool; tracks_2d (N, K, 2) float64 px;
    visibility (N, K) bool (score > 0.5) and visibility_score (N, K) float32; tracks_3d (N, K, 3) float64 m
    (frame-0 camera axes); static (N,); poses (K, 4, 4) camera-to-world (OpenCV axes); query_points (N, 2) px of
    the tracks' frame-0 queries (when written); meta (meta.json).
    """

    times: np.ndarray
    size: tuple[int, int]
    depth: "torch.Tensor | None" = None  # noqa: F821 (torch is imported when depth is read)
    tracks_2d: np.ndarray | None = None
    visibility: np.ndarray | None = None
    tracks_3d: np.ndarray | None = None
    static: np.ndarray | None = None
    poses: np.ndarray | None = None
    sky: np.ndarray | None = None
    visibility_score: np.ndarray | None = None
    meta: dict | None = None
    query_points: np.ndarray | None = None


def read_annotations(
    folder: str | os.PathLike,
    *,
    video_fps: float,
    video_frames: int = 0,
    video_size: tuple[int, int] = (0, 0),
    depth_kind: str = "",
    pose_kind: str = "",
) -> Annotations:
    """Read an annotation folder (any version); ``video_*`` describe the annotated video (for times and size).

    (K, 4, 4) ``camera_poses`` are taken as OpenGL-axis camera-to-world when ``pose_kind == "habitat_gt"``
    (the reference's Habitat renderer) or ``meta["pose_axes"] == "opengl"``; otherwise OpenCV axes.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"annotation folder not found: {root}")
    meta = read_meta(root)
    res = meta.get("video_resolution")
    size = (int(res[1]), int(res[0])) if res else tuple(video_size)

    def opt(name: str):
        p = root / name
        return np.load(p, allow_pickle=False) if p.is_file() else None

    depth = None
    depth_files = sorted((root / DEPTH_DIR).glob("*.npy")) if (root / DEPTH_DIR).is_dir() else []
    if depth_files:
        import torch

        maps = [np.load(f, allow_pickle=False) for f in depth_files]
        scale = depth_scale(meta, depth_kind, maps[0])
        depth = torch.from_numpy(np.stack(maps).astype(np.float32)) * scale
        if not size[0]:
            size = tuple(depth.shape[-2:])
    tracks, vis, poses, pts = opt("tracks_2d.npy"), opt("visibility.npy"), opt("camera_poses.npy"), opt("tracks_3d.npy")
    lengths = [len(depth) if depth is not None else 0, tracks.shape[1] if tracks is not None else 0]
    lengths.append(len(poses) if poses is not None else 0)
    n_ann = int(meta.get("n_frames") or max(lengths) or 0)
    opengl = pose_kind == "habitat_gt" or str(meta.get("pose_axes", "")).lower() == "opengl"
    return Annotations(
        times=_frame_times(meta, n_ann, video_fps, video_frames),
        size=size,
        depth=depth,
        tracks_2d=None if tracks is None else tracks.astype(np.float64),
        visibility=None if vis is None else (vis.astype(np.float32) > 0.5),
        tracks_3d=None if pts is None else pts.astype(np.float64),
        static=opt("track_is_static.npy"),
        poses=None if poses is None else poses_to_c2w(poses, opengl=opengl),
        sky=opt("sky_mask.npy"),
        visibility_score=None if vis is None else vis.astype(np.float32),
        meta=meta,
        query_points=None if (q := opt("query_points.npy")) is None else q.astype(np.float64),
    )


def check_folder(folder: str | os.PathLike, *, optional: bool = True) -> list[str]:
    """Problems of a folder against the schema (missing files, shapes, dtypes, inconsistent sizes); [] when valid.

    Checks the required files and, with ``optional``, the optional ones that exist. Shapes are checked for
    consistency of their symbols (K, N, H, W, T) across files and with ``meta.json``.
    """
    root = Path(folder)
    meta = read_meta(root)
    if not meta:
        return [f"{root}: no {META}"]
    sizes: dict[str, int] = {"K": meta.get("n_frames"), "N": meta.get("n_tracks")}
    if meta.get("video_resolution"):
        sizes["W"], sizes["H"] = meta["video_resolution"]
    problems: list[str] = []
    for name, (shape, dtypes) in _SCHEMA.items():
        if name == META:
            continue
        required = name in ANNOTATION_FILES
        if "{k" in name:
            directory = name.split("/")[0]
            paths = sorted((root / directory).glob("*.npy")) if (root / directory).is_dir() else []
            if required and sizes.get("K") is not None and len(paths) != sizes["K"]:
                problems.append(f"{directory}/: {len(paths)} files, expected K = {sizes['K']}")
        else:
            paths = [root / name] if (root / name).is_file() else []
            if required and not paths:
                problems.append(f"{name}: missing")
        if not required and not optional:
            continue
        for path in paths:
            arr = np.load(path, allow_pickle=False, mmap_mode="r")
            if arr.dtype.name not in dtypes.split("|"):
                problems.append(f"{path.relative_to(root)}: dtype {arr.dtype.name}, expected {dtypes}")
            if arr.ndim != len(shape):
                problems.append(f"{path.relative_to(root)}: shape {arr.shape}, expected {shape}")
                continue
            for symbol, dim in zip(shape, arr.shape):
                if isinstance(symbol, int):
                    if dim != symbol:
                        problems.append(f"{path.relative_to(root)}: shape {arr.shape}, expected {shape}")
                elif sizes.setdefault(symbol, dim) is None:
                    sizes[symbol] = dim
                elif sizes[symbol] != dim:
                    problems.append(f"{path.relative_to(root)}: {symbol} = {dim}, elsewhere {sizes[symbol]}")
    return problems
