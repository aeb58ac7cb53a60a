"""``panoworld generate --annotate``: DAP depth and CoTracker3 tracks of a generated clip, written beside its video.

After a clip's ``pano.mp4`` is written, ``frames`` frames spread evenly over it are read back
(:func:`panoworld.annotate.pipeline.read_clip_frames`, the reader of ``panoworld annotate``) at the video's size
with the height rounded to a multiple of 16 rows (DAP's patch), and annotated with the networks of
:mod:`panoworld.annotate` (those ``panoworld eval run`` annotates methods' videos with):

================  ====================================================================================
``depth_dap.npz`` ``depth`` (T, H, W) float16 metres (range along the ray; sky / invalid at 100 m),
                  ``sky`` (T, H, W) bool, ``frame_indices`` (T,) video frames
``tracks.npz``    ``tracks_2d`` (N, T, 2) float32 (x, y) pixels of an ``size`` = (H, W) ERP (centres at
                  integers), ``visibility`` (N, T) float32 in [0, 1], ``frame_indices`` (T,), ``size`` (2,)
================  ====================================================================================

Names: ``panoworld.formats.run_records.GENERATION_OUTPUTS["depth_dap"]`` / ``["tracks"]``. The annotation
settings and the networks' weight fingerprints enter the clip's settings key (:meth:`ClipAnnotator.settings`), so
a re-run with other annotation settings redoes the clip. Weights are checked when the annotator is made, before
any generation.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from panoworld.errors import InputError, MissingComponentError
from panoworld.formats.run_records import GENERATION_OUTPUTS
from panoworld.io import atomic_path

__all__ = ["ANNOTATE_KINDS", "AnnotateRequest", "ClipAnnotator", "parse_annotate_kinds", "write_npz"]

#: What ``--annotate`` can ask for: DAP depth, CoTracker3 tracks.
ANNOTATE_KINDS = ("depth", "tracks")
#: The network each kind needs (keys of ``weight_fingerprints``) and its ``panoworld.weights.ANNOTATION_WEIGHTS``.
_NETWORKS = {"depth": ("dap", "dap"), "tracks": ("cotracker", "cotracker3")}


def parse_annotate_kinds(text: str | None) -> tuple[str, ...]:
    """``"none"`` / ``""`` -> (); ``"depth,tracks"`` (any order, either alone) -> the kinds in canonical order."""
    words = [w.strip().lower() for w in (text or "none").split(",") if w.strip()]
    if words in ([], ["none"]):
        return ()
    unknown = [w for w in words if w not in ANNOTATE_KINDS]
    if unknown:
        raise InputError(f"--annotate: unknown kind {unknown[0]!r}; use a comma list of "
                         f"{', '.join(ANNOTATE_KINDS)}, or none")
    return tuple(k for k in ANNOTATE_KINDS if k in words)


@dataclass(frozen=True)
class AnnotateRequest:
    """What ``--annotate`` asks for. ``frames``: frames annotated per clip, evenly over the video (>= 2);
    ``grid``: tracks from a grid x grid grid of frame-0 queries; ``pad`` (fraction of the width), ``iters``: the
    tracker's; ``depth_batch``: DAP frames per forward. Weights: the given files, else the weights root's
    (``panoworld weights``); ``tiny_random``: tiny random networks (tests; meaningless output)."""

    kinds: tuple[str, ...] = ()
    frames: int = 20
    grid: int = 30
    pad: float = 0.25
    iters: int = 6
    depth_batch: int = 4
    dap_weights: str | None = None
    cotracker_weights: str | None = None
    tiny_random: bool = False

    def validate(self) -> "AnnotateRequest":
        unknown = [k for k in self.kinds if k not in ANNOTATE_KINDS]
        if unknown:
            raise InputError(f"--annotate: unknown kind {unknown[0]!r}")
        if self.frames < 2 or self.grid < 1 or self.iters < 1 or not 0 <= self.pad <= 1 or self.depth_batch < 1:
            raise InputError("--annotate-frames must be >= 2 and --annotate-grid >= 1")
        return self


def _weights(request: AnnotateRequest) -> dict:
    """Fingerprints of the networks the request needs; one error line naming ``panoworld weights`` when absent."""
    from panoworld.annotate.models import weight_fingerprints
    from panoworld.weights import ANNOTATION_WEIGHTS

    try:
        found, missing = weight_fingerprints(request.dap_weights, request.cotracker_weights,
                                             tiny_random=request.tiny_random, required=False)
    except MissingComponentError as exc:
        raise MissingComponentError(f"--annotate: {exc}") from None
    if request.tiny_random:
        return found
    needed = {_NETWORKS[k][0]: ANNOTATION_WEIGHTS[_NETWORKS[k][1]][0] for k in request.kinds}
    absent = [f"{file} ({name})" for name, file in needed.items() if name not in found]
    if absent:
        raise MissingComponentError(
            f"--annotate {','.join(request.kinds)} needs the annotation weights {', '.join(absent)} under the "
            "weights root; see `panoworld weights` (or give --dap-weights / --cotracker-weights)")
    return {name: found[name] for name in needed}


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` atomically (the file appears complete or not at all)."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(f"{name}.npy", buf.getvalue())
    return Path(path)


class ClipAnnotator:
    """Annotates generated clips (see the module docstring); the weights are checked on construction, the
    networks load on the first clip and serve every later one."""

    def __init__(self, request: AnnotateRequest, device: str = "auto"):
        self.request = request.validate()
        self.device = device
        self.weights = _weights(self.request)
        self._models = None

    def settings(self) -> dict:
        """What determines the annotation (the input of the clip's settings key, recorded in run.json)."""
        r = self.request
        tracking = {"grid": r.grid, "pad": r.pad, "iters": r.iters} if "tracks" in r.kinds else {}
        return {"kinds": list(r.kinds), "frames": r.frames, **tracking, "weights": self.weights}

    def _networks(self):
        if self._models is None:
            from panoworld.annotate.models import load_annotation_models, pick_device

            r = self.request
            self._models = load_annotation_models(
                pick_device(str(self.device)), dap_weights=r.dap_weights, cotracker_weights=r.cotracker_weights,
                tiny_random=r.tiny_random, need=tuple(_NETWORKS[k][0] for k in r.kinds))
        return self._models

    def __call__(self, out: Path) -> dict[str, str]:
        """Annotate ``out/pano.mp4``; write the asked-for files into ``out``; return {output key: path}."""
        import torch

        from panoworld.annotate.dap import dap_erp_size
        from panoworld.annotate.pipeline import read_clip_frames
        from panoworld.annotate.tracking import track_erp
        from panoworld.io import probe_video

        r, out = self.request, Path(out)
        info = probe_video(out / GENERATION_OUTPUTS["video"])
        frames, indices, _ = read_clip_frames(out / GENERATION_OUTPUTS["video"], r.frames, dap_erp_size(info.height))
        dap, tracker = self._networks()
        files, index = {}, np.asarray(indices, np.int64)
        with torch.inference_mode():
            if "depth" in r.kinds:
                depth, sky = dap.predict(frames, batch_size=r.depth_batch)
                path = write_npz(out / GENERATION_OUTPUTS["depth_dap"], depth=depth.numpy().astype(np.float16),
                                 sky=sky.numpy(), frame_indices=index)
                files["depth_dap"] = str(path)
            if "tracks" in r.kinds:
                tracks, vis = track_erp(tracker, frames, grid_size=r.grid, pad_frac=r.pad, iters=r.iters)
                path = write_npz(out / GENERATION_OUTPUTS["tracks"], tracks_2d=tracks.float().numpy(),
                                 visibility=vis.float().numpy(), frame_indices=index,
                                 size=np.asarray(frames.shape[-2:], np.int64))
                files["tracks"] = str(path)
        return files
