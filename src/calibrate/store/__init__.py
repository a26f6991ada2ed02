"""The database file: where it lives, opening it, and the schema-version check.

Everyday commands (add, start, stop, done, list) come through here with the
standard library's ``sqlite3`` only. The check on open is one 100-byte read of
the file header plus ``PRAGMA user_version``; the migration machinery (which
needs sqlite-utils) is imported only when the database is behind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator

from calibrate.errors import DatabaseError
from calibrate.identity import user_folder

#: The schema version this code writes. ``schema.MIGRATIONS`` has exactly
#: this many steps (a test checks it); bump both together.
SCHEMA_VERSION = 9
SQLITE_MAGIC = b"SQLite format 3\x00"


def _busy_timeout(default: float = 10.0) -> float:
    """Seconds a command waits for another process's write lock before saying
    the database is locked: 10, or ``CALIBRATE_BUSY_TIMEOUT`` (the reliability
    tests use a short one to prove the message without waiting)."""
    try:
        seconds = float(os.environ.get("CALIBRATE_BUSY_TIMEOUT", ""))
    except ValueError:
        return default
    return seconds if 0 <= seconds <= 3600 else default  # NaN fails the test too


BUSY_TIMEOUT_S = _busy_timeout()


#: The database files this process's latest opening of them created (its
#: :func:`_create` put them in place).
_created: set[str] = set()


def created_here(path: str | os.PathLike) -> bool:
    """Whether this process created the database at ``path`` and has not been
    asked yet (so that the first ``add`` says, once, where it is)."""
    try:
        _created.remove(os.fspath(path))
    except KeyError:
        return False
    return True


def default_db_path() -> str:
    """``CALIBRATE_DB``, else ``calibrate.db`` in the user's data directory.

    Paths are plain strings here: importing pathlib would cost ``add`` 5 ms.
    """
    env = os.environ.get("CALIBRATE_DB")
    if env:
        return os.path.expanduser(env)
    return os.path.join(data_dir(), "calibrate.db")


def registry_path() -> str:
    """The registry of replicas (law 4): ``replicas.json`` in the data directory."""
    return os.path.join(data_dir(), "replicas.json")


def data_dir() -> str:
    """The user's data directory for calibrate: ``CALIBRATE_DATA_DIR``, else
    the platform's (``~/.local/share/calibrate`` on Linux). It holds the
    default database and the registry of replicas (law 4)."""
    env = os.environ.get("CALIBRATE_DATA_DIR")
    if env:
        return os.path.expanduser(env)
    return user_folder("XDG_DATA_HOME", ".local", "share")


def read_header_version(path: str | os.PathLike) -> int | None:
    """The schema version in a file's SQLite header, without opening it with
    SQLite; ``None`` for an empty file. Raises if it is not a SQLite file."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except IsADirectoryError:
        raise DatabaseError(f"{path} is a directory, not a database file") from None
    except PermissionError:
        raise DatabaseError(f"{path} cannot be read: permission denied") from None
    except OSError as error:
        raise DatabaseError(f"{path} cannot be read: {error.strerror}") from None
    if not header:
        return None
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise DatabaseError(f"{path} is not a calibrate database (not an SQLite file)")
    _refuse_truncated(path, header)
    return int.from_bytes(header[60:64], "big")


