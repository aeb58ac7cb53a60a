"""``panoworld train cache``: everything a training step reads, precomputed once per clip, resumably.

Layout of ``data.cache_dir`` (names and version: ``panoworld.formats.training``)::

    cache.json                        settings, latent shape, clip names per split (written last)
    clips/<name>.safetensors          one file per clip (tensors below; JSON metadata)
    clips/<name>.json                 the clip's completion record (``panoworld.formats.job_record``), written last
    text/<key[:2]>/<key>.safetensors  one prompt embedding (L, D) per (text encoder, text)

Per clip (K = samples.views_per_clip, latents (16, T_lat, h, w)): ``x0`` VAE latent of the training window;
``r1_guide``, ``r1_reference`` (K, 16, ...), ``r1_mask`` (K, 1, ...) uint8 and ``r1_tokens`` (K, N, D) of K Round-1
views (``samples.round1_conditionings``); ``r1_views`` (K, 4) fov/yaw/pitch/roll in degrees; ``r2_reference``
(K, 16, ...) VAE latents of the Round-2 proxies (``samples.round2_proxy``; the K proxies, the K guides and the K
references are each one batched VAE encode, with the random draws of one view after another); when annotated,
``depth_log`` (T_lat, h, w) (NaN = unsupervised) and ``track_xy`` (N, T_lat, 2), ``track_visible`` (N, T_lat) uint8,
``track_static`` (N,) uint8 (``targets``). Re-runs follow the batch-job rule of ``panoworld.formats.job_record``:
a clip whose record has the same settings key (everything its tensors depend on) and inputs key (its video,
annotation folder and captions) is skipped, one whose inputs changed is redone, and one made with other settings
stops the run before any work unless ``force``. Every file is written atomically, so ``kill -9`` loses at most the
clip in flight; a clip that fails is reported and the others go on (the manifest is written once all succeeded).
Text embeddings are computed first with the text encoder alone in memory, then freed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from panoworld.errors import BatchFailedError, InputError
from panoworld.formats.annotations import META as ANNOTATION_META
from panoworld.formats.annotations import is_complete
from panoworld.formats.job_record import Item, Report, plan_items, read_record, settings_key, source_fingerprint
from panoworld.formats.job_record import write_record
from panoworld.formats.training import (CACHE_MANIFEST, CACHE_TEXT, CACHE_VERSION, cache_entry_path,
                                        cache_record_path)
from panoworld.io.atomic import atomic_path, atomic_write_json

from . import components
from .config import TrainConfig
from .data import ClipRecord, list_clips, read_clip_annotations, read_clip_video
from .samples import draw_view, perspective_size, round1_conditionings, round2_proxy
from .targets import depth_targets, track_targets

__all__ = ["CACHE_VERSION", "cache_settings", "TextStore", "CacheEntry", "TrainCache", "build_cache",
           "collect_clips", "NEGATIVE", "EMPTY"]

MANIFEST = CACHE_MANIFEST
NEGATIVE, EMPTY = "negative", "empty"
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def cache_settings(cfg: TrainConfig) -> dict:
    """Everything the cached tensors depend on (compared with the manifest before training)."""
    d, s = cfg.data, cfg.samples
    styles = sorted({k for k, v in s.caption_styles.items() if v} | {cfg.validation.caption_style})
    return {
        "version": CACHE_VERSION, "height": d.height, "width": d.width, "num_frames": d.num_frames, "fps": d.fps,
        "persp_size": list(perspective_size(d)), "dtype": d.cache_dtype, "seed": cfg.run.seed,
        "sources": {"train": [asdict(x) for x in d.train], "val": [asdict(x) for x in d.val]},
        "views_per_clip": s.views_per_clip, "fov_range": s.fov_range, "pitch": [s.pitch_std, s.pitch_max],
        "roll": [s.roll_std, s.roll_max], "fill_noise_std": s.fill_noise_std,
        "siglip_orientation": s.siglip_orientation, "caption_styles": styles,
        "proxy": [s.proxy_speed, s.proxy_freeze_fov, s.proxy_blur, s.proxy_noise_std],
        "components": {slot: getattr(cfg.components, slot) for slot in components.SLOTS},
    }


class TextStore:
    """Prompt embeddings keyed by (text-encoder identity, text)."""

    def __init__(self, root: Path, encoder_id: str, dtype: torch.dtype = torch.float32):
        self.root, self.encoder_id, self.dtype = Path(root), encoder_id, dtype
        self._memo: dict[str, torch.Tensor] = {}
        self._lock = threading.Lock()

    def key(self, text: str) -> str:
        return hashlib.sha256(json.dumps([self.encoder_id, text]).encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.safetensors"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def put(self, key: str, embedding: torch.Tensor) -> None:
        with atomic_path(self.path(key)) as tmp:
            save_file({"embedding": embedding.detach().to("cpu", self.dtype).contiguous()}, str(tmp))

    def get(self, key: str) -> torch.Tensor:
        """(L, D) embedding; the most recent 64 stay in memory (safe to call from the prefetch thread)."""
        with self._lock:
            if key not in self._memo:
                if len(self._memo) >= 64:
                    self._memo.pop(next(iter(self._memo)))
                with safe_open(str(self.path(key)), framework="pt") as fh:
                    self._memo[key] = fh.get_tensor("embedding")
            return self._memo[key]


class CacheEntry:
    """Lazy reader of one cached clip (tensors are read from disk when asked)."""

    def __init__(self, path: Path):
        self.path = path
        with safe_open(str(path), framework="pt") as fh:
            self.meta = json.loads(fh.metadata()["meta"])
            self.keys = set(fh.keys())
        self.num_views = int(self.meta["views"])
        self.captions: dict[str, str] = self.meta["captions"]

    def _get(self, name: str, index: int | None = None, keep_dtype: bool = False) -> torch.Tensor:
        """A tensor (or one entry of its first axis); floating latents come back as float32."""
        with safe_open(str(self.path), framework="pt") as fh:
            tensor = fh.get_tensor(name) if index is None else fh.get_slice(name)[index]
        return tensor.float() if tensor.is_floating_point() and not keep_dtype else tensor

    def x0(self) -> torch.Tensor:
        return self._get("x0")

    def view(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(guide, reference, mask float, tokens) of Round-1 view ``k``."""
        return (self._get("r1_guide", k), self._get("r1_reference", k), self._get("r1_mask", k).float(),
                self._get("r1_tokens", k, keep_dtype=True))

    def proxy(self, k: int) -> torch.Tensor:
        return self._get("r2_reference", k)

    def depth(self) -> torch.Tensor | None:
        return self._get("depth_log") if "depth_log" in self.keys else None

    def tracks(self) -> tuple | None:
        if "track_xy" not in self.keys:
            return None
        return self._get("track_xy"), self._get("track_visible").bool(), self._get("track_static").bool()


