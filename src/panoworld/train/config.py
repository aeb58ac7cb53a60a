"""Training configuration: typed sections, TOML files and presets, ``key=value`` overrides with type checks.

A config is a TOML file whose tables are the sections below (every key optional; defaults in the dataclasses).
``load_config("tiny-synth")`` reads the preset shipped in ``panoworld/configs/train/``; any other string is a file
path. ``overrides=["optim.lr=1e-4", "data.train=[{path='data/synth'}]"]`` set dotted keys; the value is parsed as
a TOML value (a bare word that is not valid TOML is taken as a string) and checked against the field's type;
``none`` clears an optional field (``model.depth_head_block=none``).
Relative paths in a config are relative to the current directory. Units: angles in degrees, sizes in pixels,
frame rates in frames per second, learning rates per optimizer step.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from panoworld.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "PRESETS_PACKAGE",
    "TrainConfig",
    "SourceConfig",
    "list_presets",
    "load_config",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "config_difference",
    "RESUME_FREE_KEYS",
]

PRESETS_PACKAGE = "panoworld.configs.train"


@dataclass
class RunConfig:
    """Where the run lives and how long it lasts."""

    out_dir: str = "runs/train"
    seed: int = 0
    max_steps: int = 1000
    max_minutes: float = 0.0  # wall-clock budget of this invocation in minutes (0 = none): stop, checkpoint, export
    log_every: int = 10
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    device: str = "auto"  # auto (CUDA when present), cpu, cuda, cuda:1 ...
    precision: str = "auto"  # auto (bf16 autocast on CUDA, fp32 on CPU), bf16, fp32


@dataclass
class ModelConfig:
    """The transformer: from scratch (``init = "scratch"`` + ``transformer``) or a checkpoint reference."""

    family: str = "panoworld-small"
    init: str = "scratch"  # "scratch", a path, a hub id or "component:<name>" (e.g. component:panoworld)
    widen: bool = False  # widen a base Cosmos-Predict2.5 checkpoint to the PanoWorld variant (convert --widen)
    transformer: dict = field(default_factory=dict)  # PanoWorldTransformer kwargs (scratch) or config overrides
    depth_head_block: int | None = None
    descriptor_head_block: int | None = None
    head_hidden_dim: int = 256
    descriptor_dim: int = 32
    gradient_checkpointing: bool = False
    export_dtype: str = "float32"  # dtype of the exported (EMA) transformer: float32 or bfloat16


@dataclass
class ComponentsConfig:
    """Component references: a path, a hub id, "component:<name>" (weights root) or "builtin:small"."""

    vae: str = "builtin:small"
    text_encoder: str = "builtin:small"
    image_encoder: str = "builtin:small"
    copy: str = "auto"  # into every checkpoint: auto (folders under 512 MiB), always, never (reference them)
    dtype: str = "auto"  # encode dtype for the cache: auto (bf16 on CUDA, fp32 on CPU), bf16, fp32


@dataclass
class SourceConfig:
    """One data source: a synth split / master.csv folder, or a training package."""

    path: str = ""
    split: str = ""  # package: train.csv (default), val or all; master.csv: rows of this split ("" = all rows)
    annotations: str = ""  # folder of <clip>/ annotation folders (panoworld annotate output); "" = in the source


@dataclass
class DataConfig:
    """Clips, their size in training, the cache and the batch."""

    train: list[SourceConfig] = field(default_factory=list)
    val: list[SourceConfig] = field(default_factory=list)
    cache_dir: str = "cache/train"
    height: int = 128
    width: int = 256
    num_frames: int = 33
    fps: float = 16.0
    persp_height: int = 0  # 0: 480 x 640 scaled to the ERP height (the inference default at 512 rows)
    persp_width: int = 0
    cache_dtype: str = "float32"  # float32 or bfloat16 for cached latents and embeddings
    batch_size: int = 8  # global batch (all processes, all accumulation steps)
    micro_batch_size: int = 0  # per process and forward pass; 0 = batch_size / processes (no accumulation)


@dataclass
class SamplesConfig:
    """Training-sample builders (how each mirrors inference: docs/train.md)."""

    round2_fraction: float = 0.5
    #: Relative weights of K = 1, 2, ... clean latent frames in a Round-2 sample (K > 1 = an extension round of
    #: ``generate --rounds`` with ``--extend-frames K``); [1.0] = frame 0 only, as the reference.
    round2_cond_frames: list[float] = field(default_factory=lambda: [1.0])
    views_per_clip: int = 4
    fov_range: list[float] = field(default_factory=lambda: [60.0, 120.0])
    pitch_std: float = 5.0
    pitch_max: float = 15.0
    roll_std: float = 2.0
    roll_max: float = 5.0
    fill_noise_std: float = 0.5
    siglip_orientation: str = "reference"
    caption_styles: dict = field(default_factory=lambda: {"long": 0.5, "medium": 0.3, "short": 0.2})
    cfg_dropout: float = 0.1
    text_dropout: float = 0.0
    image_dropout: float = 0.0
    uncond_text: str = "negative"  # negative (the inference negative prompt), empty ("") or zeros
    proxy_speed: list[float] = field(default_factory=lambda: [0.0, 0.5])
    proxy_freeze_fov: bool = True
    proxy_blur: list[float] = field(default_factory=lambda: [1.0, 2.0])
    proxy_noise_std: float = 0.02


@dataclass
class FlowConfig:
    """Flow-matching time sampling and loss weighting."""

    timesteps: str = "logit_normal"  # logit_normal or uniform
    logit_mean: float = 0.0
    logit_std: float = 1.0
    shift: float = 1.0  # t -> shift t / (1 + (shift - 1) t)
    t_min: float = 0.001
    t_max: float = 0.999
    quantize: bool = True  # the network sees floor(1000 t) / 1000, as the sampler gives it
    per_frame: bool = False  # an independent t per latent frame (else one per sample, as at inference)
    solid_angle_weighting: bool = True


@dataclass
class LossConfig:
    """Geometry terms: L = L_flow + depth_weight L_depth + track_weight L_track (+ rigidity_weight L_rigid)."""

    depth_weight: float = 0.0
    track_weight: float = 0.0
    rigidity_weight: float = 0.0
    depth_scale_invariance: float = 0.5
    depth_max_t: float = 1.0
    track_temperature: float = 0.07
    track_max_points: int = 256
    track_pairs: int = 2
    track_negative_radius_deg: float = 3.0


@dataclass
class OptimConfig:
    """AdamW with linear warm-up and a cosine (or constant) schedule."""

    lr: float = 3e-4
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    warmup_steps: int = 100
    schedule: str = "cosine"  # cosine or constant
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0  # 0 disables
    fused: str = "auto"  # auto (fused on CUDA), on, off


@dataclass
class LoraConfig:
    """LoRA through PEFT; the new input channels, image branch and heads always train in full."""

    enabled: bool = False
    rank: int = 32
    alpha: float = 32.0
    dropout: float = 0.0
    targets: list[str] = field(default_factory=lambda: ["to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj",
                                                         "ff.net.2"])


@dataclass
class EmaConfig:
    """fp32 exponential moving average of the trained weights; it is what checkpoints export."""

    decay: float = 0.999
    warmup: bool = True  # decay_n = min(decay, (1 + n) / (10 + n))


@dataclass
class DistributedConfig:
    """torchrun multi-process training."""

    strategy: str = "ddp"  # ddp or fsdp (FSDP2, one shard group per transformer block)
    find_unused_parameters: bool = True


@dataclass
class ValidationConfig:
    """Periodic sampling of held-out clips, scored with the eval harness's seam and depth metrics."""

    every: int = 0  # steps; 0 = off
    clips: int = 2
    num_steps: int = 15
    guidance: float = 7.0
    caption_style: str = "long"
    latent_padding: int = 2
    write_videos: bool = True


