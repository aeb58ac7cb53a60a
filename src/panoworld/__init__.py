"""panoworld: geometry-consistent 360-degree panoramic video generation and its research workbench."""

__version__ = "0.1.0"
