"""Reading a test set: ``master.csv`` (reference §9.2 schema, as released or as written by panoworld.synth).

Relative paths are resolved against the CSV's folder. Captions come from the JSON named by
``caption_path``: either ``{"short", "medium", "long"}`` or ``{model_key: {...}}``; the requested style
is used, else the first present of long -> medium -> short.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from panoworld.errors import InputError

__all__ = ["Clip", "read_master", "load_caption", "CAPTION_STYLES", "result_dir"]

CAPTION_STYLES = ("long", "medium", "short")
REQUIRED = ("clip_id", "video_path")


@dataclass(frozen=True)
class Clip:
    """One test clip. Paths are absolute; ``fps`` is the master's value (the video header wins when read)."""

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

    def caption_for(self, style: str) -> str:
        """The caption in another style (same fallback order); "" without a caption file."""
        return load_caption(self.caption_path, style) if self.caption_path else self.caption

    @property
    def dirname(self) -> str:
        """Folder name of this clip's results: ``<split>__<name>``."""
        return f"{self.split}__{self.name}"


def result_dir(results: str | os.PathLike, method: str, clip: Clip) -> Path:
    """``<results>/<method>/<split>__<clip>/`` (holds ``video.mp4``, ``run.json`` and optional annotations)."""
    return Path(results) / method / clip.dirname


def _pick_style(entry: dict, style: str) -> str | None:
    for key in (style, *CAPTION_STYLES):
        text = entry.get(key)
        if isinstance(text, str) and text.strip():
            return text.strip()
    return None


def load_caption(path: str | os.PathLike | None, style: str = "medium", model_key: str | None = None) -> str:
    """Caption text of one clip from its JSON (either layout, see module doc); "" when there is none."""
    if not path:
        return ""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"caption file not found: {p}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"caption file {p} is not valid JSON: {exc}") from None
    if isinstance(data, str):
        return data.strip()
    if not isinstance(data, dict):
        raise InputError(f"caption file {p} must hold a JSON object")
    direct = _pick_style(data, style)
    if direct is not None:
        return direct
    keys = [model_key] if model_key else [k for k, v in data.items() if isinstance(v, dict)]
    for key in keys:
        if isinstance(data.get(key), dict):
            text = _pick_style(data[key], style)
            if text is not None:
                return text
    return ""


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
) -> list[Clip]:
    """Read ``master.csv`` into :class:`Clip` records (in file order), optionally keeping only ``splits``.

    ``scene_type`` / ``motion_kind`` come from the CSV's own columns when present, else from a strata CSV
    (reference ``strata.csv``), else ``scene_type`` = the synth column ``scene_kind`` (else ``unknown``) and
    ``motion_kind`` = ``trajectory_kind`` (or ``static``).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"master CSV not found: {p}")
    base = p.resolve().parent
    strata_rows = _read_strata(strata)
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{p} lacks the column(s) {', '.join(missing)} (master.csv schema: docs/eval.md)")
        rows = list(reader)
    clips, seen = [], set()
    for row in rows:
        clip_id = row["clip_id"].strip()
        split, sep, name = clip_id.partition("::")
        if not sep:
            split, name = (row.get("split") or "default").strip(), clip_id
        split = (row.get("split") or split).strip()
        if clip_id in seen:
            raise InputError(f"{p}: clip_id {clip_id!r} appears twice")
        seen.add(clip_id)
        if splits and split not in splits:
            continue
        st = strata_rows.get(clip_id, {})
        is_static = _flag(row.get("is_static"))
        trajectory = (row.get("trajectory_kind") or "").strip()
        motion = row.get("motion_kind") or st.get("motion_kind") or trajectory or ("static" if is_static else "unknown")
        clips.append(
            Clip(
                clip_id=clip_id,
                split=split,
                name=name,
                video_path=_resolve(base, row["video_path"]),
                annotation_dir=_resolve(base, row.get("annotation_dir")),
                caption=load_caption(_resolve(base, row.get("caption_path")), caption_style, caption_model),
                caption_path=_resolve(base, row.get("caption_path")),
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
