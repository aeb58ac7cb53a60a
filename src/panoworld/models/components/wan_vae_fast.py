"""Faster exact encode / decode for the Wan2.1 VAE: diffusers' ``AutoencoderKLWan`` modules and weights, run by
our own loop.

diffusers runs the causal VAE chunk by chunk (1 + 4 + 4 + … frames in, one latent frame at a time out) and keeps
each causal convolution's last two input frames in a feature cache. This runner computes the same function
(the same weights, the same zero padding, the same per-chunk caches, so the same numbers up to float rounding)
with less memory traffic and less work:

* ``SiLU(RMSNorm(x))`` before each 3×3×3 convolution is one fused pass (:mod:`.wan_vae_kernels`) that writes
  directly into the convolution's input buffer behind the two cached frames: diffusers' separate
  norm / cast / scale / SiLU passes, the ``torch.cat`` with the cache and the ``F.pad`` copy disappear (the spatial
  zero padding is the convolution's own ``padding``);
* the ×2 nearest upsampling of the decoder runs in the activation dtype (diffusers goes through float32; nearest
  upsampling copies values, so the result is identical);
* a **still video** (one frame repeated, e.g. Round 1's guide of a still photo) is detected from its strides: the
  full- and half-resolution stages are purely causal convolutions, so once a chunk starts past their temporal
  receptive field (18 frames for Wan2.1) their output repeats the previous chunk's exactly, and the runner
  reuses it instead of recomputing (about 70 % of an encode's work for 93 frames);
* on the CPU (float32), every 3-D convolution goes through oneDNN in channels-last-3d layout (:func:`conv3d`:
  PyTorch would send a short causal chunk's convolution to its much slower im2col kernel);
* encode chunks may hold more frames (``encode_chunk``, a multiple of 4; Wan's temporal strides make any such
  chunking compute the same function) and decode chunks more latent frames (``decode_chunk``).

The circular-longitude seam switch (:mod:`.wan_circular`) is run natively: for every layer the switch wraps, the
runner pads the width with wrapped columns itself (written into the convolution's input buffer next to the cached
frames; the chunk caches then hold wrapped frames, as the switch's hooks make diffusers' caches hold them) and
zeros in height and time as without it, so it computes what diffusers computes with the hooks on.

Supported: the Wan2.1 layout (``is_residual=False``, no patchify), eval mode, no tiling, and no hooks on any
submodule except the seam switch's (offload hooks and any other hook change what a module call does, so such a
model falls back to diffusers' own path). :func:`runner_for` returns None for anything else.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .wan_circular import is_seam_hook, seam_padding, wrap_columns
from .wan_vae_kernels import norm_silu

__all__ = ["WanVAERunner", "conv3d", "runner_for", "unsupported_reason"]


#: Cleared when this PyTorch build's oneDNN rejects a 3-D convolution (then :func:`conv3d` is ``F.conv3d``).
_ONEDNN_CONV3D = {"usable": True}


def conv3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride, padding) -> torch.Tensor:
    """``F.conv3d`` (dilation 1, one group); float32 CPU tensors always go through oneDNN.

    PyTorch sends a batch-1 float32 3-D convolution with N·C·T·H <= 20480 to its im2col kernel, which is what a
    causal chunk of a few frames is (e.g. 32 channels x 3 frames x 128 rows); oneDNN computes the same
    convolution 4-8x faster on an x86 CPU (relative difference ~1e-6, float rounding)."""
    if _onednn(x):
        try:
            return torch.ops.aten.mkldnn_convolution(x, weight, bias, list(padding), list(stride), [1, 1, 1], 1)
        except RuntimeError:  # a build whose oneDNN lacks 3-D convolutions: PyTorch's own choice from now on
            _ONEDNN_CONV3D["usable"] = False
    return F.conv3d(x, weight, bias, stride, padding)


def _onednn(x: torch.Tensor) -> bool:
    """True for float32 CPU tensors where PyTorch has a working oneDNN (x86 / ARM builds): :func:`conv3d` uses it."""
    return (x.device.type == "cpu" and x.dtype == torch.float32 and _ONEDNN_CONV3D["usable"]
            and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled)


def unsupported_reason(model) -> str | None:
    """Why :class:`WanVAERunner` cannot run ``model`` (None when it can)."""
    try:
        from diffusers.models.autoencoders.autoencoder_kl_wan import AutoencoderKLWan
    except ImportError:  # pragma: no cover - diffusers is a dependency
        return "diffusers has no AutoencoderKLWan"
    if not isinstance(model, AutoencoderKLWan):
        return f"not an AutoencoderKLWan ({type(model).__name__})"
    cfg = model.config
    if getattr(cfg, "is_residual", False) or getattr(cfg, "patch_size", None) is not None:
        return "Wan2.2 layout (residual blocks / patchify)"
    if model.training:
        return "training mode"
    if getattr(model, "use_tiling", False):
        return "tiling enabled"
    for name, module in model.named_modules():
        foreign = [h for h in module._forward_pre_hooks.values() if not is_seam_hook(h)]
        if module._forward_hooks or foreign or "forward" in module.__dict__:
            return f"hooks on {name or 'the model'}"
        if isinstance(module, nn.Dropout) and module.p > 0:
            return "dropout"
    for block in model.modules():
        act = getattr(block, "nonlinearity", None)
        if act is not None and not isinstance(act, nn.SiLU):
            return f"activation {type(act).__name__}"
    return None


def runner_for(model, **kwargs) -> "WanVAERunner | None":
    """A :class:`WanVAERunner` for ``model``, or None when it is not supported (see :func:`unsupported_reason`)."""
    return None if unsupported_reason(model) is not None else WanVAERunner(model, **kwargs)


def _first_temporal_downsample(layers) -> int:
    for index, layer in enumerate(layers):
        if getattr(layer, "mode", None) == "downsample3d":
            return index
    return len(layers)


class WanVAERunner:
    """Runs an ``AutoencoderKLWan``'s encoder and decoder (see the module docstring).

    Args:
        model: the diffusers VAE (Wan2.1 layout).
        encode_chunk: pixel frames per encoder chunk after the first frame (a multiple of 4; diffusers: 4).
        decode_chunk: latent frames per decoder chunk after the first (diffusers: 1).
        fused: use the fused norm kernel (None: on CUDA when Triton is importable).
        channels_last: activations in channels-last-3d layout (None: on CUDA, matching the weights'
            layout that ``VideoVAE`` sets there, and for float32 on a CPU with oneDNN, whose convolutions and the
            norm's reduction over channels are faster in it).
        reuse_still: reuse the early stages' output for a still video (exact; False computes every chunk).
    """

    def __init__(self, model, *, encode_chunk: int = 4, decode_chunk: int = 1, fused: bool | None = None,
                 channels_last: bool | None = None, reuse_still: bool = True):
        if encode_chunk < 4 or encode_chunk % 4:
            raise ValueError(f"encode_chunk must be a positive multiple of 4, got {encode_chunk}")
        if decode_chunk < 1:
            raise ValueError(f"decode_chunk must be >= 1, got {decode_chunk}")
        self.model = model
        self.encode_chunk, self.decode_chunk = int(encode_chunk), int(decode_chunk)
        self.fused, self.channels_last, self.reuse_still = fused, channels_last, reuse_still
        self._history: dict[int, torch.Tensor] = {}
        encoder = model.encoder
        self._split = _first_temporal_downsample(encoder.down_blocks)
        prefix_convs = [encoder.conv_in] + [m for layer in list(encoder.down_blocks)[: self._split]
                                            for m in layer.modules()]
        #: first frame from which the stages before the first temporal downsampling see a still video's
        #: constant part only (the sum of their causal front paddings)
        self.still_onset = sum(int(m._padding[4]) for m in prefix_convs if hasattr(m, "_padding"))
        #: chunks whose early stages were reused in the last encode (for tests and benchmarks)
        self.reused_chunks = 0

    # ------------------------------------------------------------------ public
    @torch.no_grad()
    def encode(self, x: torch.Tensor, *, still: bool = False) -> torch.Tensor:
        """(B, 3, T, H, W) in [-1, 1] -> the posterior's moments (B, 2 z, T_lat, H/8, W/8), as
        ``AutoencoderKLWan._encode`` returns them (``quant_conv`` applied). ``still``: every frame equals the
        first (the caller knows, e.g. from an expanded tensor)."""
        self._history = {}
        self.reused_chunks = 0
        frames = x.shape[2]
        chunks = [(0, 1)] + [(s, min(s + self.encode_chunk, frames)) for s in range(1, frames, self.encode_chunk)]
        encoder, outs, repeated = self.model.encoder, [], None
        for start, stop in chunks:
            reuse = still and self.reuse_still and start >= self.still_onset
            if reuse and repeated is not None and repeated.shape[2] >= stop - start:
                h = repeated[:, :, : stop - start]
                self.reused_chunks += 1
            else:
                h = self._conv(encoder.conv_in, x[:, :, start:stop])
                for layer in list(encoder.down_blocks)[: self._split]:
                    h = self._layer(layer, h)
                if reuse:
                    repeated = h
            for layer in list(encoder.down_blocks)[self._split:]:
                h = self._layer(layer, h)
            h = self._mid(encoder.mid_block, h)
            outs.append(self._conv(encoder.conv_out, h, norm=encoder.norm_out))
        self._history = {}
        return self.model.quant_conv(torch.cat(outs, dim=2))

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, z, T_lat, h, w) latents (before ``post_quant_conv``) -> (B, 3, 4 (T_lat - 1) + 1, 8 h, 8 w) in
        [-1, 1], as ``AutoencoderKLWan._decode`` returns them."""
        self._history = {}
        x = self.model.post_quant_conv(z)
        frames = x.shape[2]
        chunks = [(0, 1)] + [(s, min(s + self.decode_chunk, frames)) for s in range(1, frames, self.decode_chunk)]
        decoder, outs = self.model.decoder, []
        for start, stop in chunks:
            h = self._conv(decoder.conv_in, x[:, :, start:stop])
            h = self._mid(decoder.mid_block, h)
            for block in decoder.up_blocks:
                for resnet in block.resnets:
                    h = self._resblock(resnet, h)
                if block.upsamplers is not None:
                    h = self._resample(block.upsamplers[0], h)
            outs.append(self._conv(decoder.conv_out, h, norm=decoder.norm_out))
        self._history = {}
        return torch.cat(outs, dim=2).clamp_(-1.0, 1.0)

    # ------------------------------------------------------------------ layers
    def _layout(self, x: torch.Tensor) -> torch.memory_format:
        cl = (x.is_cuda or _onednn(x)) if self.channels_last is None else self.channels_last
        return torch.channels_last_3d if cl else torch.contiguous_format

    def _norm(self, norm, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        return norm_silu(x, norm.gamma, norm.scale, norm.bias, out=out, fused=self.fused)

    def _conv(self, conv, x: torch.Tensor, *, norm=None) -> torch.Tensor:
        """``conv(SiLU(norm(x)))`` (or ``conv(x)``) of a ``WanCausalConv3d`` with its causal frame history; its
        width padding wrapped when the seam switch wraps it (see the module docstring)."""
        wrapped = seam_padding(conv)
        pad_w, _, pad_h, _, pad_t, _ = conv._padding if wrapped is None else wrapped
        wrap = pad_w if wrapped is not None else 0
        if pad_t == 0:
            inp = x if norm is None else self._norm(norm, x)
            return conv3d(wrap_columns(inp, wrap, wrap), conv.weight, conv.bias, conv.stride,
                          (0, pad_h, pad_w - wrap))
        b, c, t, h, w = x.shape
        buf = torch.empty((b, c, pad_t + t, h, w + 2 * wrap), device=x.device, dtype=x.dtype,
                          memory_format=self._layout(x))
        history = self._history.get(id(conv))
        if history is None:
            buf[:, :, :pad_t].zero_()
        else:
            buf[:, :, :pad_t].copy_(history)
        body = buf[:, :, pad_t:]
        if norm is None:
            body[..., wrap:wrap + w].copy_(x)
        elif wrap:  # the fused kernel writes dense rows only: normalise, then place between the wrapped columns
            body[..., wrap:wrap + w].copy_(self._norm(norm, x))
        else:
            self._norm(norm, x, out=body)
        if wrap:
            body[..., :wrap].copy_(body[..., w:w + wrap])
            body[..., wrap + w:].copy_(body[..., wrap:2 * wrap])
        self._history[id(conv)] = buf[:, :, -pad_t:].clone()
        return conv3d(buf, conv.weight, conv.bias, conv.stride, (0, pad_h, pad_w - wrap))

    @staticmethod
    def _spatial(module, frames: torch.Tensor) -> torch.Tensor:
        """One layer of a resample's per-frame ``nn.Sequential`` on (N, C, H, W) frames; the width padding of an
        ``nn.Conv2d`` / ``nn.ZeroPad2d`` that the seam switch wraps is wrapped here, its height padding zeros."""
        wrapped = seam_padding(module)
        if wrapped is None:
            return module(frames)
        if isinstance(module, nn.ZeroPad2d):  # (left, right, top, bottom)
            return F.pad(wrap_columns(frames, wrapped[0], wrapped[1]), (0, 0, wrapped[2], wrapped[3]))
        return F.conv2d(wrap_columns(frames, wrapped[1], wrapped[1]), module.weight, module.bias, module.stride,
                        (wrapped[0], 0), module.dilation, module.groups)

    def _resblock(self, block, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if isinstance(block.conv_shortcut, nn.Identity) else self._conv(block.conv_shortcut, x)
        h = self._conv(block.conv1, x, norm=block.norm1)
        h = self._conv(block.conv2, h, norm=block.norm2)
        return h.add_(shortcut)

    def _layer(self, layer, x: torch.Tensor) -> torch.Tensor:
        if hasattr(layer, "conv1"):  # WanResidualBlock
            return self._resblock(layer, x)
        if hasattr(layer, "mode"):  # WanResample
            return self._resample(layer, x)
        return layer(x)  # WanAttentionBlock: per frame, no temporal state

    def _mid(self, mid, x: torch.Tensor) -> torch.Tensor:
        x = self._resblock(mid.resnets[0], x)
        for attention, resnet in zip(mid.attentions, mid.resnets[1:]):
            if attention is not None:
                x = attention(x)
            x = self._resblock(resnet, x)
        return x

    def _resample(self, resample, x: torch.Tensor) -> torch.Tensor:
        if resample.mode == "upsample3d":
            x = self._time_upsample(resample, x)
        b, c, t, h, w = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        if resample.mode.startswith("upsample"):
            up, conv = resample.resample
            if frames.dtype in (torch.float16, torch.bfloat16):  # nearest copies values: no float32 round trip
                frames = F.interpolate(frames, scale_factor=up.scale_factor, mode=up.mode)
            else:
                frames = up(frames)
            frames = self._spatial(conv, frames)
        elif resample.mode.startswith("downsample"):
            for module in resample.resample:
                frames = self._spatial(module, frames)
        out = frames.view(b, t, *frames.shape[1:]).permute(0, 2, 1, 3, 4)
        if resample.mode == "downsample3d":
            out = self._time_downsample(resample.time_conv, out)
        return out

    def _time_downsample(self, conv, x: torch.Tensor) -> torch.Tensor:
        """diffusers: the first chunk passes (and is remembered); later chunks are convolved (stride 2) behind
        the previous chunk's last frame."""
        key = id(conv)
        previous = self._history.get(key)
        self._history[key] = x[:, :, -1:].clone()
        if previous is None:
            return x
        b, c, t, h, w = x.shape
        buf = torch.empty((b, c, 1 + t, h, w), device=x.device, dtype=x.dtype, memory_format=self._layout(x))
        buf[:, :, :1].copy_(previous)
        buf[:, :, 1:].copy_(x)
        return conv3d(buf, conv.weight, conv.bias, conv.stride, (0, 0, 0))

    def _time_upsample(self, resample, x: torch.Tensor) -> torch.Tensor:
        """diffusers: the video's first frame passes as one frame; every later frame becomes two, from a causal
        (zero-padded) temporal convolution over frames 1, 2, …, its 2C outputs split into two frames."""
        key = id(resample)
        first = key not in self._history
        self._history[key] = x[:, :, :0]  # mark: the first frame has been seen
        head, rest = (x[:, :, :1], x[:, :, 1:]) if first else (None, x)
        b, c, _, h, w = x.shape
        n = rest.shape[2]
        out = torch.empty((b, c, (1 if first else 0) + 2 * n, h, w), device=x.device, dtype=x.dtype,
                          memory_format=self._layout(x))
        if first:
            out[:, :, :1].copy_(head)
        if n:
            y = self._conv(resample.time_conv, rest)
            body = out[:, :, (1 if first else 0):]
            body[:, :, 0::2].copy_(y[:, :c])
            body[:, :, 1::2].copy_(y[:, c:])
        return out
