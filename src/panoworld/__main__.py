"""``python -m panoworld`` is the same as the ``panoworld`` command."""

from panoworld.cli import entry

entry()