def _refuse_truncated(path: str, header: bytes) -> None:
    """Refuse a file shorter than its header says (cut off by a full disk or
    a failed copy) before SQLite reads zeros for the missing pages or writes
    into the hole. The header's page count is trusted only when it is valid
    (bytes 92-95 equal the change counter) and no journal or WAL file still
    holds pages meant for the file, as after an interrupted checkpoint."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if not pages or header[24:28] != header[92:96]:
        return
    expected = page_size * pages
    size = os.path.getsize(path)
    if size >= expected:
        return
    for suffix in ("-wal", "-journal"):
        with contextlib.suppress(OSError):
            if os.path.getsize(f"{path}{suffix}") > 0:
                return
    raise DatabaseError(
        f"{path} is damaged: truncated ({size:,} of its {expected:,} bytes); restore it "
        "from a backup. It was not changed"
    )


def _too_new(path: str, version: int) -> DatabaseError:
    return DatabaseError(
        f"{path} was written by a newer calibrate (schema version {version}; this one "
        f"reads up to {SCHEMA_VERSION}): upgrade calibrate to use it. The file was not changed."
    )


class Connection(sqlite3.Connection):
    """A connection to a calibrate database: ``replica`` is the file's
    replica id, read once on open; ``notices`` what opening it has to say
    (a copy that took its own identity), for the command line to print."""

    replica: str = ""
    notices: tuple[str, ...] = ()
    #: Why a database that could not be opened for writing was opened to read
    #: only (a folder that takes no new files, a full disk): what a write says.
    read_only_reason: str = ""


def connect(path: str | os.PathLike | None = None, *, identity: bool = True) -> sqlite3.Connection:
    """Open (or create) the database at ``path`` and bring it up to date.

    The connection is in autocommit mode: write through :func:`transaction`.
    A file that is not a calibrate database, or one from a newer version, is
    refused before SQLite touches it. Its replica identity is settled on
    every writable open (:mod:`calibrate.store.replica`: one read when the file
    is where it was last opened); ``identity=False`` skips that, for
    temporary copies that must keep the identity of their original.
    """
    path = os.fspath(path) if path is not None else default_db_path()
    _created.discard(path)  # only the latest opening of a file may have created it
    exists = os.path.exists(path)
    if exists:
        version = read_header_version(path)
        if version is not None and version > SCHEMA_VERSION:
            raise _too_new(path, version)
        if not os.access(path, os.W_OK):
            return _connect_read_only(path)
    else:
        parent = os.path.dirname(os.path.abspath(path))
        if os.path.isfile(parent):
            raise DatabaseError(f"cannot create {path}: {parent} is a file")
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as error:
            raise DatabaseError(f"cannot create {parent}: {error.strerror}") from None
        _create(path)
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            return _open_writable(path, identity=identity)
        except _Unwritable:
            reason = _why_unwritable(path)
            if reason is None and attempt + 1 < _OPEN_ATTEMPTS:
                # the folder takes files and the disk has room: a passing
                # failure (another process's side files came and went under
                # this open); open it again
                import time

                time.sleep(0.05 * (attempt + 1))
                continue
            # a folder that takes no -wal/-shm, a full disk: reading still works
            return _connect_read_only(path, reason=reason or _CANNOT_WRITE)
    raise AssertionError("unreachable")  # pragma: no cover


def _create(path: str) -> None:
    """Make the database at ``path``, whole, unless another process makes it
    first: built and migrated in a temporary file beside it, then linked into
    place, which fails when ``path`` exists by then. So no process ever opens
    a file another is still creating (found by CI: processes racing to create
    one file met SQLite's journal deleted under them, or each other's locks).
    Where the file system has no hard links it is renamed into place instead,
    if ``path`` is still free."""
    import secrets

    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.new")
    try:
        try:
            _open_writable(temporary, identity=False, shown=path).close()
        except _Unwritable as unwritable:
            raise _open_error(path, unwritable.error) from None
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another process made it first: that one is opened
        except OSError:  # no hard links on this file system
            if os.path.exists(path):
                return
            os.replace(temporary, path)
        _created.add(path)  # this process made it (not another racing it)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(temporary + suffix)


#: How many times a writable open is tried when it fails for a reason that
#: is not the folder's or the disk's (a race with another process): the
#: waits add up to half a second.
_OPEN_ATTEMPTS = 4

_CANNOT_WRITE = "the database cannot be written here: reading works, writing does not"


class _Unwritable(Exception):
    """A writable open that failed the way a file that cannot be written here
    fails (:data:`_UNWRITABLE`); ``error`` is SQLite's."""

    def __init__(self, error: sqlite3.DatabaseError) -> None:
        super().__init__(str(error))
        self.error = error