class TrainCache:
    """An opened cache folder: its manifest, clip entries and text store."""

    def __init__(self, root: str | Path, manifest: dict):
        self.root = Path(root)
        self.manifest = manifest
        self.texts = TextStore(self.root / CACHE_TEXT, manifest["text_encoder_id"],
                               _DTYPES[manifest["settings"]["dtype"]])
        self._entries: dict[str, CacheEntry] = {}

    @classmethod
    def open(cls, cfg: TrainConfig) -> "TrainCache":
        """Open and check ``data.cache_dir`` against ``cfg``; one-line :class:`InputError` when unusable."""
        root = Path(cfg.data.cache_dir)
        hint = "run `panoworld train cache` with the same --config and --set first"
        if not (root / MANIFEST).is_file():
            raise InputError(f"no training cache at {root} (data.cache_dir); {hint}")
        manifest = json.loads((root / MANIFEST).read_text())
        want, have = cache_settings(cfg), manifest.get("settings", {})
        diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        if diff:
            k = diff[0]
            raise InputError(f"the cache at {root} was built with other settings ({k}: {have.get(k)} -> "
                             f"{want.get(k)}); {hint}")
        missing = [n for names in manifest["clips"].values() for n in names
                   if not cache_entry_path(root, n).is_file()]
        if missing:
            raise InputError(f"the cache at {root} lacks {len(missing)} clip(s) (e.g. {missing[0]}); {hint}")
        return cls(root, manifest)

    def names(self, split: str) -> list[str]:
        return list(self.manifest["clips"].get(split, []))

    def entry(self, name: str) -> CacheEntry:
        """The (lazily read) entry of clip ``name``; its metadata is read once."""
        if name not in self._entries:
            self._entries[name] = CacheEntry(cache_entry_path(self.root, name))
        return self._entries[name]

    def annotated(self, split: str, kind: str) -> list[str]:
        """Clips of ``split`` lacking ``kind`` ("depth" or "tracks") annotations."""
        flags = self.manifest["annotations"]
        return [n for n in self.names(split) if not flags[n][kind]]

    def text(self, which: str) -> torch.Tensor:
        """The unconditional embeddings: NEGATIVE (the inference negative prompt) or EMPTY ("")."""
        return self.texts.get(self.manifest["text_keys"][which])


