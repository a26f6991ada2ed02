"""Writing a file atomically: all of it appears, or none of it does.

Every file calibrate writes for a user (an export, a team summary, a report,
the demo database) is written into a temporary file in the target's folder,
flushed to the disk (``fsync``), then renamed over the target
(``os.replace``, atomic on one file system), and the folder is synced so that
the rename survives a crash too. A failure half-way removes the temporary
file and leaves the target as it was.

:func:`atomic_write` hands out a text handle; :func:`atomic_path` a path for
a file another writer makes (SQLite, for the demo). Both raise ``OSError``
as it comes, for the caller to put in its own words; :func:`output_file` is
:func:`atomic_write` with the words of ``export -o``.

Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import TextIO

from calibrate.errors import InputError


def _folder(path: str) -> str:
    return os.path.dirname(path) or "."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (where the platform allows it)."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _sync_file(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike,
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
    make_folder: bool = False,
) -> Iterator[TextIO]:
    """A text handle whose content appears at ``path`` complete when the
    block ends without an error (with the permissions a new file gets), or
    not at all. ``make_folder``: create the missing folders first."""
    path = os.fspath(path)
    folder = _folder(path)
    if make_folder:
        os.makedirs(folder, exist_ok=True)
    name = os.path.basename(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    with _renamed_over(temporary, path):
        with os.fdopen(descriptor, "w", encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, tag: str = "tmp") -> Iterator[str]:
    """A temporary path beside ``path`` (``.NAME.TAG-PID``, not yet made) for
    the caller to create and fill; when the block ends without an error, that
    file is synced and renamed over ``path``. On an error it is removed. A
    writer that keeps companion files (SQLite's ``-wal``) must close them
    inside the block."""
    path = os.fspath(path)
    temporary = os.path.join(_folder(path), f".{os.path.basename(path)}.{tag}-{os.getpid()}")
    with _renamed_over(temporary, path):
        yield temporary
        _sync_file(temporary)


@contextlib.contextmanager
def _renamed_over(temporary: str, path: str) -> Iterator[None]:
    """The end of both writers: when the block ends without an error, rename
    the (synced) ``temporary`` over ``path`` and sync the folder, so that the
    rename survives a crash; on an error, remove ``temporary``."""
    try:
        yield
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(_folder(path))


@contextlib.contextmanager
def output_file(path: str | os.PathLike) -> Iterator[TextIO]:
    """:func:`atomic_write` of a file a user named (``export -o``), with the
    problems in words (:class:`InputError`). Lines end as written."""
    path = os.fspath(path)
    folder = _folder(path)
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory: name a file to write")
    if not os.path.isdir(folder):
        raise InputError(f"cannot write {path}: no folder {folder}")
    try:
        with atomic_write(path, newline="") as handle:
            yield handle
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
