"""Writing a file atomically: all of it appears, or none of it does.

Every file calibrate writes for a user (an export, a team summary, a report,
the demo database) is written into a temporary file in the target's folder,
flushed to the disk (``fsync``), then renamed over the target
(``os.replace``, atomic on one file system), and the folder is synced so that
the rename survives a crash too. A failure half-way removes the temporary
file and leaves the target as it was.

:func:`atomic_write` hands out a text handle; :func:`atomic_path` a path for
a file another writer makes (SQLite, for the demo). Both raise ``OSError``
as it comes, for the caller to put in its own words.

Every file a user names with ``-o`` (export, summary, report, and the demo's
database and report) goes through :func:`output_target`, the one place that
decides what may be written there: never the database itself or a file of it
(``-wal``, ``-shm``, ``-journal``, the migration backups ``.bak-vN``), by
name, through a symlink or as a hard link; a symlink to a regular file is
followed, and that file replaced atomically; a FIFO or a character device
(``/dev/null``, a terminal) is written straight into (a rename would put a
regular file in its place); a directory, a socket or a block device is
refused. :func:`output_file` is :func:`atomic_write` behind that check, with
the problems in words.

Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import stat
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
    try:  # a file replaced keeps its permissions; a new one gets a new file's
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    with _renamed_over(temporary, path):
        with os.fdopen(descriptor, "w", encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)


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


#: The files SQLite keeps beside a database while it is used.
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


class Target:
    """Where an output goes (:func:`output_target`): ``path`` to write,
    and ``stream``: write straight into it (a FIFO or a character device),
    else replace it atomically (a regular file, or none yet)."""

    __slots__ = ("path", "stream")

    def __init__(self, path: str, stream: bool):
        self.path, self.stream = path, stream


def output_target(path: str | os.PathLike, *, database: str | os.PathLike | None = None) -> Target:
    """Decide what writing the file a user named (``-o PATH``) means, or
    refuse it with one line (:class:`InputError`): see the module's text.
    ``database``: the database the command works on, whose files are never
    an output."""
    path = os.fspath(path)
    if database is not None and _is_database_file(path, os.fspath(database)):
        raise InputError(
            f"{path} is the database {os.fspath(database)} or one of its files: "
            "name another file to write"
        )
    try:
        found = os.stat(path)  # through any symlink
    except FileNotFoundError:
        found = None
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
    if found is None or stat.S_ISREG(found.st_mode):
        real = os.path.realpath(path)  # a symlink: the file it names is replaced
        folder = _folder(real)
        if not os.path.isdir(folder):
            raise InputError(f"cannot write {path}: no folder {_folder(path)}")
        return Target(real, stream=False)
    if stat.S_ISFIFO(found.st_mode) or stat.S_ISCHR(found.st_mode):
        return Target(path, stream=True)
    if stat.S_ISDIR(found.st_mode):
        raise InputError(f"{path} is a directory: name a file to write")
    kind = "a socket" if stat.S_ISSOCK(found.st_mode) else "a block device"
    raise InputError(f"{path} is {kind}, not a regular file: name a file to write")


def _is_database_file(path: str, database: str) -> bool:
    """Whether ``path`` is the database or one of its companion files or
    backups: by name once symlinks are resolved, or as the same file under
    another name (a hard link)."""
    import glob
    import re

    real = os.path.realpath(path)
    base = os.path.realpath(database)
    if real == base or real in {base + suffix for suffix in DATABASE_COMPANIONS}:
        return True
    if re.fullmatch(re.escape(base) + r"\.bak-v\d+", real):
        return True
    try:
        found = os.stat(path)
    except OSError:
        return False
    names = [base, *(base + s for s in DATABASE_COMPANIONS)]
    names += glob.glob(glob.escape(base) + ".bak-v*")
    for name in names:
        with contextlib.suppress(OSError):
            if os.path.samestat(found, os.stat(name)):
                return True
    return False


@contextlib.contextmanager
def output_file(
    path: str | os.PathLike,
    *,
    database: str | os.PathLike | None = None,
    make_folder: bool = False,
    what: str = "",
) -> Iterator[TextIO]:
    """A handle on the file a user named (:func:`output_target` decides):
    a regular file written atomically, a FIFO or device straight into. Lines
    end as written; the problems are :class:`InputError` (``what``: the
    words for the content, "the report", in them)."""
    path = os.fspath(path)
    if make_folder and not os.path.lexists(path):
        folder = _folder(path)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise InputError(f"cannot create the folder {folder}: {error.strerror}") from None
    target = output_target(path, database=database)
    into = f"{what} to {path}" if what else path
    try:
        if target.stream:
            with open(target.path, "w", encoding="utf-8", newline="") as handle:
                yield handle
        else:
            with atomic_write(target.path, newline="") as handle:
                yield handle
    except OSError as error:
        raise InputError(f"cannot write {into}: {error.strerror or error}") from None
