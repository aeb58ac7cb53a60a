"""One module per ``panoworld`` sub-command; each exposes a typer app or command function."""
