"""The ``panoworld`` command: one entry point, one sub-command module per job (``panoworld.commands``)."""

from __future__ import annotations

import os
import sys

import click
import typer

from panoworld.commands import annotate, convert, data, demo, eval, generate, project, synth, view
from panoworld.commands import weights as weights_cmd
from panoworld.errors import PanoworldError

app = typer.Typer(
    name="panoworld",
    help="Geometry-consistent 360-degree panoramic video: generation, data, annotation, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(project.app, name="project")
app.add_typer(data.app, name="data")
app.add_typer(eval.app, name="eval")
app.command(name="demo")(demo.demo)
app.command(name="convert")(convert.convert)
app.command(name="generate")(generate.generate)
app.command(name="weights")(weights_cmd.weights)
app.command(name="annotate")(annotate.annotate)
app.command(name="synth")(synth.synth)
app.command(name="view")(view.view)

#: Exceptions turned into a one-line ``error:`` message (a traceback only with PANOWORLD_DEBUG=1).
USER_ERRORS = (PanoworldError, ValueError, OSError)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and, from the console script, exit with) its exit code."""
    try:
        app(args=argv, prog_name="panoworld", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        if os.environ.get("PANOWORLD_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
