"""Checkpoints: a PanoWorld model folder (the EMA weights) plus the state for a bit-exact resume, written atomically.

``<run>/checkpoints/step_0001000/``::

    model_index.json, transformer/, vae/ ...   a model folder (``panoworld.formats.model_folder``): the EMA
                                               weights with LoRA merged and untrained heads left out
    training_state/params.safetensors          trained parameters (fp32; names ``<network>.<parameter>``)
    training_state/ema.safetensors             their EMA
    training_state/optimizer.pt                per optimizer: {"state": {name: {step, exp_avg, ...}}} (full tensors;
                                               read back with ``torch.load(weights_only=True)``)
    training_state/rng_rank<r>.pt              each process's torch RNG state
    training_state/state.json                  step, config, world size, samples seen, EMA updates, trained heads

The folder is assembled as ``step_X.tmp`` and renamed, then ``latest.json`` is replaced atomically, so a killed run
leaves the previous checkpoint intact. Parameters sharded by FSDP2 are gathered into full tensors for saving and
re-sharded on load, so a run can resume on another number of processes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from panoworld.errors import InputError
from panoworld.formats.training import CHECKPOINTS, LATEST, TRAINING_STATE, step_folder
from panoworld.io.atomic import atomic_write_json

from . import components
from .config import TrainConfig, config_difference, config_to_dict
from .distributed import DistContext, barrier

__all__ = ["CHECKPOINTS", "LATEST", "step_folder", "complete_checkpoints", "find_latest", "save_checkpoint",
           "load_checkpoint", "export_transformer", "gather_full"]

STATE = TRAINING_STATE


def _is_dtensor(t) -> bool:
    return type(t).__name__ == "DTensor"


def gather_full(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Full CPU copies (every process must call this: DTensor shards are all-gathered in name order)."""
    out = {}
    for name in sorted(named):
        tensor = named[name].detach()
        out[name] = (tensor.full_tensor() if _is_dtensor(tensor) else tensor).cpu().clone()
    return out


@torch.no_grad()
def _assign(dst: torch.Tensor, value: torch.Tensor) -> None:
    if _is_dtensor(dst):
        from torch.distributed.tensor import distribute_tensor

        value = distribute_tensor(value.to(dst.device, dst.dtype), dst.device_mesh, dst.placements)
    dst.copy_(value.to(dst.dtype) if _is_dtensor(value) else value.to(dst.device, dst.dtype))


def _named_trainable(objective) -> dict[str, torch.nn.Parameter]:
    return {n: p for params in objective.optimizer_groups().values() for n, p in params}


def _optimizer_state(optimizer, names: dict) -> dict:
    state = {}
    for group in optimizer.param_groups:
        for param in group["params"]:
            entry = optimizer.state.get(param, {})
            state[names[param]] = {k: (v.full_tensor() if _is_dtensor(v) else v).detach().cpu().clone()
                                   if torch.is_tensor(v) else v for k, v in sorted(entry.items())}
    return {"state": state}


def _load_optimizer_state(optimizer, names: dict, saved: dict) -> None:
    for group in optimizer.param_groups:
        keep_on_device = bool(group.get("fused") or group.get("capturable"))
        for param in group["params"]:
            entry = saved["state"].get(names[param])
            if entry is None:
                raise InputError(f"checkpoint optimizer state lacks {names[param]}")
            restored = {}
            for key, value in entry.items():
                if not torch.is_tensor(value):
                    restored[key] = value
                elif value.ndim == 0:
                    restored[key] = value.to(param.device if keep_on_device else "cpu")
                else:
                    like = torch.empty_like(param)
                    _assign(like, value)
                    restored[key] = like
            optimizer.state[param] = restored


def export_transformer(objective, ema, cfg: TrainConfig, *, build: bool):
    """The exported ``PanoWorldTransformer`` (CPU): EMA weights, LoRA merged, untrained heads dropped, in
    ``model.export_dtype``. Every process must call this (sharded weights are gathered); only those with ``build``
    get the model, the others None."""
    from panoworld.models import PanoWorldTransformer

    from .lora import lora_scalings, merged_state_dict
    from .modeling import export_config

    network = objective.exported()["transformer"]
    full = gather_full(dict(network.state_dict()))
    shadow = gather_full(ema.shadow)
    if not build:
        return None
    prefix = next(name for name, net in objective.networks().items() if net is network) + "."
    values = {k[len(prefix):]: v for k, v in shadow.items() if k.startswith(prefix) and k[len(prefix):] in full}
    merged = merged_state_dict({**full, **values}, lora_scalings(network))
    config = export_config({k: v for k, v in dict(network.config).items() if not k.startswith("_")},
                           objective.heads)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[cfg.model.export_dtype]
    for head in ("depth_head", "descriptor_head"):
        if config.get(f"{head}_block") is None:
            merged = {k: v for k, v in merged.items() if not k.startswith(f"{head}.")}
    with torch.device("meta"):
        model = PanoWorldTransformer(**config)
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in merged.items()}
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


