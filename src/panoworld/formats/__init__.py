"""On-disk contracts, one module each (schema, reader, writer, version). Dataset file names live only here.

Imports only ``panoworld.io``, ``panoworld.sphere`` and ``panoworld.errors``.
"""
