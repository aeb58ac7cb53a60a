"""Produce every method's video for every test clip (``panoworld eval infer``), resumably.

Item = (method, clip), written to its result folder (``panoworld.formats.results``: the video, then the method-run
record last). Its settings key (:func:`item_settings`) covers the method, its runner-config table and the seed; its
inputs key the GT video's identity and the captions it is given; both are kept in the method-run record and re-runs
follow :mod:`panoworld.formats.job_record`. A clip that fails gets a failure record beside where its video would
be, its work folder is removed (no empty folders are left), the others go on, and the results folder's infer
summary lists every item's status.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

from panoworld.formats.captions import CAPTION_STYLES, PERSPECTIVE_CAPTION
from panoworld.formats.job_record import Item, Report, plan_items, settings_key, source_fingerprint, write_summary
from panoworld.formats.results import ResultsLayout, method_run_complete
from panoworld.formats.run_records import method_run_path
from panoworld.formats.testset import TestClip

from .runners import check_config, get_method

__all__ = ["item_settings", "item_inputs", "infer_methods", "read_runner_config"]

#: Caption entries a method may be given (``TestClip.caption_for``).
CAPTION_KEYS = (*CAPTION_STYLES, PERSPECTIVE_CAPTION)
#: Runner-config keys that do not change a method's output.
NOT_SETTINGS = ("timeout_s", "env", "device", "offload", "attention", "compile", "text_cache")


def item_settings(spec, config: dict, seed: int) -> dict:
    """The settings that determine a method's video (the input of the item's settings key)."""
    return {"method": spec.name, "seed": seed, "config": {k: v for k, v in config.items() if k not in NOT_SETTINGS},
            "crop": [spec.crop_size, spec.crop_fov], "caption_style": spec.caption_style}


def item_inputs(clip: TestClip) -> dict:
    """What a method is given from the test set for one clip: the GT video's identity and the captions."""
    return {"video": {k: v for k, v in source_fingerprint(clip.video_path).items() if k != "path"},
            "captions": {style: clip.caption_for(style) for style in CAPTION_KEYS}}


def _remove_empty(folder: Path, stop: Path) -> None:
    """Remove ``folder`` and its parents up to (excluding) ``stop`` while they are empty."""
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def infer_methods(clips: list[TestClip], results: Path, methods: list[str], *, runner_config: dict | None = None,
                  seed: int = 0, device: str = "cpu", force: bool = False,
                  advance: Callable[[int], None] | None = None, say: Callable[[str], None] = print,
                  shard: tuple[int, int] | None = None) -> Report:
    """Run every (method, clip) that is not finished with the same settings; see the module docstring.

    ``shard=(rank, world)``: one process of a ``torchrun`` job, running its share of the items
    (``formats.job_record``); the returned report and the summary (written by rank 0) cover every process's.

    Every method's runner config is checked (command template present, PanoWorld weights resolvable) before
    the first clip runs.
    """
    from .runners.base import RunRequest, run_method

    runner_config = dict(runner_config or {})
    layout = ResultsLayout(Path(results))
    specs = [get_method(m) for m in methods]
    if "panoworld" in methods:
        from .runners.panoworld import with_default_model

        runner_config["panoworld"] = with_default_model(runner_config.get("panoworld", {}))
    for spec in specs:
        check_config(spec, runner_config.get(spec.name, {}))
    items = []
    for spec in specs:
        config = runner_config.get(spec.name, {})
        for clip in clips:
            out = layout.clip_dir(spec.name, clip.dirname)
            items.append(Item(f"{spec.name}/{clip.dirname}", method_run_path(out), settings_key(item_settings(
                spec, config, seed)), (spec, clip, out), inputs=settings_key(item_inputs(clip))))
    plan = plan_items(items, force=force, complete=lambda item, _: method_run_complete(item.payload[2]),
                      shard=shard)
    say(plan.summary("clip"))
    report = Report(skipped=[item.name for item in plan.done])
    for item in plan.todo:
        spec, clip, out = item.payload
        work = layout.work_dir(spec.name, clip.dirname)
        request = RunRequest(clip=clip, out_dir=out, work_dir=work, spec=spec,
                             config=runner_config.get(spec.name, {}), device=device, seed=seed)
        try:
            run_method(spec, request, item.key, item.inputs)
            layout.failure(spec.name, clip.dirname).unlink(missing_ok=True)
            report.done.append(item.name)
        except Exception as exc:  # noqa: BLE001 - a failing clip does not stop the batch; it is recorded
            shutil.rmtree(work, ignore_errors=True)
            _remove_empty(work.parent, results)
            out.mkdir(parents=True, exist_ok=True)
            say(f"{item.name}: FAILED ({report.fail(item, exc, out)})")
        if advance is not None:
            advance(1)
    if shard is not None:
        from panoworld.parallel.sharding import merge_reports

        report = merge_reports(report)
    if shard is None or shard[0] == 0:
        write_summary(layout.infer_summary, items, report)
    return report


def read_runner_config(path: Path | None) -> dict:
    """The runner config: one table per method, from TOML (or .json); {} without a file."""
    from panoworld.errors import InputError

    if path is None:
        return {}
    if not path.is_file():
        raise InputError(f"runner config not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"runner config {path} is not valid JSON: {exc}") from None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"runner config {path} is not valid TOML: {exc}") from None