def collect_clips(cfg: TrainConfig) -> dict[str, list[ClipRecord]]:
    """{"train": [...], "val": [...]} from the configured sources; names must be unique."""
    out, seen = {}, {}
    for split, sources in (("train", cfg.data.train), ("val", cfg.data.val)):
        clips = []
        for source in sources:
            for clip in list_clips(source.path, split=source.split, annotations=source.annotations):
                if clip.name in seen:
                    raise InputError(f"two clips are named {clip.name} ({seen[clip.name]} and {source.path}); "
                                     "give the synth splits distinct --split-name values")
                seen[clip.name] = source.path
                clips.append(clip)
        out[split] = clips
    return out


def _check_annotations(cfg: TrainConfig, clips: list[ClipRecord]) -> None:
    need = [(k, w) for k, w in (("depth", cfg.loss.depth_weight), ("tracks", cfg.loss.track_weight)) if w > 0]
    for clip in clips:
        if need and (clip.annotation_dir is None or not is_complete(clip.annotation_dir)):
            kind, _ = need[0]
            raise InputError(f"clip {clip.name} has no annotations but loss.{kind.rstrip('s')}_weight > 0; run "
                             "`panoworld annotate` on the source (or set the weight to 0)")
        if not clip.captions:
            raise InputError(f"clip {clip.name} has no caption (short/medium/long)")


def _item_settings(settings: dict, ids: dict) -> str:
    """Settings key of every clip: the cache settings except the source list (which clips, not how), plus the
    identities of the encoders."""
    return settings_key({**{k: v for k, v in settings.items() if k != "sources"}, "component_ids": ids})


def _item_inputs(clip: ClipRecord) -> str:
    """Inputs key of a clip: its video and annotation folder (size and modification time) and its captions."""
    files = {}
    marker = clip.annotation_dir / ANNOTATION_META if clip.annotation_dir is not None else None
    for role, path in (("video", clip.video), ("annotations", marker)):
        if path is not None and path.is_file():
            files[role] = {k: v for k, v in source_fingerprint(path).items() if k != "path"}
    return settings_key({"files": files, "captions": clip.captions})


def _encode_texts(cfg: TrainConfig, store: TextStore, texts: list[str], device: torch.device) -> None:
    todo = sorted({t for t in texts if not store.has(store.key(t))})
    if not todo:
        return
    encoder = components.load_text_encoder(cfg.components.text_encoder, device, cfg.components.dtype)
    for i in range(0, len(todo), 8):
        chunk = todo[i : i + 8]
        for text, emb in zip(chunk, encoder.encode(chunk)):
            store.put(store.key(text), emb)
    del encoder


ENCODE_CHUNK_BUDGET = 2**24  # pixels x frames x batch items of one VAE chunk (K = 4 views at 128x256: 32 frames)


