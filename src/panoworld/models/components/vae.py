"""Video VAE: Wan2.1 causal VAE (diffusers ``AutoencoderKLWan``) with Wan's fixed latent normalisation.

- ``encode``: (B, 3, T, H, W) in [-1, 1], T = 4k + 1, H and W multiples of 8 →
  normalised latents (B, 16, 1 + (T − 1)/4, H/8, W/8) = ``(μ − mean_c) / std_c`` (posterior mean, no sampling,
  as the reference tokenizer does; reference §2.5), float32.
- ``decode``: normalised latents → (B, 3, 4(T_lat − 1) + 1, 8h, 8w) in [-1, 1], float32.

The 16 per-channel ``mean_c`` / ``std_c`` are Wan2.1's (:data:`WAN21_LATENTS_MEAN` / :data:`WAN21_LATENTS_STD`);
a diffusers folder's ``latents_mean`` / ``latents_std`` config values are used when present.

Seam switch ``circular_longitude`` (:mod:`.wan_circular`): every width padding of the encoder and the decoder wraps
around the ±180° meridian instead of padding zeros, so an ERP video has no left/right edge anywhere in the VAE.
Off by default (Wan2.1 was trained with zero padding); a folder whose ``config.json`` holds
``"_panoworld_circular_longitude": true`` (the small model's VAE) loads with it on. Not combinable with tiling.

Weights: a diffusers folder (``config.json`` + weights, or a pipeline folder with ``vae/``), a hub id
(default ``Wan-AI/Wan2.1-T2V-1.3B-Diffusers``, subfolder ``vae``), or the original single file
(``Wan2.1_VAE.pth``, or Cosmos-Predict2.5's ``tokenizer.pth``), converted in memory with a strict key mapping.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from panoworld.errors import InputError, MissingComponentError
from panoworld.hub import hub_load_kwargs, is_hub_id

from ._base import ComponentBase
from .paths import COMPONENTS
from .wan_circular import set_circular_longitude
from .wan_vae_keys import convert_wan_vae_state_dict, unwrap_state_dict

__all__ = ["CIRCULAR_LONGITUDE_KEY", "WAN21_LATENTS_MEAN", "WAN21_LATENTS_STD", "VideoVAE"]

WAN21_LATENTS_MEAN = (-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                      0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921)
WAN21_LATENTS_STD = (2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                     3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160)
_ORIGINAL_NAMES = ("Wan2.1_VAE.pth", "tokenizer.pth")
# Private key (diffusers keeps "_"-prefixed config keys without a warning and writes them back on save).
CIRCULAR_LONGITUDE_KEY = "_panoworld_circular_longitude"


class VideoVAE(ComponentBase):
    """Wan2.1 VAE with normalised latents. ``latent_channels`` 16, ``temporal_compression`` 4,
    ``spatial_compression`` 8.

    Args:
        model: a diffusers ``AutoencoderKLWan``.
        tiling: decode/encode in overlapping spatial tiles (bounds memory for large frames).
        slicing: process batch items one at a time.
        circular_longitude: wrap the width padding of every convolution (ERP seam-free encode and decode);
            None takes the model config's ``_panoworld_circular_longitude`` (False when absent).
    """

    latent_channels = 16
    temporal_compression = 4
    spatial_compression = 8

    def __init__(self, model, *, tiling: bool = False, slicing: bool = False,
                 circular_longitude: bool | None = None) -> None:
        self.model = model.eval()
        cfg = model.config
        if int(cfg.z_dim) != self.latent_channels:
            raise InputError(f"Wan VAE: expected 16 latent channels, the config has {cfg.z_dim}")
        mean = getattr(cfg, "latents_mean", None) or WAN21_LATENTS_MEAN
        std = getattr(cfg, "latents_std", None) or WAN21_LATENTS_STD
        self.latents_mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1, 1)
        self.latents_std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1, 1)
        if circular_longitude is None:
            circular_longitude = bool(cfg.get(CIRCULAR_LONGITUDE_KEY, False))
        self.set_circular_longitude(circular_longitude)
        #: run encode / decode with :class:`~.wan_vae_fast.WanVAERunner` where it supports the model (same
        #: function, less work); False = diffusers' own loop
        self.fast = True
        #: the runner's pixel frames per encoder chunk (a multiple of 4) and latent frames per decoder chunk; the
        #: defaults are diffusers' chunking (bit-identical on the CPU), longer chunks compute the same function
        #: (other float rounding) faster and with more memory (2-core CPU, small VAE, 33 x 128 x 256: encode
        #: 17.4 s at 4, 9.4 s at 32)
        self.encode_chunk, self.decode_chunk = 4, 1
        #: when set: pixels x frames x batch items of one runner chunk, from which :meth:`chunk_lengths` picks the
        #: chunk lengths per call (overriding the two above); None keeps them
        self.chunk_budget: int | None = None
        if tiling:
            self.enable_tiling()
        if slicing:
            self.model.enable_slicing()

    @property
    def circular_longitude(self) -> bool:
        """Whether the encoder and decoder wrap their width padding around the ERP seam."""
        return bool(self.model.config.get(CIRCULAR_LONGITUDE_KEY, False))

    def set_circular_longitude(self, enabled: bool = True) -> "VideoVAE":
        """Switch seam-wrapped width padding on or off (recorded in the model config, so ``save_pretrained`` keeps
        it). With it on, rolling a video by 8k columns rolls its latents by k columns (and decoding likewise)."""
        enabled = bool(enabled)
        if enabled and getattr(self.model, "use_tiling", False):
            raise InputError("Wan VAE: circular longitude padding needs whole frames; disable tiling first")
        set_circular_longitude(self.model, enabled)
        if enabled or CIRCULAR_LONGITUDE_KEY in self.model.config:
            self.model.register_to_config(**{CIRCULAR_LONGITUDE_KEY: enabled})
        return self

    def enable_tiling(self, **kwargs) -> "VideoVAE":
        """Spatial tiling (diffusers ``enable_tiling`` kwargs: tile_sample_min_height/width, strides, in px).
        Not with ``circular_longitude`` (a tile does not wrap around the sphere)."""
        if self.circular_longitude:
            raise InputError("Wan VAE: spatial tiling cannot be combined with circular longitude padding")
        self.model.enable_tiling(**kwargs)
        return self

    def enable_slicing(self) -> "VideoVAE":
        """Encode/decode batch items one at a time."""
        self.model.enable_slicing()
        return self

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(cls, path_or_hub_id: str | os.PathLike, *, device=None, dtype=None,
                        subfolder: str | None = None, local_files_only: bool | None = None,
                        tiling: bool = False, slicing: bool = False, config: dict | None = None,
                        circular_longitude: bool | None = None) -> "VideoVAE":
        """Load from a diffusers folder / pipeline folder / hub id, or an original ``.pth`` / ``.safetensors``.

        ``dtype`` defaults to bfloat16 (what the reference runs). ``config``: ``AutoencoderKLWan`` kwargs for an
        original single file (default: Wan2.1's, i.e. the diffusers defaults). ``circular_longitude``: the seam
        switch; None keeps what the folder's config says (off for Wan2.1, on for the small model's VAE).
        """
        dtype = dtype if dtype is not None else torch.bfloat16
        source = str(path_or_hub_id)
        path = Path(source)
        if path.is_file():
            model = cls._load_original(path, config, dtype)
        elif path.is_dir():
            if subfolder is not None:
                model = cls._load_diffusers(source, subfolder, local_files_only, dtype)
            elif (path / "config.json").is_file():
                model = cls._load_diffusers(source, None, local_files_only, dtype)
            elif (path / "vae" / "config.json").is_file():
                model = cls._load_diffusers(source, "vae", local_files_only, dtype)
            else:
                originals = [path / n for n in _ORIGINAL_NAMES if (path / n).is_file()]
                if not originals:
                    raise MissingComponentError(
                        f"Wan VAE: '{path}' has neither a diffusers config.json (or vae/config.json) nor "
                        f"{' / '.join(_ORIGINAL_NAMES)}; download {COMPONENTS['wan2.1-vae'].source}"
                    )
                model = cls._load_original(originals[0], config, dtype)
        elif is_hub_id(source):
            if local_files_only is None and hub_load_kwargs(source):
                local_files_only = True
            try:
                sub = subfolder if subfolder is not None else "vae"
                model = cls._load_diffusers(source, sub, local_files_only, dtype)
            except MissingComponentError:
                if subfolder is not None:
                    raise
                model = cls._load_diffusers(source, None, local_files_only, dtype)
        else:
            raise MissingComponentError(
                f"Wan VAE: nothing at '{source}'; download {COMPONENTS['wan2.1-vae'].source}"
            )
        if device is not None:
            model = model.to(device=device)
        return cls(model, tiling=tiling, slicing=slicing, circular_longitude=circular_longitude)

    @staticmethod
    def _load_diffusers(source: str, subfolder: str | None, local_files_only: bool | None, dtype: torch.dtype):
        from diffusers import AutoencoderKLWan

        kwargs = {"subfolder": subfolder, "torch_dtype": dtype} if subfolder else {"torch_dtype": dtype}
        if local_files_only is not None:
            kwargs["local_files_only"] = local_files_only
        try:
            return AutoencoderKLWan.from_pretrained(source, **kwargs)
        except (OSError, EnvironmentError) as exc:
            where = f"{source}/{subfolder}" if subfolder else source
            raise MissingComponentError(
                f"Wan VAE: cannot load '{where}' ({str(exc).splitlines()[0]}); "
                f"download {COMPONENTS['wan2.1-vae'].source}"
            ) from exc

    @staticmethod
    def _load_original(path: Path, config: dict | None, dtype: torch.dtype):
        """Wan VAE (default: Wan2.1 config) from an original-layout (or diffusers-named) single file."""
        from diffusers import AutoencoderKLWan

        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw = load_file(str(path))
        else:
            try:
                raw = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
            except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file for the user
                raise InputError(f"Wan VAE: cannot read '{path}' as a weights-only torch checkpoint ({exc})") from exc
        state = unwrap_state_dict(raw)
        with torch.device("meta"):
            model = AutoencoderKLWan(**(config or {}))
        if "encoder.conv_in.weight" in state:  # already diffusers names
            expected = model.state_dict()
            unknown = sorted(set(state) - set(expected))
            missing = sorted(set(expected) - set(state))
            if unknown or missing:
                raise InputError(f"Wan VAE '{path}': unknown keys {unknown[:3]} / missing keys {missing[:3]}")
            converted = state
        else:
            converted = convert_wan_vae_state_dict(state, model.state_dict(), model.config.num_res_blocks)
        model.load_state_dict({k: v.to(dtype) for k, v in converted.items()}, strict=True, assign=True)
        return model

    @classmethod
    def tiny(cls, *, seed: int = 0, **kwargs) -> "VideoVAE":
        """Random tiny Wan VAE (width 8, 1 residual block per level) with Wan2.1's compression and 16 channels."""
        from diffusers import AutoencoderKLWan

        from ._tiny import tiny_wan_vae_config

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = AutoencoderKLWan(**tiny_wan_vae_config())
        return cls(model, **kwargs)

    # ------------------------------------------------------------------ shapes
    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(16, T_lat, H/8, W/8) for a (T, H, W) video; InputError unless T = 4k + 1 and H, W are multiples of 8."""
        if frames < 1 or (frames - 1) % self.temporal_compression:
            raise InputError(f"video length must be 4k+1 frames (1, 5, ..., 93), got {frames}")
        s = self.spatial_compression
        if height % s or width % s or height < s or width < s:
            raise InputError(f"video height and width must be multiples of {s}, got {height}x{width}")
        return (self.latent_channels, 1 + (frames - 1) // self.temporal_compression, height // s, width // s)

    # ------------------------------------------------------------------ encode / decode
    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) in [-1, 1] → normalised latents (B, 16, 1 + (T−1)/4, H/8, W/8), float32."""
        if video.ndim != 5 or video.shape[1] != 3:
            raise InputError(f"VAE encode: expected a (B, 3, T, H, W) video, got {tuple(video.shape)}")
        self.latent_shape(*video.shape[2:])
        runner = self._runner(video.shape)
        if runner is None:
            x = self._fast_layout(video.to(self.device, self.dtype))
            mu = self.model.encode(x).latent_dist.mode().float().contiguous()
        else:  # a still video (one frame expanded over time) is encoded with the work its stillness saves
            still = video.shape[2] > 1 and video.stride(2) == 0
            x = video[:, :, :1] if still else video
            x = self._fast_layout(x.to(self.device, self.dtype)).expand(-1, -1, video.shape[2], -1, -1)
            moments = torch.cat([runner.encode(v, still=still) for v in self._slices(x)])
            mu = moments[:, : self.latent_channels].float().contiguous()
        return (mu - self.latents_mean.to(mu.device)) / self.latents_std.to(mu.device)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents (B, 16, T_lat, h, w) → video (B, 3, 4(T_lat−1)+1, 8h, 8w) in [-1, 1], float32."""
        if latents.ndim != 5 or latents.shape[1] != self.latent_channels:
            raise InputError(f"VAE decode: expected (B, 16, T, h, w) latents, got {tuple(latents.shape)}")
        z = latents.float() * self.latents_std.to(latents.device) + self.latents_mean.to(latents.device)
        z = self._fast_layout(z.to(self.device, self.dtype))
        s = self.spatial_compression
        runner = self._runner((z.shape[0], 3, 1 + self.temporal_compression * (z.shape[2] - 1), z.shape[3] * s,
                               z.shape[4] * s))
        if runner is None:
            return self.model.decode(z).sample.float().contiguous()
        return torch.cat([runner.decode(v) for v in self._slices(z)]).float().contiguous()

    # ------------------------------------------------------------------ fast path
    def chunk_lengths(self, video_shape: tuple[int, ...]) -> tuple[int, int]:
        """(pixel frames per encoder chunk, latent frames per decoder chunk) for a (B, 3, T, H, W) video.

        Without :attr:`chunk_budget`: :attr:`encode_chunk`, :attr:`decode_chunk`. With it: the longest chunks whose
        B x H x W pixels x frames stay within the budget (an encoder chunk a multiple of 4, at least 4, at most
        T - 1; a decoder chunk of latent frames counted as 4 pixel frames each, at least 1, at most T_lat - 1).
        Longer chunks compute the same function with other float rounding (Wan's temporal strides)."""
        if self.chunk_budget is None:
            return self.encode_chunk, self.decode_chunk
        batch, _, frames, height, width = video_shape
        items = 1 if getattr(self.model, "use_slicing", False) else batch  # slicing encodes one item at a time
        per_frame = items * height * width
        latent_frames = 1 + (frames - 1) // self.temporal_compression
        encode = max(4, min(self.chunk_budget // per_frame, max(4, frames - 1)) // 4 * 4)
        decode = max(1, min(self.chunk_budget // (per_frame * self.temporal_compression), latent_frames - 1))
        return encode, decode

    def _runner(self, video_shape: tuple[int, ...] | None = None):
        """The :class:`~.wan_vae_fast.WanVAERunner` when ``fast`` is on and it supports the model, else None;
        its chunk lengths from :meth:`chunk_lengths` of the (B, 3, T, H, W) video it encodes or decodes (None:
        :attr:`encode_chunk` and :attr:`decode_chunk`)."""
        if not self.fast:
            return None
        from .wan_vae_fast import runner_for

        if video_shape is None:
            encode, decode = self.encode_chunk, self.decode_chunk
        else:
            encode, decode = self.chunk_lengths(tuple(video_shape))
        return runner_for(self.model, encode_chunk=encode, decode_chunk=decode)

    def _slices(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Batch items one at a time with ``enable_slicing``, else the whole batch."""
        return list(x.split(1)) if getattr(self.model, "use_slicing", False) else [x]

    # ------------------------------------------------------------------ speed
    def _fast_layout(self, x: torch.Tensor) -> torch.Tensor:
        """On CUDA: ``x`` and the Conv3d weights in channels-last-3d, cuDNN's fast layout for these convolutions
        (H200, 93 x 512 x 1024: encode 1.69 -> 1.33 s, decode 2.82 -> 2.36 s; same maths, other rounding).
        Elsewhere ``x`` unchanged."""
        if x.device.type != "cuda":
            return x
        for module in self.model.modules():
            if isinstance(module, torch.nn.Conv3d) and not module.weight.is_contiguous(
                memory_format=torch.channels_last_3d
            ):
                module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last_3d)
        return x.contiguous(memory_format=torch.channels_last_3d)
