"""Learned networks used by metrics: LPIPS, CLIP, FID Inception, a video network for FVD, an image VAE.

Each loads from a local path or hub id (``load_backbones``); absent weights raise a one-line
:class:`~panoworld.errors.MissingComponentError` naming the flag that points at them.
"""

from __future__ import annotations

from dataclasses import dataclass

from panoworld.errors import MissingComponentError

__all__ = ["Backbones", "load_backbones", "missing"]


def missing(what: str, source: str, flag: str, exc: Exception | None = None) -> MissingComponentError:
    """The error for weights that cannot be loaded."""
    why = f" ({type(exc).__name__})" if exc is not None else ""
    return MissingComponentError(
        f"cannot load the {what} weights from {source!r}{why}: give a local folder or a reachable hub id with "
        f"{flag}, or pass {flag} none to skip the metrics that need it"
    )


@dataclass
class Backbones:
    """The loaded networks (None = metrics needing it are skipped)."""

    lpips: object | None = None
    clip: object | None = None
    inception: object | None = None
    video: object | None = None
    autoencoder: object | None = None


def load_backbones(*, lpips=None, clip=None, inception=None, video=None, autoencoder=None, device="cpu") -> Backbones:
    """Load each network whose source is given (a path or hub id; None or "none" skips it)."""

    def given(src):
        return src is not None and str(src).lower() != "none"

    out = Backbones()
    if given(lpips):
        from .lpips import LPIPSNet

        out.lpips = LPIPSNet.from_pretrained(lpips, device)
    if given(clip):
        from .clip import ClipBackbone

        out.clip = ClipBackbone.from_pretrained(str(clip), device)
    if given(inception):
        from .inception import FIDInception

        out.inception = FIDInception.from_pretrained(inception, device)
    if given(video):
        from .video import VideoBackbone

        out.video = VideoBackbone.from_pretrained(str(video), device)
    if given(autoencoder):
        from .autoencoder import AutoencoderBackbone

        out.autoencoder = AutoencoderBackbone.from_pretrained(str(autoencoder), device)
    return out
