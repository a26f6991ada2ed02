"""Every file has its own identity (law 4): copies told from moves.

A database file's replica id (``meta.replica_id``) stamps everything written
in it. ``meta.replica_path`` is where the file was last opened; when it is
opened somewhere else, the registry (``replicas.json`` in the user's data
directory: replica id -> path) tells why:

- the registry places this id at another path, and the file there still
  holds this id: this file is a *copy* (a template, a laptop copy). It takes
  a new id, and says so once;
- otherwise (the id is new here, its registered file is gone, or holds
  another id now): the file *moved*, or is a restored backup. It keeps its id.

Either way the registry and ``replica_path`` are brought up to date. The
registry is written atomically and best effort: a registry that cannot be
read or written never stops a command (the file keeps its id, and the check
runs again on the next open). A copy made on another machine cannot be seen
from here; a live database in a folder synced between machines is not
supported (docs/GUARANTEES.md).

Only :func:`calibrate.store.connect` calls this, and only when the file is not
where it was last opened: the everyday open costs one read of ``meta``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import tempfile


def read_registry(path: str) -> dict[str, str]:
    """replica id -> the path it was last opened at (empty when unreadable)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    replicas = data.get("replicas", data)
    return {k: v for k, v in replicas.items() if isinstance(k, str) and isinstance(v, str)}


def write_registry(path: str, replicas: dict[str, str]) -> bool:
    """Write the registry at ``path`` atomically, leaving out files that are
    gone; ``False`` when it cannot be written."""
    kept = {rid: where for rid, where in sorted(replicas.items()) if os.path.exists(where)}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".replicas-", dir=os.path.dirname(path))
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump({"replicas": kept}, handle, indent=1, sort_keys=True)
                handle.write("\n")
            os.replace(temporary, path)  # not synced: a registry lost to a crash only re-learns
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError:
        return False
    return True


def holds(path: str, replica: str) -> bool:
    """Whether the database at ``path`` still has replica id ``replica``.
    A file that cannot be read is taken to hold it (two files must never
    share an id; a copy wrongly told it is one only gets a new id)."""
    try:
        other = sqlite3.connect(f"file:{_quote(path)}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return True
    try:
        row = other.execute("SELECT value FROM meta WHERE key = 'replica_id'").fetchone()
    except sqlite3.Error:
        return True
    finally:
        other.close()
    return row is not None and row[0] == replica


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path)


def settle(conn: sqlite3.Connection, where: str, registry_path: str) -> str | None:
    """Settle the identity of the database ``conn`` opened at ``where`` (its
    real path), by the registry at ``registry_path``: see the module doc.
    Returns the line to show for a copy."""
    replica = conn.execute("SELECT value FROM meta WHERE key = 'replica_id'").fetchone()[0]
    registry = read_registry(registry_path)
    registered = registry.get(replica)
    notice = None
    copied = (
        registered is not None
        and registered != where
        and os.path.exists(registered)
        and not _same_file(registered, where)
        and holds(registered, replica)
    )
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return None  # read-only or locked: settled on a later open
    try:
        if copied:
            replica = renew(conn, replica)
            notice = (
                f"this file is a copy of {registered}: it gets its own identity "
                f"(replica {replica[:8]})"
            )
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('replica_path', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (where,),
        )
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return None
    with contextlib.suppress(AttributeError):
        conn.replica = replica  # type: ignore[attr-defined]
    registry[replica] = where
    write_registry(registry_path, registry)
    return notice


def renew(conn: sqlite3.Connection, old: str) -> str:
    """Give the database a new replica id (inside the caller's transaction).
    What it wrote as ``old`` without explicit stamps keeps ``old``'s stamps."""
    from calibrate.store.stamps import normal_at

    conn.create_function("normal_at", 1, normal_at, deterministic=True)
    conn.execute(
        """UPDATE tasks SET stamps = '{"*":["' || normal_at(updated_at) || '","' || ? || '"]}'
        WHERE stamps IS NULL""",
        (old,),
    )
    new = secrets.token_hex(16)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'replica_id'", (new,))
    return new


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
