"""The PanoWorld model folder: one directory that ``panoworld generate --model`` loads as a whole model.

Written by training (every checkpoint), distillation (students), ``panoworld convert`` and the shipped small
model; read by ``PanoWorldPipeline.from_pretrained``. Layout::

    <folder>/
      model_index.json          this module's schema (below)
      transformer/              PanoWorldTransformer.save_pretrained (config.json + safetensors)
      vae/  text_encoder/  image_encoder/   optional stored components

``model_index.json`` (version 1)::

    {
      "format": "panoworld-model", "version": 1,
      "family": "panoworld-2b" | "panoworld-small" | any label,
      "components": {                      # each a component reference
        "transformer": "transformer",
        "vae": "vae",                      # a sub-folder of this folder, or
        "text_encoder": "component:cosmos-reason1-7b",   # a weights-root component, or a path / hub id
                                           # (see ``component_name`` / ``local_reference``)
        "image_encoder": "component:siglip2-so400m-patch14-384",
        "base_transformer": null           # optional: base Cosmos net for motion="base-i2v"
      },
      "sampler": {                         # what the transformer was trained / distilled for
        "kind": "unipc-karras" | "few-step",
        "num_steps": 35,                   # the reference's --num_steps (few-step: number of student steps)
        "guidance": 7.0,                   # CFG weight; 0 for a CFG-distilled student
        "timesteps": null                  # few-step: flow times t in (0, 1], descending, one per step
      },
      "defaults": {"height": 512, "width": 1024, "num_frames": 93, "fps": 16.0, "latent_padding": 2},
      "provenance": {...}                  # free-form: training config, steps, data seeds, device time
    }

A sampler of kind "few-step" must not be run with the many-step sampler (and vice versa); readers check it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from panoworld.errors import InputError
from panoworld.io.atomic import atomic_write_json

__all__ = [
    "MODEL_INDEX",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "SAMPLER_KINDS",
    "SamplerSpec",
    "ModelIndex",
    "is_model_folder",
    "read_model_index",
    "write_model_index",
    "component_name",
    "local_reference",
    "portable_paths",
]

MODEL_INDEX = "model_index.json"
MODEL_FORMAT = "panoworld-model"
MODEL_FORMAT_VERSION = 1
SAMPLER_KINDS = ("unipc-karras", "few-step")
COMPONENT_PREFIX = "component:"
COMPONENT_SLOTS = ("transformer", "vae", "text_encoder", "image_encoder", "base_transformer")


@dataclass
class SamplerSpec:
    """What the transformer expects at sampling time.

    Attributes:
        kind: "unipc-karras" (the reference sampler: UniPC-2, Karras sigma 200 -> 0.01) or "few-step"
            (a distilled student: one network evaluation per entry of ``timesteps``, no CFG).
        num_steps: the reference's ``--num_steps`` for "unipc-karras" (35 -> 36 evaluations); the number of
            student steps for "few-step".
        guidance: CFG weight g in ``v_c + g (v_c - v_u)``; 0 for a CFG-distilled student.
        timesteps: "few-step" only: flow times t in (0, 1], strictly descending, ``len == num_steps``.
    """

    kind: str = "unipc-karras"
    num_steps: int = 35
    guidance: float = 7.0
    timesteps: list[float] | None = None

    def validate(self) -> "SamplerSpec":
        """Raise :class:`InputError` for an inconsistent spec; return ``self``."""
        if self.kind not in SAMPLER_KINDS:
            raise InputError(f"sampler kind must be one of {', '.join(SAMPLER_KINDS)}, got {self.kind!r}")
        if not isinstance(self.num_steps, int) or self.num_steps < 1:
            raise InputError(f"sampler num_steps must be a positive integer, got {self.num_steps!r}")
        if not (isinstance(self.guidance, (int, float)) and math.isfinite(self.guidance) and self.guidance >= 0):
            raise InputError(f"sampler guidance must be a finite number >= 0, got {self.guidance!r}")
        if self.kind == "few-step":
            ts = self.timesteps
            if not ts or len(ts) != self.num_steps:
                raise InputError(f"a few-step sampler needs {self.num_steps} timesteps, got {ts!r}")
            if not all(isinstance(t, (int, float)) and 0 < t <= 1 for t in ts):
                raise InputError(f"few-step timesteps must lie in (0, 1], got {ts!r}")
            if any(a <= b for a, b in zip(ts, ts[1:])):
                raise InputError(f"few-step timesteps must be strictly descending, got {ts!r}")
        elif self.timesteps is not None:
            raise InputError("timesteps are only used by a few-step sampler")
        return self


@dataclass
class ModelIndex:
    """Contents of ``model_index.json`` (see the module docstring for the meaning of each field)."""

    family: str
    components: dict[str, str | None]
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    defaults: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def validate(self) -> "ModelIndex":
        """Raise :class:`InputError` for a malformed index; return ``self``."""
        if not self.family or not isinstance(self.family, str):
            raise InputError("model_index.json: 'family' must be a non-empty string")
        unknown = set(self.components) - set(COMPONENT_SLOTS)
        if unknown:
            raise InputError(f"model_index.json: unknown component slot(s) {sorted(unknown)}; "
                             f"known: {', '.join(COMPONENT_SLOTS)}")
        if not self.components.get("transformer"):
            raise InputError("model_index.json: 'components.transformer' is required")
        self.sampler.validate()
        return self

    def to_json(self) -> dict:
        """The JSON object written to ``model_index.json``."""
        return {
            "format": MODEL_FORMAT,
            "version": MODEL_FORMAT_VERSION,
            "family": self.family,
            "components": {slot: self.components.get(slot) for slot in COMPONENT_SLOTS},
            "sampler": asdict(self.sampler),
            "defaults": dict(self.defaults),
            "provenance": dict(self.provenance),
        }


def is_model_folder(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding a ``model_index.json`` of this format."""
    index = Path(path) / MODEL_INDEX
    if not index.is_file():
        return False
    try:
        return json.loads(index.read_text()).get("format") == MODEL_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_model_index(folder: str | os.PathLike) -> ModelIndex:
    """Read and validate ``<folder>/model_index.json``; raise :class:`InputError` (one line) when unusable."""
    path = Path(folder) / MODEL_INDEX
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{folder} is not a PanoWorld model folder (no {MODEL_INDEX})") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != MODEL_FORMAT:
        raise InputError(f"{path}: not a PanoWorld model index (format must be {MODEL_FORMAT!r})")
    version = raw.get("version")
    if not isinstance(version, int) or version > MODEL_FORMAT_VERSION:
        raise InputError(f"{path}: version {version!r} is newer than this panoworld understands "
                         f"({MODEL_FORMAT_VERSION}); upgrade panoworld")
    sampler = raw.get("sampler") or {}
    try:
        spec = SamplerSpec(**sampler)
    except TypeError as exc:
        raise InputError(f"{path}: bad 'sampler' entry ({exc})") from None
    index = ModelIndex(
        family=raw.get("family"),
        components={k: v for k, v in (raw.get("components") or {}).items() if v is not None},
        sampler=spec,
        defaults=raw.get("defaults") or {},
        provenance=raw.get("provenance") or {},
    )
    return index.validate()


