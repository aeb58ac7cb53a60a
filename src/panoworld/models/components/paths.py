"""Where each model component lives: a local folder/file under ``$PANOWORLD_WEIGHTS`` or a Hugging Face hub id.

Default layout (``$PANOWORLD_WEIGHTS``, default ``./weights``)::

    weights/
      panoworld/                   converted PanoWorld transformer folder or model_ema_bf16.pt
      cosmos-reason1-7b/           text encoder (Qwen2.5-VL-7B architecture)
      siglip2-so400m-patch14-384/  SigLIP2 image encoder
      wan2.1-vae/                  Wan2.1 VAE (diffusers folder, or the original Wan2.1_VAE.pth / tokenizer.pth)
      cosmos-predict2.5-2b/        base Cosmos-Predict2.5-2B (for base image-to-video)

A missing component raises :class:`panoworld.errors.MissingComponentError` whose one-line message names the
component, the expected path and where to download it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from panoworld.errors import MissingComponentError
from panoworld.hub import hub_offline, hub_unreachable, is_hub_id
from panoworld.weights import WEIGHTS_ENV, weights_root

__all__ = [
    "COMPONENTS",
    "ComponentPaths",
    "ComponentSpec",
    "resolve_component",
    "weights_root",
]


@dataclass(frozen=True)
class ComponentSpec:
    """One downloadable component: its folder name under the weights root and where it comes from."""

    name: str
    description: str
    source: str  # human-readable download location (hub repo URL or release page)
    hub_id: str | None = None  # hub repo id accepted by from_pretrained, None when not on the hub
    hub_subfolder: str | None = None


COMPONENTS: dict[str, ComponentSpec] = {
    spec.name: spec
    for spec in (
        ComponentSpec(
            "panoworld",
            "PanoWorld transformer (model_ema_bf16.pt or a converted folder)",
            "the PanoWorld release linked from https://github.com/ostadabbas/PanoWorld (then `panoworld convert`)",
        ),
        ComponentSpec(
            "cosmos-reason1-7b",
            "text encoder (Cosmos-Reason1-7B, Qwen2.5-VL-7B architecture)",
            "https://huggingface.co/nvidia/Cosmos-Reason1-7B",
            hub_id="nvidia/Cosmos-Reason1-7B",
        ),
        ComponentSpec(
            "siglip2-so400m-patch14-384",
            "SigLIP2 so400m/14 384-px image encoder",
            "https://huggingface.co/google/siglip2-so400m-patch14-384",
            hub_id="google/siglip2-so400m-patch14-384",
        ),
        ComponentSpec(
            "wan2.1-vae",
            "Wan2.1 video VAE",
            "https://huggingface.co/Wan-AI/Wan2.1-T2V-1.3B-Diffusers (folder `vae`)",
            hub_id="Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
            hub_subfolder="vae",
        ),
        ComponentSpec(
            "cosmos-predict2.5-2b",
            "base Cosmos-Predict2.5-2B model",
            "https://huggingface.co/nvidia/Cosmos-Predict2.5-2B",
            hub_id="nvidia/Cosmos-Predict2.5-2B",
        ),
    )
}

def _present(path: Path) -> bool:
    if path.is_file():
        return path.stat().st_size > 0
    return path.is_dir() and any(path.iterdir())


def _cached_snapshot(hub_id: str) -> str | None:
    """Local snapshot folder of ``hub_id`` in the Hugging Face cache, or None (never contacts the network)."""
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(hub_id, local_files_only=True)
    except Exception:  # noqa: BLE001 - any failure means "not cached"
        return None


@dataclass
class ComponentPaths:
    """Resolves component names to local paths (or hub ids) under one weights root.

    ``root`` defaults to ``$PANOWORLD_WEIGHTS`` or ``./weights``.
    """

    root: Path | str | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root) if self.root is not None else weights_root()

    def expected(self, name: str) -> Path:
        """The default location of component ``name`` (whether it exists or not)."""
        return Path(self.root) / _spec(name).name

    def resolve(self, name: str, override: str | os.PathLike | None = None) -> str:
        """Return a local path or hub id for ``name``; raise MissingComponentError when unusable.

        ``override`` may be a local folder/file or a hub id (``owner/name``). A hub id is returned as is when
        the hub may be contacted; offline or unreachable (:mod:`panoworld.hub`), it resolves to its cached snapshot
        or fails at once.
        """
        spec = _spec(name)
        if override is not None:
            value = str(override)
            path = Path(value).expanduser()
            if _present(path):
                return str(path)
            if is_hub_id(value):
                offline = hub_offline()
                if not offline and not hub_unreachable():
                    return value
                cached = _cached_snapshot(value)
                if cached is not None:
                    return cached
                why = "the hub is offline (HF_HUB_OFFLINE)" if offline else "the hub cannot be reached"
                raise MissingComponentError(
                    f"missing component '{name}' ({spec.description}): hub id '{value}' is not in the local "
                    f"Hugging Face cache and {why}; download it from {spec.source}"
                )
            raise MissingComponentError(
                f"missing component '{name}' ({spec.description}): nothing at '{path}'; "
                f"download it from {spec.source}"
            )
        path = self.expected(name)
        if _present(path):
            return str(path)
        raise MissingComponentError(
            f"missing component '{name}' ({spec.description}): expected at '{path}' "
            f"(set ${WEIGHTS_ENV} or pass a path); download it from {spec.source}"
        )


def _spec(name: str) -> ComponentSpec:
    try:
        return COMPONENTS[name]
    except KeyError:
        raise MissingComponentError(
            f"unknown component '{name}'; known components: {', '.join(COMPONENTS)}"
        ) from None


def resolve_component(name: str, override: str | os.PathLike | None = None) -> str:
    """Local path or hub id of component ``name`` (see :meth:`ComponentPaths.resolve`)."""
    return ComponentPaths().resolve(name, override)


def small_model_folder(student: bool = False) -> Path:
    """The model folder of the small PanoWorld shipped inside the package (``panoworld/assets/small_model``:
    model_index.json, transformer/, vae/, text_encoder/, image_encoder/; see docs/small_model.md), or with
    ``student`` its 4-step distilled student (``assets/small_model_4step``: its own transformer, the small
    model's other components)."""
    from importlib import resources

    return Path(str(resources.files("panoworld") / "assets" / ("small_model_4step" if student else "small_model")))
