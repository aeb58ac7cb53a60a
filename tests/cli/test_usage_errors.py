"""Every sub-command x every bad-input class, through the installed ``panoworld`` console script.

Each case must end with exit code 2, exactly one ``error:`` line on stderr naming the flag (or argument), no
traceback and no output file. The processes run with stand-in ``torch``, ``numpy``, ``diffusers``,
``transformers`` and ``av`` packages that refuse to be imported: reporting a usage error must not load them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("panoworld")
HEAVY = ("torch", "numpy", "diffusers", "transformers", "av")
READ_ONLY = "/sys/panoworld-test-output"  # not writable, even for root

# (command, base arguments, {class: (extra or replacement arguments, needle in the error line)}).
# "{in}" is an existing input file, "{csv}" an existing CSV, "{out}" the output path that must not appear.
# A class whose value starts with "=" replaces the base arguments instead of extending them.
CASES = [
    ("demo", ["--out", "{out}"], {
        "type": (["--frames", "x"], "--frames"), "range": (["--frames", "1"], "--frames"),
        "nan": (["--fov", "nan"], "--fov"), "inf": (["--fov", "inf"], "--fov"),
        "readonly": ("=", ["--out", READ_ONLY], "--out")}),
    ("project e2p", ["{in}", "{out}.png"], {
        "missing": ("=", ["{in}"], "output"), "type": (["--chunk", "x"], "--chunk"),
        "range": (["--fov", "180"], "--fov"), "nan": (["--yaw", "nan"], "--yaw"), "inf": (["--pitch", "inf"], "--pitch"),
        "unreadable": ("=", ["{missing}", "{out}.png"], "input"), "readonly": ("=", ["{in}", READ_ONLY], "output")}),
    ("project p2e", ["{in}", "{out}.png"], {
        "missing": ("=", [], "input"), "type": (["--chunk", "1.5"], "--chunk"), "range": (["--fov", "0"], "--fov"),
        "nan": (["--roll", "nan"], "--roll"), "inf": (["--yaw", "-inf"], "--yaw"),
        "unreadable": ("=", ["{missing}", "{out}.png"], "input"),
        "readonly": (["--mask", READ_ONLY + "/m.png"], "--mask")}),
    ("project e2c", ["{in}", "{out}.png"], {
        "missing": ("=", ["{in}"], "output"), "type": (["--face-size", "big"], "--face-size"),
        "range": (["--face-size", "1"], "--face-size"), "unreadable": ("=", ["{missing}", "{out}.png"], "input"),
        "readonly": ("=", ["{in}", READ_ONLY], "output")}),
    ("project c2e", ["{in}", "{out}.png"], {
        "missing": ("=", ["{in}"], "output"), "type": (["--chunk", "x"], "--chunk"), "range": (["--chunk", "0"], "--chunk"),
        "unreadable": ("=", ["{missing}", "{out}.png"], "input"), "readonly": ("=", ["{in}", READ_ONLY], "output")}),
    ("project rotate", ["{in}", "{out}.png"], {
        "missing": ("=", ["{in}"], "output"), "type": (["--chunk", "x"], "--chunk"), "range": (["--chunk", "0"], "--chunk"),
        "nan": (["--yaw", "nan"], "--yaw"), "inf": (["--roll", "inf"], "--roll"),
        "unreadable": ("=", ["{missing}", "{out}.png"], "input"), "readonly": ("=", ["{in}", READ_ONLY], "output")}),
    ("generate", ["{in}", "-p", "a desk", "--out", "{out}"], {
        "missing": ("=", ["-p", "a desk", "--out", "{out}"], "--batch"), "type": (["--steps", "2.5"], "--steps"),
        "range": (["--steps", "0"], "--steps"), "nan": (["--fps", "nan"], "--fps"), "inf": (["--fov", "inf"], "--fov"),
        "unreadable": ("=", ["{missing}", "-p", "a desk", "--out", "{out}"], "image"),
        "readonly": ("=", ["{in}", "-p", "a desk", "--out", READ_ONLY], "--out")}),
    ("generate", ["{in}", "-p", "a desk", "--out", "{out}"], {
        "range": (["--frames", "92"], "--frames"), "choice": (["--offload", "disk"], "--offload")}),
    ("weights", [], {"unreadable": (["--root", "{in}"], "--root")}),
    ("convert", ["{in}", "{out}"], {
        "missing": ("=", ["{in}"], "out_dir"), "range": (["--dtype", "fp8"], "--dtype"),
        "unreadable": ("=", ["{missing}", "{out}"], "src"), "readonly": ("=", ["{in}", READ_ONLY], "out_dir")}),
    ("synth", ["--out", "{out}"], {
        "type": (["--clips", "x"], "--clips"), "range": (["--grid", "0"], "--grid"), "nan": (["--fps", "nan"], "--fps"),
        "inf": (["--indoor-fraction", "inf"], "--indoor-fraction"), "readonly": ("=", ["--out", READ_ONLY], "--out")}),
    ("data cut", ["{in}", "--out", "{out}"], {
        "missing": ("=", ["{in}"], "--out"), "type": (["--crf", "x"], "--crf"), "range": (["--crf", "99"], "--crf"),
        "nan": (["--seconds", "nan"], "--seconds"), "inf": (["--seam-ratio", "inf"], "--seam-ratio"),
        "unreadable": ("=", ["{missing}", "--out", "{out}"], "inputs"),
        "readonly": ("=", ["{in}", "--out", READ_ONLY], "--out")}),
    ("data cut", ["{in}", "--out", "{out}"], {"nan": (["--fps", "nan"], "--fps")}),
    ("data caption", ["{in}", "--out", "{out}"], {
        "missing": ("=", ["{in}"], "--out"), "type": (["--attempts", "x"], "--attempts"),
        "range": (["--fov", "200"], "--fov"), "nan": (["--temperature", "nan"], "--temperature"),
        "inf": (["--timeout", "inf"], "--timeout"), "unreadable": ("=", ["{missing}", "--out", "{out}"], "inputs"),
        "readonly": ("=", ["{in}", "--out", READ_ONLY], "--out")}),
    ("data package", ["--out", "{out}", "--folder", "{dir}"], {
        "missing": ("=", ["--folder", "{dir}"], "--out"), "type": (["--seed", "x"], "--seed"),
        "range": (["--val-ratio", "2"], "--val-ratio"), "nan": (["--val-ratio", "nan"], "--val-ratio"),
        "inf": (["--val-ratio", "inf"], "--val-ratio"), "unreadable": (["--clips", "{missing}"], "--clips"),
        "readonly": ("=", ["--out", READ_ONLY, "--folder", "{dir}"], "--out")}),
    ("annotate", ["{in}", "{out}"], {
        "missing": ("=", ["{in}"], "output"), "type": (["--frames", "x"], "--frames"),
        "range": (["--frames", "1"], "--frames"), "nan": (["--pad", "nan"], "--pad"), "inf": (["--pad", "inf"], "--pad"),
        "unreadable": ("=", ["{missing}", "{out}"], "source"), "readonly": ("=", ["{in}", READ_ONLY], "output")}),
    ("train", ["--config", "tiny-synth", "--set", "run.out_dir={out}"], {
        "missing": ("=", ["--set", "optim.lr=1e-4"], "--config"), "type": (["--set", "optim.lr=fast"], "optim.lr"),
        "range": (["--set", "data.num_frames=10"], "data.num_frames"),
        "choice": (["--set", "optim.schedule=linear"], "optim.schedule"),
        "nan": (["--set", "optim.lr=nan"], "optim.lr"), "inf": (["--set", "samples.fov_range=[60, inf]"], "fov_range"),
        "unreadable": ("=", ["--config", "{missing}"], "--config"),
        "readonly": ("=", ["--config", "tiny-synth", "--set", f"run.out_dir={READ_ONLY}"], "run.out_dir")}),
    ("train cache", ["--config", "tiny-synth", "--set", "data.cache_dir={out}"], {
        "missing": ("=", ["--device", "cpu"], "--config"), "type": (["--set", "data.fps=fast"], "data.fps"),
        "range": (["--set", "data.height=100"], "data.height"), "nan": (["--set", "data.fps=nan"], "data.fps"),
        "inf": (["--set", "loss.depth_weight=-inf"], "loss.depth_weight"),
        "unreadable": ("=", ["--config", "{missing}"], "--config"),
        "readonly": ("=", ["--config", "tiny-synth", "--set", f"data.cache_dir={READ_ONLY}"], "data.cache_dir")}),
    ("eval infer", ["--master", "{csv}", "--results", "{out}", "--methods", "static"], {
        "missing": ("=", ["--master", "{csv}", "--results", "{out}"], "--methods"), "type": (["--seed", "x"], "--seed"),
        "range": ("=", ["--master", "{csv}", "--results", "{out}", "--methods", "nope"], "--methods"),
        "unreadable": ("=", ["--master", "{missing}", "--results", "{out}", "--methods", "static"], "--master"),
        "readonly": ("=", ["--master", "{csv}", "--results", READ_ONLY, "--methods", "static"], "--results")}),
    ("eval run", ["--master", "{csv}", "--results", "{out}", "--methods", "static"], {
        "missing": ("=", ["--results", "{out}", "--methods", "static"], "--master"),
        "type": (["--frames", "x"], "--frames"), "range": (["--frames", "0"], "--frames"),
        "nan": (["--fps", "nan"], "--fps"), "inf": (["--fps", "inf"], "--fps"),
        "unreadable": (["--strata", "{missing}"], "--strata"),
        "readonly": ("=", ["--master", "{csv}", "--results", READ_ONLY, "--methods", "static"], "--results")}),
    ("eval report", ["--in", "{csv}", "--out", "{out}"], {
        "missing": ("=", ["--out", "{out}"], "--in"), "unreadable": ("=", ["--in", "{missing}", "--out", "{out}"], "--in"),
        "readonly": ("=", ["--in", "{csv}", "--out", READ_ONLY], "--out")}),
    ("eval methods", [], {}),
    ("view", ["{in}", "--out", "{out}"], {
        "missing": ("=", ["--out", "{out}"], "paths"), "type": (["--port", "x"], "--port"),
        "range": (["--port", "70000"], "--port"), "unreadable": ("=", ["{missing}", "--out", "{out}"], "paths"),
        "readonly": (["--out", READ_ONLY + "/viewer"], "--out")}),
    ("eval extension", ["{in}", "--out", "{out}"], {
        "missing": ("=", ["--out", "{out}"], "video"), "type": (["--overlap", "x"], "--overlap"),
        "range": (["--overlap", "0"], "--overlap"), "nan": (["--round-seconds", "nan"], "--round-seconds"),
        "inf": (["--round-seconds", "inf"], "--round-seconds"),
        "unreadable": ("=", ["{missing}", "--out", "{out}"], "video"),
        "readonly": ("=", ["{in}", "--out", READ_ONLY], "--out")}),
    ("eval extension", ["{in}", "--out", "{out}"], {
        "type": (["--junctions", "16,x"], "--junctions"), "range": (["--round-seconds", "0"], "--round-seconds")}),
]
CLASSES = ("unknown", "missing", "type", "range", "choice", "nan", "inf", "unreadable", "readonly")
PARAMS = [pytest.param(command, base, kind, spec, id=f"{command.replace(' ', '-')}-{kind}-{i}")
          for i, (command, base, table) in enumerate(CASES)
          for kind, spec in [("unknown", (["--no-such-flag"], "--no-such-flag")), *table.items()]]


@pytest.fixture(scope="module")
def blocked(tmp_path_factory) -> Path:
    """A folder of stand-in heavy packages that raise when imported (put first on PYTHONPATH)."""
    root = tmp_path_factory.mktemp("blocked")
    for name in HEAVY:
        (root / name).mkdir()
        (root / name / "__init__.py").write_text(f"raise ImportError('{name} imported while reporting a usage error')\n")
    return root


def test_every_command_and_class_is_covered():
    commands = {c for c, _, _ in CASES}
    assert commands >= {"demo", "generate", "weights", "convert", "synth", "annotate", "data cut", "data caption",
                        "data package", "train", "train cache", "eval infer", "eval run", "eval report",
                        "eval methods", "eval extension", "view"} | \
        {f"project {c}" for c in ("e2p", "p2e", "e2c", "c2e", "rotate")}
    kinds = {kind for _, _, table in CASES for kind in table}
    assert kinds | {"unknown"} == set(CLASSES)


@pytest.mark.parametrize("command,base,kind,spec", PARAMS)
def test_bad_input_is_one_error_line_with_exit_2(tmp_path, blocked, command, base, kind, spec):
    if not SCRIPT.is_file():
        pytest.skip(f"the console script is not installed next to {sys.executable}")
    if kind == "readonly" and not os.path.isdir("/sys"):
        pytest.skip("needs the read-only /sys of Linux")
    replace, extra, needle = spec if spec[0] == "=" else (None, *spec)
    (tmp_path / "input.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "table.csv").write_text("clip_id,video_path\n")
    (tmp_path / "dir").mkdir()
    values = {"in": tmp_path / "input.png", "csv": tmp_path / "table.csv", "out": tmp_path / "out",
              "missing": tmp_path / "missing.png", "dir": tmp_path / "dir"}
    args = [a.format(**values) for a in (extra if replace else [*base, *extra])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocked), os.environ.get("PYTHONPATH", "")])}
    env.pop("PANOWORLD_DEBUG", None)
    result = subprocess.run([str(SCRIPT), *command.split(), *args], capture_output=True, text=True, timeout=120,
                            env=env, cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not list(tmp_path.glob("out*")), "an output was left behind"


@pytest.mark.parametrize("command,needle", [("train", "--config"), ("train cache", "--config"), ("eval", "extension"),
                                            ("eval extension", "--round-seconds")])
def test_help_imports_no_heavy_package(blocked, tmp_path, command, needle):
    if not SCRIPT.is_file():
        pytest.skip(f"the console script is not installed next to {sys.executable}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocked), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([str(SCRIPT), *command.split(), "--help"], capture_output=True, text=True, timeout=120,
                            env=env, cwd=tmp_path)
    assert result.returncode == 0 and needle in result.stdout, result.stderr
