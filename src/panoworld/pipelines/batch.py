"""Generate many clips with one loaded model: settings-keyed resume, per-clip failure records, a batch summary.

Each clip's result is determined by its settings (:func:`clip_settings`: the generation config, the prompts, the
weights' fingerprints, dtype and RoPE variant, and with ``--annotate`` the annotation settings) and its input (the
image's content hash); both keys are written into the clip's generation record (``panoworld.formats.run_records``).
A re-run skips clips whose keys match, redoes clips whose image changed, stops (naming ``--force``) when a finished
clip was made with other settings, and runs the rest (:mod:`panoworld.formats.job_record`). A clip that fails at run
time gets ``failed.json`` and the others go on; the caller turns failures into a non-zero exit code.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ContextManager

from panoworld.formats.job_record import Item, Report, plan_items, settings_key, write_summary
from panoworld.formats.run_records import GENERATION_RECORD, GENERATION_SUMMARY

from .config import GenerationConfig, LoadConfig
from .jobs import Job
from .loading import ModelSource, load_pipeline
from .extend import FrameSink
from .outputs import ClipWriter, write_outputs

if TYPE_CHECKING:
    from .annotate_outputs import ClipAnnotator

__all__ = ["clip_settings", "generate_clips"]

Progress = Callable[[str, int], ContextManager[Callable[[int], None]]]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _content(fingerprints: dict) -> dict:
    """Fingerprints without where the weights are or when they were copied (only what they contain)."""
    return {name: {k: v for k, v in info.items() if k not in ("source", "mtime")} if isinstance(info, dict) else info
            for name, info in fingerprints.items()}


def clip_settings(job: Job, config: GenerationConfig, models: dict, *, dtype: str, rope: str | None,
                  annotate: dict | None = None) -> dict:
    """The settings that determine one clip's result besides its image (the input of its settings key);
    ``annotate``: the annotation settings (``ClipAnnotator.settings``), absent without annotation."""
    settings = {"config": config.to_dict(), "prompt": job.prompt, "pano_prompt": job.pano_prompt,
                "models": _content(models), "dtype": dtype, "rope": rope}
    return settings if annotate is None else {**settings, "annotate": annotate}


def _peak_gib(device) -> float | None:
    import torch

    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 3)


class _Discard(FrameSink):
    """The sink of a process that computes a clip with others but does not write it (rank > 0)."""

    def write(self, frames, depth) -> None:
        return None


def _run_one(pipe, job: Job, cfg: GenerationConfig, item: Item, *, arguments: dict, models: dict, load_s: float,
             progress: Progress | None, write: bool = True, annotator: ClipAnnotator | None = None) -> dict:
    import torch

    from .record import run_record

    device = pipe.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    plan = cfg.extension_plan()
    per_round = cfg.num_steps if cfg.sampler == "few-step" else cfg.num_steps + 1
    rounds = (2 if cfg.chained else 1) + (cfg.motion == "base-i2v") + plan.rounds - 1
    start = time.perf_counter()
    bar = progress(job.name, per_round * rounds) if progress else contextlib.nullcontext(lambda n=1: None)
    writer = ClipWriter(job.out, fps=cfg.fps, total_frames=plan.total_frames) if write else _Discard()
    with bar as advance, (writer if write else contextlib.nullcontext(writer)):
        result = pipe(job.load_image(), job.prompt, job.pano_prompt, cfg, progress=lambda *_: advance(1),
                      sink=writer)
    if not write:
        return {}
    timings = {"load_models": load_s, **result.timings, "generate_total": time.perf_counter() - start}
    files, info = dict(writer.files), dict(result.info)
    if annotator is not None:
        start = time.perf_counter()
        files.update(annotator(job.out))
        timings["annotate"] = time.perf_counter() - start
        info["annotate"] = annotator.settings()
    record = run_record(
        arguments={**arguments, "image": str(job.image), "prompt": job.prompt, "pano_prompt": job.pano_prompt},
        config=cfg.to_dict(), models=models, timings=timings, info=info, outputs={}, device=device,
        peak_memory_gib=_peak_gib(device),
    )
    return write_outputs(job.out, result, fps=cfg.fps, record=record, settings_key=item.key, inputs_key=item.inputs,
                         streamed=files)


def generate_clips(jobs: list[Job], source: ModelSource, load: LoadConfig, *,
                   force: bool = False, arguments: dict | None = None, summary_dir: Path | None = None,
                   progress: Progress | None = None, say: Callable[[str], None] = print, ranks=None,
                   annotator: ClipAnnotator | None = None) -> Report:
    """Generate every job not finished with the same settings; see the module docstring for the rules.

    Args:
        jobs: the checked jobs, each with its settings (``pipelines.jobs.check_jobs``).
        source, load: the resolved model and how to load it (loaded only when some clip must run).
        force: redo finished clips too.
        arguments: the command's arguments, stored in each generation record.
        summary_dir: where to write the batch summary (``formats.run_records.GENERATION_SUMMARY``; None: no summary).
        progress: ``progress(label, total)`` -> context manager yielding ``advance(n)``, per clip.
        say: status lines.
        ranks: this process's part of a ``torchrun`` job (``panoworld.parallel.GenerateRanks``): its share of the
            clips, or its part of every clip (only rank 0 writes); None for a single process.
        annotator: ``generate --annotate``: annotates each clip's video after it is written, before its record.
    """
    load = load.validate()
    device = load.torch_device()
    dtype = str(load.torch_dtype(device)).replace("torch.", "")
    models = source.fingerprints()
    annotate = annotator.settings() if annotator is not None else None
    items = [Item(job.name, job.out / GENERATION_RECORD,
                  settings_key(clip_settings(job, job.config, models, dtype=dtype, rope=load.rope, annotate=annotate)),
                  (job, job.config),
                  inputs=settings_key({"image_sha256": _file_sha256(job.image)})) for job in jobs]
    plan = plan_items(items, force=force, shard=getattr(ranks, "shard", None))
    say(plan.summary("clip"))
    report = Report(skipped=[item.name for item in plan.done])
    write = ranks is None or ranks.writes
    if plan.todo:
        start = time.perf_counter()
        pipe = load_pipeline(source, load)
        if ranks is not None:
            ranks.attach(pipe, [item.payload[1] for item in plan.todo])
        load_s = time.perf_counter() - start
        for item in plan.todo:
            job, cfg = item.payload
            try:
                files = _run_one(pipe, job, cfg, item, arguments=arguments or {}, models=models, load_s=load_s,
                                 progress=progress, write=write, annotator=annotator)
                report.done.append(item.name)
                if write:
                    say(f"{item.name}: wrote {files['video']}")
            except Exception as exc:  # noqa: BLE001 - one failing clip must not stop the others; it is recorded
                say(f"{item.name}: FAILED ({report.fail(item, exc, job.out if write else None)})")
            load_s = 0.0
    if ranks is not None:
        report = ranks.merge(report)
    if summary_dir is not None and (ranks is None or ranks.rank == 0):
        write_summary(summary_dir / GENERATION_SUMMARY, items, report)
    return report
