"""``panoworld weights``: where each model component is expected, whether it is there, where to get it."""

from __future__ import annotations

from pathlib import Path

import typer

from panoworld.errors import MissingComponentError
from panoworld.models.components.paths import COMPONENTS, ComponentPaths


def weights(
    root: Path = typer.Option(
        None, "--root", help="Weights folder (default: $PANOWORLD_WEIGHTS, else ./weights).", show_default=False
    ),
    check: bool = typer.Option(
        False, "--check", help="Exit with status 2 and one error line when any component is missing."
    ),
) -> None:
    """List the model components (PanoWorld, text encoder, SigLIP2, Wan VAE, Cosmos base) and their status."""
    paths = ComponentPaths(root)
    missing = []
    for name, spec in COMPONENTS.items():
        try:
            found = paths.resolve(name)
            status = "ok"
        except MissingComponentError:
            found = str(paths.expected(name))
            status = "MISSING"
            missing.append(name)
        typer.echo(f"{status:8s} {name:28s} {found}")
        if status != "ok":
            typer.echo(f"{'':8s} {'':28s} {spec.description}; get it from {spec.source}")
    if check and missing:
        raise MissingComponentError(
            f"missing component(s): {', '.join(missing)} under '{paths.root}' (see `panoworld weights` and "
            "docs/weights.md)"
        )
