"""The ``panoworld`` command: a lazy registry of sub-commands and the one error boundary.

Start-up imports only typer: a sub-command's module is imported when that command runs or prints its help,
and command modules import torch only inside the command, so ``panoworld --help`` and every usage error stay
fast (``bench/cli_startup.py``). Adding a command is one line in :data:`COMMANDS`.

Every failure a user can cause ends as ``error: <one line>`` on stderr: usage errors of typer/click (whatever
module their classes come from) and :class:`~panoworld.errors.PanoworldError` (exit code 2, or the error's own
``exit_code``), ``ValueError``/``OSError`` from the library (2). ``PANOWORLD_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
from typer.core import TyperGroup

from panoworld.commands._options import APP_SETTINGS, finite_floats
from panoworld.errors import PanoworldError

#: name -> ("module:attribute", one-line help). The attribute is a typer app (a command group) or a command
#: function; the module is imported only when the command is used.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("panoworld.commands.demo:demo", "Run the geometry tools on the bundled sample room (no weights)."),
    "project": ("panoworld.commands.project:app", "Convert images and videos between ERP, perspective and cubemap."),
    "generate": ("panoworld.commands.generate:generate", "Generate a 360-degree video from a photo and prompts."),
    "weights": ("panoworld.commands.weights:weights", "List the model weights: where each goes, which are present."),
    "convert": ("panoworld.commands.convert:convert", "Convert an original PanoWorld / Cosmos checkpoint."),
    "synth": ("panoworld.commands.synth:synth", "Render procedural 360-degree worlds with exact ground truth."),
    "data": ("panoworld.commands.data:app", "Dataset building: cut long videos, caption clips, package."),
    "annotate": ("panoworld.commands.annotate:annotate", "Annotate ERP clips: depth, tracks, camera, static flags."),
    "train": ("panoworld.commands.train:app", "Train PanoWorld: flow matching with depth and track losses."),
    "eval": ("panoworld.commands.eval:app", "Evaluate methods on a test set: infer -> run -> report."),
    "view": ("panoworld.commands.view:view", "View generations, eval results and splits in a 360-degree viewer."),
}


def load_command(name: str):
    """The click command of registry entry ``name`` (imports its module)."""
    target, _ = COMMANDS[name]
    module, attribute = target.split(":")
    obj = getattr(importlib.import_module(module), attribute)
    if not isinstance(obj, typer.Typer):
        single = typer.Typer(**APP_SETTINGS)
        single.command(name=name)(obj)
        obj = single
    command = typer.main.get_command(obj)
    command.name = name
    finite_floats(command)
    return command


class LazyGroup(TyperGroup):
    """The top-level group: lists :data:`COMMANDS` without importing them; loads one when it is used."""

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str):
        return load_command(name) if name in COMMANDS else None

    def format_commands(self, ctx, formatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("panoworld")
        except PackageNotFoundError:
            from panoworld import __version__ as number
        typer.echo(f"panoworld {number}")
        raise typer.Exit(0)


root = typer.Typer(name="panoworld", cls=LazyGroup, no_args_is_help=True, **APP_SETTINGS,
                   help="Geometry-consistent 360-degree panoramic video: generation, data, annotation, evaluation.")


@root.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="Print the panoworld version and exit.")) -> None:
    """Geometry-consistent 360-degree panoramic video: generation, data, annotation, evaluation."""


def _is(exc: BaseException, class_name: str) -> bool:
    """True when ``exc`` is a (typer's or click's) exception class of that name: both copies are handled."""
    return any(cls.__name__ == class_name for cls in type(exc).__mro__)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _usage_message(exc: BaseException) -> str:
    message = _one_line(exc.format_message())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and getattr(ctx, "command_path", None):
        message += f" (see '{ctx.command_path} --help')"
    return message


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and, from the console script, exit with) its exit code."""
    try:
        command = typer.main.get_command(root)
        command.main(args=argv, prog_name="panoworld", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BaseException as exc:  # noqa: BLE001 - the one boundary: everything ends as one line
        return _report(exc)
    return 0


def _report(exc: BaseException) -> int:
    """Print ``exc`` as one ``error:`` line (or re-raise with PANOWORLD_DEBUG=1); return the exit code."""
    if _is(exc, "Exit"):
        return int(getattr(exc, "exit_code", 0) or 0)
    if _is(exc, "NoArgsIsHelpError"):  # a group called without a command: its help, as click prints it
        print(exc.ctx.get_help())
        return 2
    if os.environ.get("PANOWORLD_DEBUG"):
        raise exc
    if _is(exc, "Abort"):
        message, code = "aborted", 130
    elif _is(exc, "ClickException"):
        message, code = _usage_message(exc), 2
    elif isinstance(exc, PanoworldError):
        message, code = _one_line(str(exc)) or type(exc).__name__, exc.exit_code
    elif isinstance(exc, (ValueError, OSError)):
        message, code = _one_line(str(exc)) or type(exc).__name__, 2
    else:
        message = (f"unexpected {type(exc).__name__}: {_one_line(str(exc))} (a bug: please report it; "
                   "PANOWORLD_DEBUG=1 shows the traceback)")
        code = 1
    print(f"error: {message}", file=sys.stderr)
    return code


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
