"""Bodies of the multi-process ``panoworld generate`` tests (run in forked processes, see ``spawn``)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import torch

from panoworld.cli import main
from panoworld.io import write_image

TINY = ["--tiny-random", "--device", "cpu", "--resolution", "32x64", "--frames", "5", "--steps", "1",
        "--persp-resolution", "16x32", "--latent-padding", "1"]


def photo(folder: Path) -> Path:
    path = folder / "photo.png"
    if not path.exists():
        write_image(path, torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(0)))
    return path


def batch_table(folder: Path, count: int) -> Path:
    photo(folder)
    rows = [{"image": "photo.png", "prompt": f"room {i}", "id": f"clip{i}", "seed": i} for i in range(count)]
    table = folder / "jobs.jsonl"
    table.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return table


def _generate(arguments: list[str]) -> dict:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["generate", *arguments, *TINY])
    return {"code": code, "lines": err.getvalue().splitlines()}


def sharded_batch(rank: int, world: int, folder: Path) -> dict:
    """``generate --batch folder/jobs.jsonl`` on ``world`` processes (``folder/out``)."""
    return _generate(["--batch", str(folder / "jobs.jsonl"), "--out", str(folder / "out")])


def split_clip(rank: int, world: int, folder: Path) -> dict:
    """One clip computed by all processes with the options in ``folder/options.json``."""
    options = json.loads((folder / "options.json").read_text())
    return _generate([str(photo(folder)), "-p", "a desk", "--out", str(folder / "split"), *options])


def eval_infer(rank: int, world: int, folder: Path) -> dict:
    """``eval infer`` of two methods over ``folder/split/master.csv`` on ``world`` processes."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["eval", "infer", "--master", str(folder / "split" / "master.csv"), "--results",
                     str(folder / "res"), "--methods", "static,oracle"])
    return {"code": code, "lines": err.getvalue().splitlines()}


def eval_run(rank: int, world: int, folder: Path) -> dict:
    """``eval run`` (no learned backbones) of the two methods of :func:`eval_infer` on ``world`` processes."""
    from tests.eval.conftest import NO_NETS

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["eval", "run", "--master", str(folder / "split" / "master.csv"), "--results",
                     str(folder / "res"), "--methods", "static,oracle", "--frames", "9", *NO_NETS])
    return {"code": code, "lines": err.getvalue().splitlines()}


def annotate(rank: int, world: int, folder: Path) -> dict:
    """``annotate folder/videos folder/ann`` (tiny random networks) on ``world`` processes, extra flags from
    ``folder/options.json``."""
    options = json.loads((folder / "options.json").read_text())
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["annotate", str(folder / "videos"), str(folder / "ann"), "--tiny-random", "--device", "cpu",
                     "--frames", "6", "--size", "32x64", "--grid", "4", "--iters", "2", *options])
    return {"code": code, "lines": err.getvalue().splitlines()}
