"""The errors the library raises for a user to read.

The CLI turns each into one line on stderr and a non-zero exit code; the
library never prints.
"""


class CalibrateError(Exception):
    """Something the user can fix; the message says what. Exit code 1."""

    exit_code = 1


class InputError(CalibrateError):
    """A value typed by the user (or read from a file) that cannot be used."""


class NotFound(CalibrateError):
    """An id, person or team that is not in the database."""


class StateError(CalibrateError):
    """An action the task's state does not allow (``done`` on a dropped task)."""


class DatabaseError(CalibrateError):
    """The database file cannot be used: missing, locked, damaged or too new."""
