"""User-facing errors: the CLI prints ``error: <message>`` on one line and exits non-zero."""


class PanoworldError(Exception):
    """An error the user can fix (bad input, missing file or weights); its message is one line."""


class InputError(PanoworldError):
    """A file or argument given by the user is unusable."""


class MissingComponentError(PanoworldError):
    """Model weights or another component the user must supply are absent."""
