"""``panoworld weights``: where each model component is expected, whether it is there, where to get it."""

from __future__ import annotations

from pathlib import Path

import typer

from panoworld.errors import MissingComponentError


def weights(
    root: Path = typer.Option(
        None, "--root", help="Weights folder (default: $PANOWORLD_WEIGHTS, else ./weights).", show_default=False,
        file_okay=False,
    ),
    check: bool = typer.Option(
        False, "--check", help="Exit with status 2 and one error line when a generation component is missing "
        "(the annotation weights are listed but not checked)."
    ),
) -> None:
    """List the model components (PanoWorld, text encoder, SigLIP2, Wan VAE, Cosmos base, and the DAP and
    CoTracker3 annotation weights) and their status."""
    from panoworld.models.components.paths import COMPONENTS, ComponentPaths
    from panoworld.weights import ANNOTATION_WEIGHTS

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
        typer.echo(f"{status:8s} {name:30s} {found}")
        if status != "ok":
            typer.echo(f"{'':8s} {'':30s} {spec.description}; get it from {spec.source}")
    for relative, description, source in ANNOTATION_WEIGHTS.values():
        path = paths.root / relative
        status = "ok" if path.is_file() else "MISSING"
        typer.echo(f"{status:8s} {relative:30s} {path}")
        if status != "ok":
            typer.echo(f"{'':8s} {'':30s} {description}; get it from {source}")
    if check and missing:
        raise MissingComponentError(
            f"missing component(s): {', '.join(missing)} under '{paths.root}' (see `panoworld weights` and "
            "docs/weights.md)"
        )