def load_cache_vae(cfg: TrainConfig, device: torch.device):
    """The ``VideoVAE`` of ``cfg.components.vae`` as the cache runs it: chunks as long as
    :data:`ENCODE_CHUNK_BUDGET` allows for each encode (``VideoVAE.chunk_budget``; the small VAE's K = 4 batch at
    128x256 x 33 frames encodes in 1 + 32 frames, a 720x1440 one in diffusers' 4). Longer chunks compute the same
    latents (other float rounding) faster."""
    vae = components.load_vae(cfg.components.vae, device, cfg.components.dtype)
    vae.chunk_budget = ENCODE_CHUNK_BUDGET
    return vae


def _build_entry(cfg: TrainConfig, clip: ClipRecord, vae, image_encoder, store: TextStore, path: Path) -> dict:
    d, s = cfg.data, cfg.samples
    dtype = _DTYPES[d.cache_dtype]
    frames, times = read_clip_video(clip, num_frames=d.num_frames, fps=d.fps, size=(d.height, d.width))
    pixels = (frames * 2 - 1).permute(1, 0, 2, 3)[None].to(vae.device, vae.dtype)
    x0 = vae.encode(pixels)[0].float().cpu()
    gen = torch.Generator().manual_seed(int(hashlib.sha256(f"{cfg.run.seed}:{clip.name}".encode()).hexdigest()[:12],
                                            16))
    persp_size = perspective_size(d)
    views, seeds, proxy_px = [], [], []
    for _ in range(s.views_per_clip):  # every random draw in the order of the one-view-at-a-time cache
        views.append(draw_view(s, gen))
        seeds.append(int(torch.randint(2**31, (), generator=gen)))
        proxy = round2_proxy(frames, views[-1], s, gen, persp_size=persp_size)
        proxy_px.append((proxy * 2 - 1).permute(1, 0, 2, 3)[None].to(vae.device, vae.dtype))
    round1 = round1_conditionings(frames, views, vae, image_encoder, num_frames=d.num_frames, persp_size=persp_size,
                                  fill_noise_std=s.fill_noise_std, seeds=seeds, orientation=s.siglip_orientation)
    proxies = vae.encode(torch.cat(proxy_px)).float().cpu()
    del proxy_px
    guides = torch.cat([fov.guide.cpu() for fov, _, _ in round1])
    refs = torch.cat([fov.reference.cpu() for fov, _, _ in round1])
    masks = torch.cat([fov.mask.cpu().to(torch.uint8) for fov, _, _ in round1])
    tokens = torch.stack([toks.float().cpu() for _, toks, _ in round1])
    tensors = {"x0": x0.to(dtype), "r1_guide": guides.to(dtype), "r1_reference": refs.to(dtype), "r1_mask": masks,
               "r1_tokens": tokens.to(dtype),
               "r1_views": torch.tensor([view.as_list() for view in views], dtype=torch.float64),
               "r2_reference": proxies.to(dtype)}
    ann = read_clip_annotations(clip)
    flags = {"depth": False, "tracks": False}
    if ann is not None:
        shape = tuple(x0.shape[1:])
        if ann.depth is not None:
            tensors["depth_log"] = depth_targets(ann, times, d.fps, shape)
            flags["depth"] = bool(torch.isfinite(tensors["depth_log"]).any())
        tracks = track_targets(ann, times, d.fps, shape)
        if tracks is not None:
            tensors["track_xy"], vis, static = tracks
            tensors["track_visible"], tensors["track_static"] = vis.to(torch.uint8), static.to(torch.uint8)
            flags["tracks"] = bool((vis.sum(1) >= 2).any())
    meta = {"name": clip.name, "views": s.views_per_clip, "annotations": flags,
            "captions": {style: store.key(text) for style, text in clip.captions.items()}}
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata={"meta": json.dumps(meta)})
    return flags


