"""Loading the annotation networks: released weights by default, tiny random networks for tests."""

from __future__ import annotations

import os

import torch

from panoworld.errors import InputError, MissingComponentError
from panoworld.weights import ANNOTATION_WEIGHTS

from .checkpoints import read_state_dict, weights_path
from .cotracker import CoTracker3Offline, CoTrackerConfig
from .cotracker_keys import load_cotracker
from .dap import DAPConfig, DAPModel
from .dap_keys import load_dap

__all__ = ["DAP_SOURCE", "COTRACKER_SOURCE", "load_annotation_models", "pick_device", "weight_fingerprints"]

DAP_FILE, _, DAP_SOURCE = ANNOTATION_WEIGHTS["dap"]
COTRACKER_FILE, _, COTRACKER_SOURCE = ANNOTATION_WEIGHTS["cotracker3"]


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu; anything else is passed to ``torch.device``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device {name!r} is not a torch device (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return device


def weight_fingerprints(dap_weights: str | os.PathLike | None = None,
                        cotracker_weights: str | os.PathLike | None = None, *, tiny_random: bool = False,
                        required: bool = True) -> tuple[dict, list[tuple[str, str, str]]]:
    """({network: fingerprint of its weights file} for a settings key, [what is missing]).

    Files come from the given paths or their default locations under the weights root. A missing file raises
    :class:`MissingComponentError` naming it and where to get it, except, with ``required=False``, at its default
    location: it is then listed as (file under the weights root, where to get it, the flag naming another file).
    ``tiny_random``: no files.
    """
    from panoworld.pipelines.record import fingerprint

    if tiny_random:
        return {"tiny_random": True}, []
    found, missing = {}, []
    for name, explicit, relative, source, flag in (
            ("dap", dap_weights, DAP_FILE, DAP_SOURCE, "--dap-weights"),
            ("cotracker", cotracker_weights, COTRACKER_FILE, COTRACKER_SOURCE, "--cotracker-weights")):
        try:
            path = weights_path(explicit, relative, source=source)
        except MissingComponentError:
            if required or explicit is not None:
                raise
            missing.append((relative, source, flag))
            continue
        found[name] = {k: v for k, v in fingerprint(str(path)).items() if k not in ("source", "mtime")}
    return found, missing


def load_annotation_models(
    device: torch.device,
    *,
    dap_weights: str | os.PathLike | None = None,
    cotracker_weights: str | os.PathLike | None = None,
    tiny_random: bool = False,
    seed: int = 0,
    need: tuple[str, ...] = ("dap", "cotracker"),
) -> tuple[DAPModel | None, CoTracker3Offline | None]:
    """DAP + CoTracker3 on ``device`` in eval mode.

    Weights come from the given paths or ``$PANOWORLD_WEIGHTS/dap/model.pth`` and
    ``$PANOWORLD_WEIGHTS/cotracker3/scaled_offline.pth`` (``./weights`` when the variable is unset).
    ``tiny_random`` builds tiny randomly initialised networks instead (FOR TESTS ONLY: their outputs are
    meaningless). A network not in ``need`` is neither loaded nor checked: None in its place.
    """
    if tiny_random:
        torch.manual_seed(seed)
        dap, tracker = DAPModel(DAPConfig.tiny()), CoTracker3Offline(CoTrackerConfig.tiny())
    else:
        dap = tracker = None
        if "dap" in need:
            dap = load_dap(read_state_dict(weights_path(dap_weights, DAP_FILE, source=DAP_SOURCE)))
        if "cotracker" in need:
            cot_path = weights_path(cotracker_weights, COTRACKER_FILE, source=COTRACKER_SOURCE)
            tracker = load_cotracker(read_state_dict(cot_path))
    return tuple(None if net is None or name not in need else net.to(device).eval()
                 for name, net in (("dap", dap), ("cotracker", tracker)))
