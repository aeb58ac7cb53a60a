"""Strict key mapping from the original Wan2.1 VAE layout (``Wan2.1_VAE.pth``; Cosmos-Predict2.5's
``tokenizer.pth``) to diffusers' ``AutoencoderKLWan``.

Original names → diffusers names:

- ``conv1`` / ``conv2`` (top level) → ``quant_conv`` / ``post_quant_conv``
- ``{encoder,decoder}.conv1`` → ``.conv_in``; ``.head.0`` → ``.norm_out``; ``.head.2`` → ``.conv_out``
- ``.middle.0`` / ``.middle.1`` / ``.middle.2`` → ``.mid_block.resnets.0`` / ``.attentions.0`` / ``.resnets.1``
- residual block internals ``residual.0`` / ``.2`` / ``.3`` / ``.6`` / ``shortcut`` → ``norm1`` / ``conv1`` /
  ``norm2`` / ``conv2`` / ``conv_shortcut``
- ``encoder.downsamples.k`` → ``encoder.down_blocks.k`` (both flat lists)
- ``decoder.upsamples.k`` (flat: per level ``num_res_blocks + 1`` residual blocks then one upsampler) →
  ``decoder.up_blocks.<k // (R+2)>.resnets.<k % (R+2)>`` or ``.upsamplers.0`` when ``k % (R+2) == R+1``

The mapping is derived from the config (``num_res_blocks``), so it also holds for small test configs.
"""

from __future__ import annotations

import re

import torch

from panoworld.errors import InputError

__all__ = ["convert_wan_vae_state_dict", "wan_vae_key_to_diffusers", "unwrap_state_dict"]

_RESIDUAL = {"residual.0.": "norm1.", "residual.2.": "conv1.", "residual.3.": "norm2.", "residual.6.": "conv2.",
             "shortcut.": "conv_shortcut."}
_MIDDLE = {"0": "resnets.0.", "1": "attentions.0.", "2": "resnets.1."}


def _residual(rest: str, key: str) -> str:
    for old, new in _RESIDUAL.items():
        if rest.startswith(old):
            return new + rest[len(old):]
    if rest.startswith(("resample.", "time_conv.")):
        return rest
    raise KeyError(key)


def wan_vae_key_to_diffusers(key: str, num_res_blocks: int = 2) -> str:
    """Diffusers name of one original Wan2.1 VAE tensor name; KeyError for a name outside the layout."""
    if m := re.fullmatch(r"conv([12])\.(weight|bias)", key):
        return ("quant_conv." if m[1] == "1" else "post_quant_conv.") + m[2]
    m = re.fullmatch(r"(encoder|decoder)\.(.+)", key)
    if m is None:
        raise KeyError(key)
    part, rest = m[1], m[2]
    if sub := re.fullmatch(r"conv1\.(weight|bias)", rest):
        return f"{part}.conv_in.{sub[1]}"
    if sub := re.fullmatch(r"head\.0\.gamma", rest):
        return f"{part}.norm_out.gamma"
    if sub := re.fullmatch(r"head\.2\.(weight|bias)", rest):
        return f"{part}.conv_out.{sub[1]}"
    if sub := re.fullmatch(r"middle\.([012])\.(.+)", rest):
        inner = sub[2] if sub[1] == "1" else _residual(sub[2], key)
        return f"{part}.mid_block.{_MIDDLE[sub[1]]}{inner}"
    if part == "encoder" and (sub := re.fullmatch(r"downsamples\.(\d+)\.(.+)", rest)):
        return f"encoder.down_blocks.{sub[1]}.{_residual(sub[2], key)}"
    if part == "decoder" and (sub := re.fullmatch(r"upsamples\.(\d+)\.(.+)", rest)):
        level, j = divmod(int(sub[1]), num_res_blocks + 2)
        if j == num_res_blocks + 1:
            if not sub[2].startswith(("resample.", "time_conv.")):
                raise KeyError(key)
            return f"decoder.up_blocks.{level}.upsamplers.0.{sub[2]}"
        return f"decoder.up_blocks.{level}.resnets.{j}.{_residual(sub[2], key)}"
    raise KeyError(key)


def unwrap_state_dict(obj) -> dict[str, torch.Tensor]:
    """The tensor dict inside a loaded checkpoint (bare, or under ``state_dict`` / ``model`` / ``ema``)."""
    for _ in range(3):
        if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
        if isinstance(obj, dict):
            inner = next((obj[k] for k in ("state_dict", "model", "ema", "vae") if k in obj), None)
            if inner is not None:
                obj = inner
                continue
        break
    raise InputError("Wan VAE checkpoint: no tensor dictionary found (expected the original Wan2.1_VAE.pth layout)")


def convert_wan_vae_state_dict(state_dict: dict[str, torch.Tensor], expected: dict[str, torch.Tensor],
                               num_res_blocks: int = 2) -> dict[str, torch.Tensor]:
    """Rename an original-layout state dict to diffusers names, strictly.

    ``expected`` is the target model's state dict (names and shapes). Any unknown, missing or mis-shaped key
    raises :class:`InputError` naming it. A leading ``model.`` / ``vae.`` prefix shared by all keys is removed.
    """
    for prefix in ("model.", "vae.", "module."):
        if state_dict and all(k.startswith(prefix) for k in state_dict):
            state_dict = {k[len(prefix):]: v for k, v in state_dict.items()}
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in state_dict.items():
        try:
            new = wan_vae_key_to_diffusers(key, num_res_blocks)
        except KeyError:
            unknown.append(key)
            continue
        if new not in expected:
            unknown.append(key)
            continue
        out[new] = value
    if unknown:
        raise InputError(f"Wan VAE checkpoint: {len(unknown)} unknown key(s), e.g. {', '.join(sorted(unknown)[:3])}")
    missing = sorted(set(expected) - set(out))
    if missing:
        raise InputError(f"Wan VAE checkpoint: {len(missing)} missing key(s), e.g. {', '.join(missing[:3])}")
    bad = [k for k, v in out.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if bad:
        k = bad[0]
        raise InputError(
            f"Wan VAE checkpoint: {len(bad)} mis-shaped key(s), e.g. {k} {tuple(out[k].shape)} "
            f"(expected {tuple(expected[k].shape)})"
        )
    return out