def build_cache(cfg: TrainConfig, *, device: torch.device, force: bool = False,
                progress: Callable[[int, int], None] | None = None,
                say: Callable[[str], None] | None = None,
                shard: tuple[int, int] | None = None) -> TrainCache | None:
    """Build (or complete) the cache of ``cfg``; ``progress(done, total)`` after every clip, ``say(line)`` for
    the plan and each failure.

    ``shard = (i, n)`` caches only the clips whose position in the clip list is ``i`` modulo ``n`` (n processes,
    e.g. one per GPU or several on one GPU, share the work; ``formats.job_record``) and returns None without
    writing the manifest; a final call without ``shard`` finds every clip done and writes it.

    Raises:
        StaleItemsError: a cached clip was made with other settings and ``force`` is off (nothing is done).
        BatchFailedError: some clips failed (the others are cached; a re-run retries the failed ones).
    """
    from panoworld.pipelines.config import DEFAULT_NEGATIVE_PROMPT

    cfg.validate()
    clips = collect_clips(cfg)
    _check_annotations(cfg, clips["train"])
    for clip in clips["val"]:
        if not clip.captions:
            raise InputError(f"clip {clip.name} has no caption (short/medium/long)")
    root = Path(cfg.data.cache_dir)
    settings = cache_settings(cfg)
    ids = {slot: components.identity(getattr(cfg.components, slot), slot) for slot in components.SLOTS}
    all_clips = clips["train"] + clips["val"]
    key = _item_settings(settings, ids)
    items = [Item(c.name, cache_record_path(root, c.name), key, c, inputs=_item_inputs(c)) for c in all_clips]
    if shard is not None and not 0 <= shard[0] < shard[1]:
        raise InputError(f"shard must be i/n with 0 <= i < n, got {shard[0]}/{shard[1]}")
    plan = plan_items(items, force=force, complete=lambda item, _: cache_entry_path(root, item.name).is_file(),
                      shard=shard)
    if say is not None:
        say(plan.summary("clip"))
    store = TextStore(root / CACHE_TEXT, ids["text_encoder"], _DTYPES[cfg.data.cache_dtype])
    texts = [DEFAULT_NEGATIVE_PROMPT, ""] + [t for split in clips.values() for c in split for t in c.captions.values()]
    _encode_texts(cfg, store, texts, device)
    report = Report(skipped=[item.name for item in plan.done])
    todo = plan.todo
    if todo:
        vae = load_cache_vae(cfg, device)
        image_encoder = components.load_image_encoder(cfg.components.image_encoder, device, cfg.components.dtype)
    if progress is not None:
        progress(len(plan.done), len(items))
    for item in todo:
        try:
            flags = _build_entry(cfg, item.payload, vae, image_encoder, store, cache_entry_path(root, item.name))
            write_record(item.record, {"annotations": flags}, item.key, item.inputs)
            report.done.append(item.name)
        except Exception as exc:  # noqa: BLE001 - one failing clip must not stop the others; it is reported
            reason = report.fail(item, exc, None)
            if say is not None:
                say(f"{item.name}: FAILED ({reason})")
        if progress is not None:
            progress(len(report.done) + len(report.skipped) + len(report.failed), len(items))
    if report.failed:
        name, reason = next(iter(report.failed.items()))
        raise BatchFailedError(f"{len(report.failed)} clip(s) failed to cache; first: {name}: {reason}; re-run the "
                               "same command to retry them")
    if shard is not None:
        return None
    flags = {item.name: read_record(item.record)["annotations"] for item in items}
    manifest = {"settings": settings, "component_ids": ids, "text_encoder_id": ids["text_encoder"],
                "text_keys": {NEGATIVE: store.key(DEFAULT_NEGATIVE_PROMPT), EMPTY: store.key("")},
                "clips": {split: [c.name for c in entries] for split, entries in clips.items()},
                "annotations": flags,
                "latent_shape": list(CacheEntry(cache_entry_path(root, all_clips[0].name)).x0().shape)}
    atomic_write_json(root / MANIFEST, manifest)
    return TrainCache(root, manifest)
