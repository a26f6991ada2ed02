"""The errors the library raises for a user to read, by kind.

The kind decides the exit code (the README's table of error kinds):

- a value or usage problem, fixed by typing the command differently, exits 2
  (:class:`UsageError`): a malformed or out-of-range value, an id beyond 64
  bits, a moment in the future, options that conflict;
- a data, state or database problem exits 1 (every other kind): an unknown id
  (:class:`NotFound`), a task in the wrong state (:class:`StateError`), a
  locked or damaged database (:class:`DatabaseError`), a bad row in an
  imported file or a file that cannot be read or written (:class:`InputError`).

The parsers of typed text (durations, dates, settings) raise
:class:`InputError`, since they read files too; the command line reports
what a user typed that they refuse as a usage problem. The CLI turns each
error into one line on stderr; the library never prints.
"""


class CalibrateError(Exception):
    """Something the user can fix; the message says what. Exit code 1."""

    exit_code = 1


class UsageError(CalibrateError):
    """A value or usage problem: a value the user typed that no task may hold
    (an estimate outside its range, an empty title), or options that conflict.
    Exit code 2, as for click's own usage errors."""

    exit_code = 2


class InputError(CalibrateError):
    """Data that cannot be used: a bad row in an imported file, a file that
    cannot be read or written, a value no parser reads (the command line
    reports a value typed on it as a usage problem)."""


class NotFound(CalibrateError):
    """An id, person, team or file that is not there."""


class StateError(CalibrateError):
    """An action the task's state does not allow (``done`` on a dropped task)."""


class DatabaseError(CalibrateError):
    """The database file cannot be used: missing, locked, damaged or too new."""