def write_model_index(folder: str | os.PathLike, index: ModelIndex) -> Path:
    """Validate ``index`` and write ``<folder>/model_index.json`` atomically; return its path."""
    index.validate()
    return atomic_write_json(Path(folder) / MODEL_INDEX, index.to_json())


def component_name(reference: str) -> str | None:
    """The weights-root component named by a "component:<name>" reference, else None.

    The caller resolves it (``panoworld.models.components.resolve_component``, which raises
    ``MissingComponentError`` naming what to download when it is absent).
    """
    return reference[len(COMPONENT_PREFIX):] if reference.startswith(COMPONENT_PREFIX) else None


def local_reference(folder: str | os.PathLike, reference: str) -> str:
    """A non-"component:" reference -> what a component loader accepts.

    A relative name that exists inside ``folder`` (e.g. "vae") becomes its path; anything else (an absolute
    path, a hub id) is returned unchanged and checked by the loader.
    """
    if component_name(reference) is not None:
        raise ValueError(f"{reference!r} names a weights-root component; resolve it with resolve_component")
    local = Path(folder) / reference
    if not Path(reference).is_absolute() and local.exists():
        return str(local)
    return reference


def portable_paths(tree):
    """``tree`` (JSON-like: dicts, lists, strings, numbers) with every absolute path string rewritten relative to
    the deepest folder holding all of them (``<root>/run`` and ``<root>/data/val`` -> "run", "data/val"), so
    a model folder's provenance names its run's layout, not one machine's directories. Other values unchanged."""
    found: list[str] = []

    def collect(value):
        if isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, str) and os.path.isabs(value):
            found.append(value)

    collect(tree)
    if not found:
        return tree
    root = os.path.commonpath([os.path.dirname(os.path.normpath(p)) for p in found])

    def rewrite(value):
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        if isinstance(value, str) and os.path.isabs(value):
            return Path(os.path.relpath(os.path.normpath(value), root)).as_posix()
        return value

    return rewrite(tree)
