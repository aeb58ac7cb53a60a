"""User-facing errors: the CLI prints ``error: <message>`` on one line and exits with ``exit_code``."""


class PanoworldError(Exception):
    """An error the user can fix (bad input, missing file or weights); its message is one line."""

    #: Process exit status the CLI uses for this error (2 = usage / user error).
    exit_code = 2


class InputError(PanoworldError):
    """A file or argument given by the user is unusable."""


class MissingComponentError(PanoworldError):
    """Model weights or another component the user must supply are absent."""


class StaleItemsError(InputError):
    """A batch job found finished items made with other settings and was not told to redo them (``--force``)."""


class BatchFailedError(PanoworldError):
    """Some items of a batch job failed; the others finished. Each failure is recorded beside its item."""

    exit_code = 1