def _write_model_index(folder: Path, cfg: TrainConfig, step: int, info: dict, objective) -> None:
    from panoworld.formats.model_folder import ModelIndex, write_model_index

    refs = {slot: components.place_component(getattr(cfg.components, slot), slot, folder, cfg.components.copy)
            for slot in components.SLOTS}
    index = ModelIndex(
        family=cfg.model.family,
        components={"transformer": "transformer", **refs},
        sampler=objective.sampler_spec(cfg),
        defaults={"height": cfg.data.height, "width": cfg.data.width, "num_frames": cfg.data.num_frames,
                  "fps": cfg.data.fps, "latent_padding": cfg.validation.latent_padding},
        provenance={"trained_by": objective.trained_by, "step": step, "config": config_to_dict(cfg), **info},
    )
    write_model_index(folder, index)


def complete_checkpoints(run_dir: Path) -> dict[int, Path]:
    """{step: folder} of every complete checkpoint of a run (not a ``.tmp`` being written; its state saved)."""
    found = {}
    for path in (Path(run_dir) / CHECKPOINTS).glob("step_*"):
        if not path.name.endswith(".tmp") and (path / STATE / "state.json").is_file():
            found[int(path.name.removeprefix("step_"))] = path
    return found


def find_latest(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    run_dir = Path(run_dir)
    latest = run_dir / LATEST
    if latest.is_file():
        path = run_dir / json.loads(latest.read_text())["path"]
        if (path / STATE / "state.json").is_file():
            return path
    found = complete_checkpoints(run_dir)
    return found[max(found)] if found else None


def save_checkpoint(ctx: DistContext, run_dir: Path, step: int, *, objective, optimizers: dict, ema,
                    cfg: TrainConfig, info: dict) -> Path:
    """Write checkpoint ``step`` (every process calls this; the main process writes the folder)."""
    run_dir = Path(run_dir)
    final = step_folder(run_dir, step)
    tmp = final.with_name(final.name + ".tmp")
    if ctx.is_main:
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / STATE).mkdir(parents=True)
    barrier(ctx)
    params = gather_full(_named_trainable(objective))
    shadow = gather_full(ema.shadow)
    named = _named_trainable(objective)
    names = {p: n for n, p in named.items()}
    optim = {k: _optimizer_state(opt, names) for k, opt in optimizers.items()}
    torch.save({"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available()
                else []}, tmp / STATE / f"rng_rank{ctx.rank}.pt")
    exported = export_transformer(objective, ema, cfg, build=ctx.is_main)
    if ctx.is_main:
        exported.save_pretrained(tmp / "transformer", safe_serialization=True)
        save_file({k: v.float().contiguous() for k, v in params.items()}, str(tmp / STATE / "params.safetensors"))
        save_file({k: v.contiguous() for k, v in shadow.items()}, str(tmp / STATE / "ema.safetensors"))
        torch.save(optim, tmp / STATE / "optimizer.pt")
        _write_model_index(tmp, cfg, step, info, objective)
        state = {"step": step, "world_size": ctx.world_size, "ema_updates": ema.updates,
                 "config": config_to_dict(cfg), **info}
        (tmp / STATE / "state.json").write_text(json.dumps(state, indent=2) + "\n")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        atomic_write_json(run_dir / LATEST, {"step": step, "path": str(final.relative_to(run_dir))})
        _prune(run_dir, cfg.run.keep_checkpoints, keep=final)
    barrier(ctx)
    return final


def _prune(run_dir: Path, keep_last: int, keep: Path) -> None:
    done = sorted(p for p in (run_dir / CHECKPOINTS).glob("step_*") if not p.name.endswith(".tmp"))
    for old in done[: max(0, len(done) - max(1, keep_last))]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(path: Path, ctx: DistContext, *, objective, optimizers: dict, ema, cfg: TrainConfig) -> dict:
    """Restore parameters, optimizer states, EMA and RNG from ``path``; returns its ``state.json``."""
    state = json.loads((path / STATE / "state.json").read_text())
    diff = config_difference(state["config"], config_to_dict(cfg))
    if diff:
        raise InputError(f"{path.parent.parent} holds a run made with other settings ({', '.join(diff[:4])}); "
                         "repeat them, or choose a new run.out_dir")
    named = _named_trainable(objective)
    params = load_file(str(path / STATE / "params.safetensors"))
    missing = sorted(set(named) - set(params))
    if missing:
        raise InputError(f"checkpoint {path} lacks trained parameters, e.g. {missing[0]}")
    for name, param in named.items():
        _assign(param.data, params[name])
    shadow = load_file(str(path / STATE / "ema.safetensors"))
    ema.load_state_dict({"updates": state["ema_updates"], "shadow": shadow}, assign=_assign)
    saved = torch.load(path / STATE / "optimizer.pt", map_location="cpu", weights_only=True)
    names = {p: n for n, p in named.items()}
    for key, optimizer in optimizers.items():
        _load_optimizer_state(optimizer, names, saved[key])
    rng = path / STATE / f"rng_rank{ctx.rank}.pt"
    if rng.is_file():
        saved_rng = torch.load(rng, map_location="cpu", weights_only=True)
        torch.set_rng_state(saved_rng["cpu"])
        if saved_rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved_rng["cuda"])
    return state
