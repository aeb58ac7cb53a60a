"""Find and load every model a generation run needs: a weights root, a PanoWorld model folder, or tiny stand-ins.

Two layouts load the same way (:func:`resolve_model`, then :func:`load_pipeline`):

- a **weights root** laid out as ``panoworld weights`` lists (``$PANOWORLD_WEIGHTS``, default ``./weights/``):
  ``panoworld/``, ``cosmos-reason1-7b/``, ``siglip2-so400m-patch14-384/``, ``wan2.1-vae/``,
  ``cosmos-predict2.5-2b/``; the sampler is the reference's (UniPC, 35 steps, guidance 7);
- a **PanoWorld model folder** (:mod:`panoworld.formats.model_folder`): ``model_index.json`` names each component
  (a sub-folder, a weights-root component or a path / hub id) and the sampler the transformer was made for.

With no ``--model`` and no PanoWorld transformer in the weights root, the **small PanoWorld** shipped inside the
package (``panoworld/assets/small_model``, a model folder; see docs/small_model.md) is used, and
``ModelSource.note`` says so in one line. ``--model small`` picks it explicitly.

Resolving checks that every component exists (``MissingComponentError`` naming what to get and where) and reads
only small JSON files, so it runs before anything is loaded or written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from panoworld.models.components.paths import small_model_folder

from .config import GenerationConfig, LoadConfig

__all__ = ["ModelPaths", "ModelSource", "resolve_model", "load_pipeline", "tiny_random_pipeline", "small_model_folder",
           "TINY_RANDOM", "SMALL"]

#: Component names (``resolve_component``) of the PanoWorld net, base net, text encoder, SigLIP2 and VAE.
PANOWORLD, BASE, TEXT, SIGLIP, VAE = (
    "panoworld", "cosmos-predict2.5-2b", "cosmos-reason1-7b", "siglip2-so400m-patch14-384", "wan2.1-vae",
)
#: Model-folder slot -> weights-root component name.
SLOTS = {"transformer": PANOWORLD, "text_encoder": TEXT, "image_encoder": SIGLIP, "vae": VAE,
         "base_transformer": BASE}
#: ``resolve_model`` argument selecting tiny randomly initialised models (smoke tests; the output is noise).
TINY_RANDOM = "tiny-random"
#: ``resolve_model`` argument selecting the small PanoWorld shipped inside the package.
SMALL = "small"
SMALL_STUDENT = "small-4step"  # the small model's 4-step distilled student, shipped beside it
#: pixels x frames of one VAE chunk when generating on the CPU (``VideoVAE.chunk_budget``): the small model's
#: 33 x 128 x 256 video encodes in 1 + 32 frames and decodes its 9 latent frames in 1 + 8; 512 x 1024 in chunks of
#: 8 frames / 2 latent frames. Same function as diffusers' 4 / 1 chunking, other float rounding.
CPU_VAE_CHUNK_BUDGET = 2**22


@dataclass
class ModelPaths:
    """User overrides (local path or hub id) per component; None = what the weights root or model folder says."""

    checkpoint: str | None = None
    base_model: str | None = None
    text_encoder: str | None = None
    siglip: str | None = None
    vae: str | None = None

    def by_slot(self) -> dict[str, str | None]:
        return {"transformer": self.checkpoint, "text_encoder": self.text_encoder, "image_encoder": self.siglip,
                "vae": self.vae, "base_transformer": self.base_model}


@dataclass
class ModelSource:
    """A resolved model: where each component is, and what the model expects at sampling time.

    Attributes:
        kind: "weights-root", "model-folder" or "tiny-random".
        location: the weights root or model folder ("" for tiny-random).
        components: slot ("transformer", "text_encoder", "image_encoder", "vae", "base_transformer") -> local
            path or hub id.
        sampler: the model folder's sampler spec as a dict (kind, num_steps, guidance, timesteps).
        defaults: generation defaults of the model (height, width, num_frames, fps, latent_padding, ...).
        family: model family label ("panoworld-2b" for a weights root).
        note: one line for the user about how the model was chosen ("" when the user named it).
    """

    kind: str
    location: str
    components: dict[str, str] = field(default_factory=dict)
    sampler: dict = field(default_factory=lambda: {"kind": "unipc-karras", "num_steps": 35, "guidance": 7.0})
    defaults: dict = field(default_factory=dict)
    family: str = "panoworld-2b"
    note: str = ""

    def generation_config(self, **values) -> GenerationConfig:
        """A validated :class:`GenerationConfig`: the model's sampler and defaults, overridden by ``values``
        (None values are ignored); one that the model's sampler cannot run (a few-step student's steps or
        guidance changed) raises ``InputError`` here, before any model is loaded."""
        from .config import check_sampler

        base = {"sampler": self.sampler["kind"], "num_steps": self.sampler["num_steps"],
                "guidance": float(self.sampler["guidance"])}
        known = set(GenerationConfig.__dataclass_fields__)
        base.update({k: v for k, v in self.defaults.items() if k in known})
        base.update({k: v for k, v in values.items() if v is not None})
        config = GenerationConfig().replace(**base)
        check_sampler(self.sampler["kind"], config.sampler, model=self.location or "this model",
                      num_steps=config.num_steps, guidance=config.guidance, timesteps=self.sampler.get("timesteps"))
        return config

    def fingerprints(self) -> dict:
        """Component name -> cheap identity of its weights (:func:`panoworld.pipelines.record.fingerprint`)."""
        if self.kind == TINY_RANDOM:
            return {"tiny_random": True}
        from .record import fingerprint

        prints = {SLOTS[slot]: fingerprint(path) for slot, path in self.components.items()}
        if self.sampler.get("kind") == "few-step":  # the student's flow times change its result
            prints["few_step_timesteps"] = list(self.sampler.get("timesteps") or [])
        return prints


def _weights_root_source(root: Path | None, overrides: dict[str, str | None], need_base: bool) -> ModelSource:
    from panoworld.models.components import ComponentPaths

    paths = ComponentPaths(root)
    slots = [s for s in SLOTS if s != "base_transformer" or need_base]
    components = {slot: paths.resolve(SLOTS[slot], overrides.get(slot)) for slot in slots}
    return ModelSource("weights-root", str(paths.root), components)


def _model_folder_source(folder: Path, overrides: dict[str, str | None], need_base: bool) -> ModelSource:
    from panoworld.formats.model_folder import component_name, local_reference, read_model_index
    from panoworld.models.components import ComponentPaths

    index = read_model_index(folder)
    paths = ComponentPaths()
    components = {}
    for slot, name in SLOTS.items():
        reference = overrides.get(slot) or index.components.get(slot)
        if slot == "base_transformer" and not need_base:
            continue
        if reference is None:
            components[slot] = paths.resolve(name)  # raises, naming the weights-root location
        elif component_name(reference) is not None:
            components[slot] = paths.resolve(component_name(reference))
        else:
            components[slot] = paths.resolve(name, local_reference(folder, reference))
    sampler = {"kind": index.sampler.kind, "num_steps": index.sampler.num_steps,
               "guidance": index.sampler.guidance, "timesteps": index.sampler.timesteps}
    return ModelSource("model-folder", str(folder), components, sampler, dict(index.defaults), index.family)


def _small_source(overrides: dict[str, str | None], need_base: bool, note: str = "",
                  student: bool = False) -> ModelSource:
    """The shipped small model (or its 4-step ``student``) as a model-folder source, with ``note`` for the user."""
    from panoworld.errors import InputError, MissingComponentError
    from panoworld.formats.model_folder import is_model_folder

    folder = small_model_folder(student)
    if not is_model_folder(folder):
        raise MissingComponentError(f"the small PanoWorld is not installed at {folder}; reinstall panoworld")
    if need_base:
        raise InputError("the small PanoWorld has no base model; use --motion static (the default)")
    source = _model_folder_source(folder, overrides, need_base=False)
    source.note = note
    return source


def resolve_model(model: str | os.PathLike | None = None, paths: ModelPaths | None = None, *,
                  need_base: bool = False) -> ModelSource:
    """Resolve a weights root or model folder (None = ``$PANOWORLD_WEIGHTS``) without loading anything.

    ``paths`` overrides single components; ``need_base`` also resolves the base Cosmos transformer (needed for
    ``motion="base-i2v"``). Raises ``MissingComponentError`` / ``InputError`` (one line) when unusable.
    """
    from panoworld.errors import InputError
    from panoworld.formats.model_folder import is_model_folder

    overrides = (paths or ModelPaths()).by_slot()
    if str(model) == TINY_RANDOM:
        return ModelSource(TINY_RANDOM, "", family="tiny-random")
    if str(model) in (SMALL, SMALL_STUDENT):
        return _small_source(overrides, need_base, student=str(model) == SMALL_STUDENT)
    if model is None:
        from panoworld.models.components import ComponentPaths

        root = ComponentPaths()
        if overrides.get("transformer") is None and not root.expected(PANOWORLD).exists() \
                and is_model_folder(small_model_folder()):
            return _small_source(overrides, need_base, note=(
                f"no PanoWorld weights at {root.expected(PANOWORLD)}: using the small PanoWorld shipped with the "
                "package (synthetic rooms and streets only; --model picks another)"))
        return _weights_root_source(None, overrides, need_base)
    location = Path(model).expanduser()
    if is_model_folder(location):
        return _model_folder_source(location, overrides, need_base)
    if location.is_dir():
        return _weights_root_source(location, overrides, need_base)
    raise InputError(f"{model}: not a PanoWorld model folder (model_index.json) nor a weights folder (--model)")


def load_pipeline(source: ModelSource, load: LoadConfig | None = None):
    """Load the models of ``source`` into a ``PanoWorldPipeline`` as ``load`` says (validated here)."""
    from panoworld.models.components import ImageEncoder, TextEncoder, VideoVAE
    from panoworld.models.loading import load_transformer

    from .panoworld import PanoWorldPipeline

    load = (load or LoadConfig()).validate()
    device = load.torch_device()
    if source.kind == TINY_RANDOM:
        pipe = tiny_random_pipeline(device=device, offload=load.offload, rope_type=load.rope or "equirect",
                                    attention=load.attention)
    else:
        dtype = load.torch_dtype(device)
        parts = source.components
        rope = {"rope_type": load.rope} if load.rope else {}
        transformer = load_transformer(parts["transformer"], dtype=dtype, **rope)
        base = parts.get("base_transformer")
        base = load_transformer(base, dtype=dtype, rope_type="linear") if base else None
        text = TextEncoder.from_pretrained(parts["text_encoder"], dtype=dtype, cache_dir=load.text_cache)
        image = ImageEncoder.from_pretrained(parts["image_encoder"], dtype=dtype)
        vae = VideoVAE.from_pretrained(parts["vae"], dtype=dtype)
        if device.type == "cpu":  # the VAE is most of a CPU round: long chunks, memory is not the limit there
            vae.chunk_budget = CPU_VAE_CHUNK_BUDGET
        if load.compile:
            for net in (transformer, base):
                if net is not None:
                    net.compile_blocks()
        pipe = PanoWorldPipeline(transformer, vae, text, image, base_transformer=base, device=device,
                                 offload=load.offload, attention=load.attention)
    pipe.source = source
    pipe.sampler_kind = source.sampler["kind"]
    pipe.sampler_timesteps = source.sampler.get("timesteps")
    return pipe


def tiny_random_pipeline(*, device, offload: str = "none", rope_type: str = "equirect", seed: int = 0,
                         attention: str = "auto"):
    """A pipeline of tiny randomly initialised models (no weights needed; the output is noise)."""
    import torch

    from panoworld.models import PanoWorldTransformer, tiny_config
    from panoworld.models.components import ImageEncoder, TextEncoder, VideoVAE

    from .panoworld import PanoWorldPipeline

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transformer = PanoWorldTransformer(**tiny_config(rope_type=rope_type)).eval()
        base = PanoWorldTransformer(**tiny_config(reference_channels=0, img_context_dim_in=None,
                                                  rope_type="linear")).eval()
    return PanoWorldPipeline(
        transformer, VideoVAE.tiny(seed=seed), TextEncoder.tiny(seed=seed), ImageEncoder.tiny(seed=seed),
        base_transformer=base, device=device, offload=offload, attention=attention,
    )