def _open_writable(path: str, *, identity: bool, shown: str = "") -> Connection:
    """Open ``path`` to write and bring it up to date (see :func:`connect`);
    raises :class:`_Unwritable` when SQLite could not write it. Messages
    name ``shown`` (the file a new one is made for), else ``path``."""
    shown = shown or path
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=Connection
        )
    except sqlite3.Error as error:
        raise DatabaseError(f"cannot open {shown}: {error}") from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        # what is deleted is overwritten, not left in free pages: Debian's SQLite
        # does so by default, the ones of python.org's macOS and Windows builds do not
        conn.execute("PRAGMA secure_delete = ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise _too_new(path, version)
        if version < SCHEMA_VERSION:
            _refuse_foreign(conn, shown, version)
            from calibrate.store import schema  # sqlite-utils: only when behind

            schema.migrate(conn, path)
        if identity:
            _settle_identity(conn, path)
    except sqlite3.DatabaseError as error:
        conn.close()
        if _errorname(error) in _UNWRITABLE:
            raise _Unwritable(error) from None
        raise _open_error(shown, error) from None
    except BaseException:
        conn.close()
        raise
    return conn


#: SQLite's primary result codes for a file that cannot be written where it is
#: (its side files cannot be made, the disk is full or refuses to write).
_UNWRITABLE = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_READONLY")


def _errorname(error: sqlite3.Error) -> str:
    """SQLite's primary result code of ``error`` (``SQLITE_IOERR`` for ``SQLITE_IOERR_WRITE``)."""
    name = getattr(error, "sqlite_errorname", None) or ""
    return "_".join(name.split("_")[:2])


def _why_unwritable(path: str) -> str | None:
    """Why the database at ``path`` cannot be written here, in words, found by
    trying to make a file of an index's size (32 KiB) beside it; ``None`` when
    that works (the folder takes files, the disk has room)."""
    import errno
    import tempfile

    folder = os.path.dirname(os.path.abspath(path)) or "."
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".calibrate-probe-", dir=folder)
        try:
            left = bytes(32768)
            while left:  # a write that reaches a size limit is cut short, then fails
                left = left[os.write(descriptor, left) :]
        finally:
            os.close(descriptor)
            os.unlink(probe)
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return "the disk is full: reading works, writing does not; nothing was written"
        name = os.path.basename(path)
        return (
            f"the folder {folder} takes no new files ({error.strerror}), and writing "
            f"needs {name}-wal and {name}-shm beside the database: reading works, "
            "writing does not; nothing was written"
        )
    return None


def _settle_identity(conn: Connection, path: str) -> None:
    """Read the replica id; when the file is not where it was last opened,
    let the registry say whether it moved or is a copy (law 4)."""
    meta = dict(
        conn.execute("SELECT key, value FROM meta WHERE key IN ('replica_id', 'replica_path')")
    )
    conn.replica = meta.get("replica_id", "")
    where = os.path.realpath(path)
    if meta.get("replica_path") != where:
        from calibrate.store import replica

        notice = replica.settle(conn, where, registry_path())
        if notice:
            conn.notices = (*conn.notices, notice)


def _open_error(path: str, error: sqlite3.DatabaseError) -> DatabaseError:
    """Why a file could not be opened: locked, a full or failing disk,
    read-only (as :func:`translate` says), else damaged (or not SQLite's)."""
    if _problem(error) in ("locked", "read-only", "full", "io"):
        return translate(error)
    return DatabaseError(f"{path} is damaged or not a calibrate database ({error})")


def _connect_read_only(path: str, *, reason: str = "") -> sqlite3.Connection:
    """A database the user may read but not write: reads work, writes say why
    (``reason``, else "read-only").

    Opened with ``mode=ro``. A WAL database needs its ``-shm`` index file,
    which a read-only folder cannot hold (nor a full disk grow); then, and only
    when there is no ``-wal`` or an empty one (so no committed change waits
    outside the file, and nobody can be writing it: a writer would need those
    files), it is opened as immutable, which needs no index file."""
    uri = f"file:{urllib_quote(os.path.abspath(path))}?mode=ro"
    try:
        conn, version = _open_read_only_uri(path, uri)
    except sqlite3.DatabaseError as error:
        raise _open_error(path, error) from None
    conn.read_only_reason = reason
    if version != SCHEMA_VERSION:
        conn.close()
        if version > SCHEMA_VERSION:
            raise _too_new(path, version)
        raise DatabaseError(f"{path} is read-only and needs an upgrade: make it writable once")
    return conn


def _open_read_only_uri(path: str, uri: str) -> tuple[Connection, int]:
    """``mode=ro``, else (no index file can be made, no change waits in a
    ``-wal``) immutable: see :func:`_connect_read_only`."""
    try:
        return _open_uri(uri)
    except sqlite3.OperationalError as error:
        if _errorname(error) not in ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_READONLY"):
            raise
        wal = f"{path}-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            raise
        return _open_uri(uri + "&immutable=1")