@dataclass
class LoggingConfig:
    """metrics.jsonl always; TensorBoard events when the tensorboard package is installed."""

    tensorboard: bool = True
    progress: bool = True


@dataclass
class TrainConfig:
    """Every setting of one training run."""

    run: RunConfig = field(default_factory=RunConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    components: ComponentsConfig = field(default_factory=ComponentsConfig)
    data: DataConfig = field(default_factory=DataConfig)
    samples: SamplesConfig = field(default_factory=SamplesConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    ema: EmaConfig = field(default_factory=EmaConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    source: str = ""  # where the config came from (informational)

    def validate(self) -> "TrainConfig":
        """Raise :class:`InputError` (one line) for an unusable setting; return ``self``."""
        _validate(self)
        return self


#: Keys that may change when a run resumes (everything else must match the checkpoint's config).
RESUME_FREE_KEYS = ("run.max_steps", "run.max_minutes", "run.log_every", "run.checkpoint_every",
                    "run.keep_checkpoints", "run.device", "validation", "logging", "source", "data.cache_dir",
                    "data.val")

_CHOICES = {
    "run.precision": ("auto", "bf16", "fp32"),
    "model.export_dtype": ("float32", "bfloat16"),
    "components.copy": ("auto", "always", "never"),
    "components.dtype": ("auto", "bf16", "fp32"),
    "data.cache_dtype": ("float32", "bfloat16"),
    "samples.siglip_orientation": ("reference", "upright"),
    "samples.uncond_text": ("negative", "empty", "zeros"),
    "flow.timesteps": ("logit_normal", "uniform"),
    "optim.schedule": ("cosine", "constant"),
    "optim.fused": ("auto", "on", "off"),
    "distributed.strategy": ("ddp", "fsdp"),
}


def _fail(key: str, message: str) -> None:
    raise InputError(f"config {key}: {message}")


def _validate(cfg: TrainConfig) -> None:
    for key, allowed in _CHOICES.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value not in allowed:
            _fail(key, f"must be one of {', '.join(allowed)}, got {value!r}")
    d, s, f, lo, o = cfg.data, cfg.samples, cfg.flow, cfg.loss, cfg.optim
    if d.height <= 0 or d.width != 2 * d.height or d.height % 16:
        _fail("data.height/width", f"need an ERP size W = 2H with H a multiple of 16, got {d.height}x{d.width}")
    if d.num_frames < 1 or (d.num_frames - 1) % 4:
        _fail("data.num_frames", f"must be 4k+1 (e.g. 33, 93), got {d.num_frames}")
    for key, value in (("data.fps", d.fps), ("data.batch_size", d.batch_size), ("run.max_steps", cfg.run.max_steps),
                       ("run.log_every", cfg.run.log_every), ("samples.views_per_clip", s.views_per_clip),
                       ("optim.lr", o.lr), ("ema.decay", cfg.ema.decay), ("lora.rank", cfg.lora.rank)):
        if not value > 0:
            _fail(key, f"must be positive, got {value}")
    if not (math.isfinite(cfg.run.max_minutes) and cfg.run.max_minutes >= 0):
        _fail("run.max_minutes", f"must be >= 0 (0 = no limit), got {cfg.run.max_minutes}")
    if d.micro_batch_size < 0 or (d.persp_height % 2) or (d.persp_width % 2):
        _fail("data.micro_batch_size/persp_*", "must be >= 0 (perspective sizes even)")
    for key, value in (("samples.round2_fraction", s.round2_fraction), ("samples.cfg_dropout", s.cfg_dropout),
                       ("samples.text_dropout", s.text_dropout), ("samples.image_dropout", s.image_dropout),
                       ("loss.depth_scale_invariance", lo.depth_scale_invariance), ("ema.decay", cfg.ema.decay)):
        if not 0 <= value <= 1:
            _fail(key, f"must be in [0, 1], got {value}")
    for key, pair, lo_ok, hi_ok in (("samples.fov_range", s.fov_range, 0, 180), ("samples.proxy_speed",
                                    s.proxy_speed, 0, 1), ("samples.proxy_blur", s.proxy_blur, 1, 64)):
        if len(pair) != 2 or not lo_ok <= pair[0] <= pair[1] <= hi_ok or (key.endswith("fov_range") and pair[0] == 0):
            _fail(key, f"must be [low, high] within [{lo_ok}, {hi_ok}], got {pair}")
    if s.proxy_speed[0] == 1 and not s.proxy_freeze_fov and s.proxy_blur[1] <= 1 and s.proxy_noise_std <= 0:
        _fail("samples.proxy_*", "this Round-2 proxy is the target video itself (speed 1, no FOV freeze, blur or "
              "noise): the model would learn to copy its reference")
    weights = s.round2_cond_frames
    if not weights or any(not w >= 0 for w in weights) or not sum(weights) > 0 or len(weights) >= 1 + (
            d.num_frames - 1) // 4:
        _fail("samples.round2_cond_frames", f"needs 1 to {(d.num_frames - 1) // 4} weights >= 0 (K = 1, 2, ... "
              f"clean latent frames, fewer than the {1 + (d.num_frames - 1) // 4} latent frames), got {weights}")
    styles = {k: v for k, v in s.caption_styles.items() if v}
    if not styles or any(k not in ("short", "medium", "long") or v < 0 for k, v in s.caption_styles.items()):
        _fail("samples.caption_styles", f"needs weights >= 0 for short/medium/long, got {s.caption_styles}")
    if not 0 < f.t_min < f.t_max < 1 or f.shift <= 0 or f.logit_std <= 0:
        _fail("flow", "need 0 < t_min < t_max < 1, shift > 0 and logit_std > 0")
    for key, value in (("loss.depth_weight", lo.depth_weight), ("loss.track_weight", lo.track_weight),
                       ("loss.rigidity_weight", lo.rigidity_weight), ("optim.weight_decay", o.weight_decay),
                       ("optim.grad_clip", o.grad_clip), ("optim.warmup_steps", o.warmup_steps)):
        if not value >= 0:
            _fail(key, f"must be >= 0, got {value}")
    m = cfg.model
    if (lo.depth_weight or lo.rigidity_weight) and m.depth_head_block is None:
        _fail("loss.depth_weight", "a depth or rigidity loss needs a depth head (set model.depth_head_block)")
    if lo.track_weight and m.descriptor_head_block is None:
        _fail("loss.track_weight", "a track loss needs a descriptor head (set model.descriptor_head_block)")
    if lo.track_temperature <= 0 or lo.track_max_points < 2 or lo.track_pairs < 1:
        _fail("loss.track_*", "need temperature > 0, max_points >= 2, pairs >= 1")
    if m.init == "scratch" and not m.transformer:
        _fail("model.transformer", "training from scratch needs the transformer config (model.transformer)")
    if not d.train:
        _fail("data.train", "no training sources; add [[data.train]] path = \"...\" or --set data.train=...")
    if cfg.validation.every and not d.val:
        _fail("validation.every", "validation needs [[data.val]] sources")


# ---------------------------------------------------------------------------------------------- (de)serialising
def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _check_finite(value, key: str) -> None:
    """Refuse NaN and +-inf anywhere in a value (TOML reads ``nan`` and ``inf`` as floats)."""
    if isinstance(value, float) and not math.isfinite(value):
        _fail(key, f"must be a finite number, got {value}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{key}[{i}]")


def _coerce(value, tp, key: str):
    """``value`` checked (finite; int -> float widened) against the annotation ``tp``."""
    _check_finite(value, key)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if type(None) in options and (value is None or (isinstance(value, str) and value.lower() in ("none", "null"))):
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except InputError as exc:
                errors.append(str(exc))
        raise InputError(errors[0] if errors else f"config {key}: bad value {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            _fail(key, f"must be a table, got {value!r}")
        return _from_dict(tp, value, key)
    if origin is list:
        if not isinstance(value, list):
            _fail(key, f"must be a list, got {value!r}")
        (item,) = typing.get_args(tp) or (typing.Any,)
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            _fail(key, f"must be a table, got {value!r}")
        return dict(value)
    if tp is typing.Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        _fail(key, f"must be true or false, got {value!r}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        _fail(key, f"must be an integer, got {value!r}")
    if tp in (float, str) and not isinstance(value, tp):
        _fail(key, f"must be a {_type_name(tp)}, got {value!r}")
    return value


def _from_dict(cls, raw: dict, prefix: str):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise InputError(f"config: unknown key(s) {', '.join(where + u for u in unknown)}; "
                         f"known in {prefix or 'the top level'}: {', '.join(sorted(names))}")
    values = {k: _coerce(v, hints[k], f"{prefix}.{k}" if prefix else k) for k, v in raw.items()}
    return cls(**values)


def config_from_dict(raw: dict) -> TrainConfig:
    """Build a :class:`TrainConfig` from nested dicts (TOML tables); unknown keys and bad types raise."""
    return _from_dict(TrainConfig, raw, "")


def config_to_dict(cfg: TrainConfig) -> dict:
    """Nested plain dict (JSON/TOML-able)."""
    return dataclasses.asdict(cfg)


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``section.key=value`` strings to nested dicts (in place; returns ``raw``)."""
    for item in overrides or []:
        if "=" not in item:
            raise InputError(f"--set needs key=value, got {item!r}")
        key, text = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise InputError(f"--set needs a key before '=', got {item!r}")
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(f"--set {key}: {part} is not a table")
        node[parts[-1]] = _parse_value(text.strip())
    return raw


def list_presets() -> list[str]:
    """Names of the presets shipped with panoworld (``configs/train/*.toml``)."""
    folder = resources.files(PRESETS_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _read_toml(source: str) -> tuple[dict, str]:
    path = Path(source).expanduser()
    if path.is_file():
        text, origin = path.read_text(), str(path.resolve())
    elif "/" not in source and not source.endswith(".toml") and source in list_presets():
        text, origin = (resources.files(PRESETS_PACKAGE) / f"{source}.toml").read_text(), f"preset:{source}"
    else:
        raise InputError(f"--config {source!r}: no such file and no such preset (presets: {', '.join(list_presets())})")
    try:
        return tomllib.loads(text), origin
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"--config {origin}: invalid TOML ({exc})") from None


def load_config(source: str, overrides: list[str] | None = None) -> TrainConfig:
    """Read a preset name or TOML file, apply ``overrides`` and validate."""
    raw, origin = _read_toml(source)
    raw.pop("source", None)
    cfg = config_from_dict(apply_overrides(raw, overrides or []))
    cfg.source = origin
    return cfg.validate()


def config_difference(a: dict, b: dict, free=RESUME_FREE_KEYS, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts, ignoring ``free`` keys and their children."""
    out = []
    for key in sorted(set(a) | set(b)):
        dotted = f"{prefix}{key}"
        if dotted in free:
            continue
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict) and prefix == "":  # a section: compare key by key
            out += config_difference(va, vb, free, f"{dotted}.")
        elif json.dumps(va, sort_keys=True) != json.dumps(vb, sort_keys=True):
            out.append(dotted)
    return out
