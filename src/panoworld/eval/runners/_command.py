"""External methods as user-configured command templates (no paths are built in).

The runner config (TOML, ``--runner-config``) has one table per method, e.g.::

    [argus]
    command = "conda run -n argus python {repo}/infer.py --image {input_video} --out {output} --seed {seed}"
    repo = "/opt/argus-code"          # any extra key is a placeholder
    timeout_s = 3600                  # optional
    shell = false                     # optional: run through /bin/sh (values are shell-quoted)

Placeholders always available: ``input_image`` (upright crop PNG), ``input_video`` (that crop repeated
``num_frames`` times at ``fps``, MP4), ``caption``, ``caption_file`` (UTF-8 .txt), ``output`` (the video the
command must write; any format PyAV reads, e.g. .mp4 or .gif), ``workdir``, ``num_frames``, ``fps``,
``height``, ``width`` (native output size), ``seed``, ``clip_id``. The output is re-encoded to
``video.mp4`` at the method's native fps (container rates of some baselines are wrong).
"""

from __future__ import annotations

import os
import shlex
import string
import subprocess
from pathlib import Path

from panoworld.errors import InputError, MissingComponentError
from panoworld.io import VideoWriter, atomic_write_text, iter_video, probe_video, write_video

from .base import RunRequest

__all__ = ["run_command_method", "render_command", "check_command_config"]


class _Values(dict):
    def __missing__(self, key):
        raise InputError(f"unknown placeholder {{{key}}} in the command template; see docs/eval.md")


def render_command(template: str, values: dict, *, shell: bool) -> list[str] | str:
    """Substitute ``{name}`` placeholders: per token (no shell) or shell-quoted into one string."""
    if shell:
        return template.format_map(_Values({k: shlex.quote(str(v)) for k, v in values.items()}))
    return [tok.format_map(_Values({k: str(v) for k, v in values.items()})) for tok in shlex.split(template)]


def _uses(template: str, name: str) -> bool:
    return any(field == name for _, field, _, _ in string.Formatter().parse(template) if field)


def _no_template(spec) -> MissingComponentError:
    return MissingComponentError(
        f"method {spec.name} needs a command template: add a [{spec.name}] table with command = \"...\" to the "
        "runner config given by --runner-config (see docs/eval.md, 'External baselines')"
    )


def check_command_config(spec, cfg: dict) -> None:
    """Fail early when a template-only method has no ``command`` in its runner-config table."""
    if spec.run is run_command_method and not cfg.get("command"):
        raise _no_template(spec)


def run_command_method(request: RunRequest) -> None:
    spec, cfg = request.spec, request.config
    template = cfg.get("command")
    if not template:
        raise _no_template(spec)
    work, files = request.work_dir, request.work_files
    n, fps = int(cfg.get("num_frames", spec.num_frames or 25)), float(cfg.get("fps", spec.native_fps or 8))
    h, w = spec.native_size or (512, 1024)
    values = {k: v for k, v in cfg.items() if k not in ("command", "shell", "timeout_s", "env")}
    caption = request.clip.caption_for(spec.caption_style) if spec.uses_caption else ""
    values.update(
        caption=caption, caption_file=files.caption, output=files.output(cfg.get("output_suffix", ".mp4")),
        workdir=work, num_frames=n, fps=fps, height=h, width=w, seed=request.seed, clip_id=request.clip.clip_id,
        input_image=files.input_image, input_video=files.input_video,
    )
    if spec.crop_size is not None:
        crop = request.input_crop()
        request.write_input_image()
        if _uses(template, "input_video"):
            write_video(files.input_video, crop[None].expand(n, -1, -1, -1), fps)
    atomic_write_text(files.caption, caption)
    shell = bool(cfg.get("shell", False))
    cmd = render_command(template, values, shell=shell)
    env = {**os.environ, **{k: str(v) for k, v in cfg.get("env", {}).items()}}
    try:
        proc = subprocess.run(cmd, shell=shell, cwd=work, env=env, capture_output=True, text=True,
                              timeout=cfg.get("timeout_s"))
    except FileNotFoundError as exc:
        raise MissingComponentError(
            f"method {spec.name}: cannot start its command ({exc.filename} not found)"
        ) from None
    except subprocess.TimeoutExpired:
        raise InputError(f"method {spec.name} timed out on {request.clip.clip_id}") from None
    files.log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        raise InputError(f"method {spec.name} failed on {request.clip.clip_id} (exit {proc.returncode}): {tail[0]}")
    produced = Path(values["output"])
    if not produced.is_file():
        raise InputError(f"method {spec.name} wrote no output at {produced} for {request.clip.clip_id}")
    probe_video(produced)
    with VideoWriter(request.video_path, fps) as writer:
        for chunk in iter_video(produced):
            writer.write(chunk)