@contextlib.contextmanager
def reading(path: str | os.PathLike) -> Iterator[Connection]:
    """Another file opened only to read (``merge``'s other database): as
    :func:`_connect_read_only` opens it (no header or version check: the
    caller makes its own), and left as it was found: the ``-wal`` and
    ``-shm`` files a reader makes beside a WAL database are removed again
    when this opening made them, as SQLite removes them when the last
    connection closes (a moment's ordinary connection, which writes nothing:
    the log is empty). Raises ``sqlite3.DatabaseError``."""
    path = os.fspath(path)
    found = [os.path.exists(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
    conn, _version = _open_read_only_uri(
        path, f"file:{urllib_quote(os.path.abspath(path))}?mode=ro"
    )
    try:
        yield conn
    finally:
        conn.close()
        if not any(found) and any(os.path.exists(f"{path}{s}") for s in ("-wal", "-shm")):
            with contextlib.suppress(sqlite3.Error, OSError):
                last = sqlite3.connect(path, timeout=0)
                try:
                    last.execute("SELECT count(*) FROM sqlite_master").fetchone()
                finally:
                    last.close()


def _open_uri(uri: str) -> tuple[Connection, int]:
    conn = sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=Connection
    )
    try:
        conn.row_factory = sqlite3.Row
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except BaseException:
        conn.close()
        raise
    return conn, version


def _refuse_foreign(conn: sqlite3.Connection, path: str, version: int) -> None:
    """A version-0 file with tables in it belongs to some other program (the
    version read again with the tables, in one statement: another process
    creating the file may have committed its first step since)."""
    if version == 0:
        tables, version = conn.execute(
            "SELECT count(*), (SELECT user_version FROM pragma_user_version) FROM sqlite_master "
            "WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()
        if tables and version == 0:
            raise DatabaseError(
                f"{path} is an SQLite database of another program, not calibrate's; "
                "it was not changed"
            )


def urllib_quote(path: str) -> str:
    """Quote a path for an SQLite ``file:`` URI (only on the read-only path)."""
    from urllib.parse import quote

    return quote(path)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: everything inside lands, or nothing does.

    ``BEGIN IMMEDIATE`` takes the write lock at once, so concurrent writers
    queue on the busy timeout instead of failing half-way. Inside another
    (a command and the record ``undo`` keeps of it), it is part of that one.
    """
    nested = conn.in_transaction
    if nested:
        yield conn
        return
    reason = getattr(conn, "read_only_reason", "")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if reason and _problem(error) == "read-only":
            raise DatabaseError(reason) from None
        raise translate(error) from None
    try:
        yield conn
    except BaseException as error:
        if conn.in_transaction:  # SQLite rolls back by itself on a full disk or I/O error
            conn.execute("ROLLBACK")
        if reason and isinstance(error, sqlite3.Error) and _problem(error) == "read-only":
            raise DatabaseError(reason) from None  # why this file cannot be written here
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise translate(error) from None


#: SQLite's primary result codes (``sqlite_errorname`` without an extended
#: suffix such as ``_WRITE``) by the kind of problem they are for a user.
_PROBLEMS = {
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
    "SQLITE_READONLY": "read-only",
    "SQLITE_CORRUPT": "damaged",
    "SQLITE_NOTADB": "damaged",
    "SQLITE_FULL": "full",
    "SQLITE_IOERR": "io",
}


def _problem(error: sqlite3.Error) -> str | None:
    """The kind of problem an SQLite error is (:data:`_PROBLEMS`), from its
    result code, never from its message; ``None`` for any other."""
    name = getattr(error, "sqlite_errorname", None) or ""
    primary = name if name in _PROBLEMS else "_".join(name.split("_")[:2])
    return _PROBLEMS.get(primary)


def translate(error: sqlite3.Error) -> DatabaseError:
    """Turn SQLite's words into a sentence a user can act on."""
    problem = _problem(error)
    if problem == "locked":
        return DatabaseError(
            f"the database is locked by another process (waited {BUSY_TIMEOUT_S:g}s); try again"
        )
    if problem == "read-only":
        return DatabaseError("the database is read-only here: reading works, writing does not")
    if problem == "damaged":
        return DatabaseError("the database file is damaged; restore it from a backup")
    if problem == "full":
        return DatabaseError("the disk is full: nothing was written")
    if problem == "io":
        # EFBIG (a file-size limit) and failing disks arrive as I/O errors, not FULL
        return DatabaseError(
            f"the disk could not be written or read ({error}): it may be full or failing; "
            "nothing was written"
        )
    return DatabaseError(f"database error: {error}")


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an ``INSERT`` just gave its row."""
    if cursor.lastrowid is None:  # every INSERT sets it: a row that was not inserted
        raise DatabaseError("a row was not written: try again")
    return cursor.lastrowid


def database_id(conn: sqlite3.Connection) -> str:
    """This database's identity, its replica id (made by migration m002,
    renewed when the file is a copy: law 4): a team summary names the
    database it comes from."""
    return conn.execute("SELECT value FROM meta WHERE key = 'replica_id'").fetchone()[0]
