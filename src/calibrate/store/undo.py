"""The operation log behind ``undo``: the changes typed here, and how to reverse them.

Every command typed here that changes tasks (add, start, stop, done, drop,
reestimate, edit, rm, reopen) runs inside :func:`recording`, which notes each
task it changed (``undo_items``): the task's values and the records it
changed (timer sittings, re-estimates) as they were before, and the stamps it
left. Imports and merges are not recorded (they have ``--dry-run`` and the
migration backups), nor ``rm --person``, which forgets the person here too
(:func:`forget_tasks`).

:func:`undo_last` reverses the newest change not yet undone, as a change of
its own (law 1): the old values are written back under new stamps, later than
the undone change's, so an undo merges like any other edit; a task the change
made is deleted (with a tombstone); a task it deleted comes back, its
tombstone restored by a later stamp, so that it comes back wherever it
travels. What was changed since by something else (a merge, an import) is
left as it is, and said. Repeated, it walks back further.

The log is local: it is never merged, exported or imported, and keeps the
newest :data:`KEPT_ENTRIES` changes. Standard library only (``json`` only
when a change has something to keep: a plain ``add`` records without it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from calibrate.durations import now_iso
from calibrate.errors import StateError
from calibrate.store import similar, transaction
from calibrate.store.stamps import REGISTERS, decode, encode, next_at, replica_id, second_of
from calibrate.store.tasks import write_registers

#: Changes kept; older ones are forgotten as new ones are typed.
KEPT_ENTRIES = 200
#: The columns of a record that are not its values.
_RECORD_KEYS = ("id", "task_id", "uid", "stamp_at", "stamp_replica")
#: Register names as ``undo`` says them.
REGISTER_WORDS = {"estimate": "estimate", "state": "status", "promise": "promise"}


def child_tables(conn: sqlite3.Connection) -> list[str]:
    """The tables whose rows belong to a task (timer sittings, re-estimates,
    ledgers): those with a foreign key to ``tasks``."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT m.name FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f "
            "WHERE m.type = 'table' AND f.\"table\" = 'tasks' ORDER BY m.name"
        )
    ]


def _records(conn: sqlite3.Connection, task_id: int) -> dict[str, dict[str, dict]]:
    """A task's records, by table and uid (whole rows)."""
    out: dict[str, dict[str, dict]] = {}
    for table in child_tables(conn):
        cursor = conn.execute(f"SELECT * FROM {table} WHERE task_id = ?", (task_id,))  # noqa: S608 (a table name from the schema)
        if "uid" in [column[0] for column in cursor.description]:
            rows = [dict(row) for row in cursor]
            if rows:
                out[table] = {row["uid"]: row for row in rows}
    return out


def _stamps_text(conn: sqlite3.Connection, row: sqlite3.Row) -> str:
    return encode(decode(row["stamps"], row["updated_at"], replica_id(conn)))


class Recorder:
    """What one typed command changes: the tasks it may touch are watched
    before it runs (:meth:`watch`, :meth:`watch_running`), the ones it makes
    noted (:meth:`made`); :meth:`write` keeps what reverses it."""

    def __init__(self, conn: sqlite3.Connection, command: str):
        self.conn, self.command = conn, command
        self.before: dict[str, dict] = {}
        self.new_ids: list[int] = []

    def watch(self, task_ids: Iterable[int]) -> None:
        for task_id in task_ids:
            row = self.conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
            if row is not None and row["uid"] not in self.before:
                self.before[row["uid"]] = {
                    "task": dict(row),
                    "records": _records(self.conn, task_id),
                }

    def watch_running(self) -> None:
        """Watch the tasks whose timers run (a start or a stop may stop them)."""
        self.watch(
            row[0]
            for row in self.conn.execute(
                "SELECT DISTINCT task_id FROM intervals WHERE stopped_at IS NULL AND deleted = 0"
            )
        )

    def made(self, task_id: int) -> None:
        self.new_ids.append(task_id)

    def write(self) -> int | None:
        """Keep the change in the log (nothing when it changed nothing);
        returns its entry's id."""
        items = [item for item in map(self._item, self.before.values()) if item]
        for task_id in self.new_ids:
            row = self.conn.execute(
                "SELECT uid, stamps, updated_at FROM tasks WHERE id = ?", (task_id,)
            ).fetchone()
            # a new task's stamps are written whole (stamps.single): kept as they are,
            # with no JSON read on add's path
            stamps = row["stamps"] or _stamps_text(self.conn, row)
            items.append((row["uid"], task_id, None, stamps, None))
        if not items:
            return None
        entry = self.conn.execute(
            "INSERT INTO undo_log (typed_at, command) VALUES (?, ?)", (now_iso(), self.command)
        ).lastrowid
        self.conn.executemany(
            "INSERT INTO undo_items (entry_id, task_uid, task_id, before, stamps, records) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(entry, *item) for item in items],
        )
        self.conn.execute(
            "DELETE FROM undo_log WHERE id <= (SELECT id FROM undo_log ORDER BY id DESC "
            "LIMIT 1 OFFSET ?)",
            (KEPT_ENTRIES,),
        )
        self.conn.execute("DELETE FROM undo_items WHERE entry_id NOT IN (SELECT id FROM undo_log)")
        return entry

    def _item(self, before: dict) -> tuple | None:
        import json

        task = before["task"]
        row = self.conn.execute("SELECT * FROM tasks WHERE uid = ?", (task["uid"],)).fetchone()
        if row is None:  # deleted: keep all of it, to bring it back
            return (task["uid"], task["id"], json.dumps(before), None, None)
        records = _records(self.conn, row["id"])
        changed = {
            table: {
                uid: record
                for uid, record in rows.items()
                if before["records"].get(table, {}).get(uid) != record
            }
            for table, rows in records.items()
        }
        changed = {table: rows for table, rows in changed.items() if rows}
        same = (row["stamps"], row["updated_at"]) == (task["stamps"], task["updated_at"])
        if same and not changed:
            return None
        kept = {
            "task": task,
            "records": {
                table: {
                    uid: before["records"][table][uid]
                    for uid in rows
                    if uid in before["records"].get(table, {})
                }
                for table, rows in changed.items()
            },
        }
        stamps = {
            table: {uid: [r["stamp_at"], r["stamp_replica"]] for uid, r in rows.items()}
            for table, rows in changed.items()
        }
        return (
            task["uid"],
            row["id"],
            json.dumps(kept),
            _stamps_text(self.conn, row),
            json.dumps(stamps) if stamps else None,
        )


@contextmanager
def recording(conn: sqlite3.Connection, command: str) -> Iterator[Recorder]:
    """Run a typed command's change and keep what reverses it, in one
    transaction (the command's own joins it). ``command`` says what it was
    by ids alone (``done #3``; never a title, which ``rm --person`` must be
    able to forget); it may be set on the recorder once the ids are known."""
    with transaction(conn):
        recorder = Recorder(conn, command)
        yield recorder
        recorder.write()


# --- undoing ---------------------------------------------------------------------------


def undo_last(conn: sqlite3.Connection) -> dict[str, Any]:
    """Reverse the newest change typed here that is not undone yet.

    Returns ``command`` (what it was), ``typed_at`` and ``tasks``: per task
    ``id``, ``title`` and ``action`` (``deleted``: the change had made it;
    ``restored``: it had deleted it; ``changed``: ``fields`` written back;
    ``gone``: deleted since by something else), with ``left``: what was
    changed since by something else and is left as it is."""
    import json

    with transaction(conn):
        entry = conn.execute(
            "SELECT id, typed_at, command FROM undo_log WHERE undone_at IS NULL "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if entry is None:
            raise StateError("nothing to undo: no change typed here is left to reverse")
        done = []
        for item in conn.execute(
            "SELECT * FROM undo_items WHERE entry_id = ? ORDER BY rowid", (entry["id"],)
        ).fetchall():
            before = json.loads(item["before"]) if item["before"] else None
            if before is None:
                done.append(_unmake(conn, item))
            elif item["stamps"] is None:
                done.append(_restore(conn, item, before))
            else:
                done.append(_revert(conn, item, before, entry["id"]))
        conn.execute("UPDATE undo_log SET undone_at = ? WHERE id = ?", (now_iso(), entry["id"]))
    return {"command": entry["command"], "typed_at": entry["typed_at"], "tasks": done}


def _current(conn: sqlite3.Connection, uid: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM tasks WHERE uid = ?", (uid,)).fetchone()


def _changed_since(conn: sqlite3.Connection, row: sqlite3.Row, recorded: str) -> list[str]:
    """The registers of ``row`` stamped otherwise than the change left them."""
    replica = replica_id(conn)
    now, then = decode(row["stamps"], row["updated_at"], replica), decode(recorded, None, replica)
    return [register for register in REGISTERS if now[register] != then[register]]


def _unmake(conn: sqlite3.Connection, item: sqlite3.Row) -> dict:
    """Undo the making of a task: delete it, with a tombstone (law 3)."""
    from calibrate.store.tombstones import bury  # only here: add need not import it

    row = _current(conn, item["task_uid"])
    if row is None:
        return _outcome(item["task_id"], "", "gone")
    since = _changed_since(conn, row, item["stamps"])
    if since:
        return _outcome(row["id"], row["title"], "kept", left=_words(since))
    bury(conn, [row["uid"]])
    return _outcome(row["id"], row["title"], "deleted")


def _restore(conn: sqlite3.Connection, item: sqlite3.Row, before: dict) -> dict:
    """Undo a deletion: the task and its records back as they were, and its
    tombstone restored under a later stamp."""
    task = before["task"]
    if _current(conn, task["uid"]) is not None:
        return _outcome(item["task_id"], task["title"], "kept", left=["the task"])
    if conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task["id"],)).fetchone():
        task = {k: v for k, v in task.items() if k != "id"}  # its id was taken: a new one
    task_id = _insert(conn, "tasks", task)
    for table, rows in before["records"].items():
        for record in rows.values():
            _insert(conn, table, {**record, "id": None, "task_id": task_id})
    tomb = conn.execute(
        "SELECT deleted_at, restored_at FROM tombstones WHERE uid = ?", (task["uid"],)
    ).fetchone()
    if tomb is not None:
        conn.execute(
            "UPDATE tombstones SET restored_at = ?, restored_replica = ? WHERE uid = ?",
            (next_at(tomb[0], tomb[1] or ""), replica_id(conn), task["uid"]),
        )
    # an insert below the newest id is not seen by the caches' stamp: say so
    conn.execute("UPDATE history_state SET version = version + 1 WHERE id = 1")
    similar.changed(conn, [task_id])  # its words back in the index of similar tasks
    return _outcome(task_id, task["title"], "restored")


def _insert(conn: sqlite3.Connection, table: str, values: dict) -> int:
    columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
    names = [c for c in columns if c in values and not (c == "id" and values[c] is None)]
    cursor = conn.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",  # noqa: S608 (names from the schema)
        [values[c] for c in names],
    )
    return int(cursor.lastrowid or 0)


def _revert(conn: sqlite3.Connection, item: sqlite3.Row, before: dict, entry: int) -> dict:
    """Undo a change to a task: the registers and records it wrote, as they
    were, where nothing changed them since; then the change before it on the
    same task sees the new stamps as its own (so that undo walks back)."""
    import json

    row = _current(conn, item["task_uid"])
    if row is None:
        return _outcome(item["task_id"], before["task"]["title"], "gone")
    old = before["task"]
    since = set(_changed_since(conn, row, item["stamps"]))
    values: dict[str, Any] = {}
    left: list[str] = []
    for register, columns in REGISTERS.items():
        if all(old[c] == row[c] for c in columns):
            continue
        if register in since:
            left.append(register)
        else:
            values.update((c, old[c]) for c in columns)
    if values:
        write_registers(conn, row, values)
    rewritten: dict[str, dict[str, list[str]]] = {}
    recorded = json.loads(item["records"]) if item["records"] else {}
    for table, stamps in recorded.items():
        for uid, stamp in stamps.items():
            new = _revert_record(conn, table, uid, stamp, before["records"].get(table, {}).get(uid))
            if new is None:
                left.append("timer" if table == "intervals" else table)
            elif new:
                rewritten.setdefault(table, {})[uid] = new
    if rewritten:
        newest = max(s[0] for table in rewritten.values() for s in table.values())
        conn.execute(
            "UPDATE tasks SET updated_at = max(updated_at, ?) WHERE id = ?",
            (second_of(newest), row["id"]),
        )
    now = _current(conn, item["task_uid"])
    assert now is not None
    fields = [r for r, columns in REGISTERS.items() if any(c in values for c in columns)]
    _hand_back(conn, item, before, entry, set(fields), rewritten)
    fields += ["timer" if t == "intervals" else t for t in rewritten]
    outcome = _outcome(row["id"], now["title"], "changed", fields=_words(fields), left=_words(left))
    outcome["status"] = now["status"]
    return outcome


def _revert_record(
    conn: sqlite3.Connection, table: str, uid: str, stamp: list[str], old: dict | None
) -> list[str] | None:
    """A record as it was (deleted, if the change made it), under a new stamp;
    ``None`` when something changed it since, ``[]`` when it is gone."""
    row = conn.execute(f"SELECT * FROM {table} WHERE uid = ?", (uid,)).fetchone()  # noqa: S608 (a table name from the schema)
    if row is None:
        return []
    current = dict(row)
    if [current["stamp_at"], current["stamp_replica"]] != list(stamp):
        return None
    new = [next_at(current["stamp_at"] or ""), replica_id(conn)]
    if old is None:
        values = {"deleted": 1}
    else:
        values = {k: v for k, v in old.items() if k not in _RECORD_KEYS and k in current}
    sets = "".join(f"{name} = ?, " for name in values)
    conn.execute(
        f"UPDATE {table} SET {sets}stamp_at = ?, stamp_replica = ? WHERE uid = ?",  # noqa: S608 (names from the schema)
        (*values.values(), *new, uid),
    )
    return new


def _hand_back(
    conn: sqlite3.Connection,
    item: sqlite3.Row,
    before: dict,
    entry: int,
    rewritten: set[str],
    records: dict[str, dict[str, list[str]]],
) -> None:
    """The change before this one on the same task (if nothing else came
    between them) left it as this undo makes it again, under new stamps:
    record those as its own, so that undoing it next finds its work
    unchanged. ``rewritten``: the registers this undo wrote; ``records``:
    the records it wrote, with their new stamps."""
    import json

    earlier = conn.execute(
        "SELECT undo_items.rowid, stamps, records FROM undo_items JOIN undo_log "
        "ON undo_log.id = undo_items.entry_id WHERE task_uid = ? AND entry_id < ? "
        "AND undone_at IS NULL AND stamps IS NOT NULL ORDER BY entry_id DESC LIMIT 1",
        (item["task_uid"], entry),
    ).fetchone()
    row = _current(conn, item["task_uid"])
    if earlier is None or row is None:
        return
    replica = replica_id(conn)
    theirs = decode(earlier["stamps"], None, replica)
    then = decode(before["task"]["stamps"], before["task"]["updated_at"], replica)
    left = decode(item["stamps"], None, replica)
    now = decode(row["stamps"], row["updated_at"], replica)
    for register in REGISTERS:
        ours = register in rewritten or now[register] == left[register]
        if ours and theirs[register] == then[register]:
            theirs[register] = now[register]
    their_records = json.loads(earlier["records"]) if earlier["records"] else {}
    for table, stamps in records.items():
        for uid, stamp in stamps.items():
            old = before["records"].get(table, {}).get(uid)
            was = [old["stamp_at"], old["stamp_replica"]] if old else None
            if uid in their_records.get(table, {}) and their_records[table][uid] == was:
                their_records[table][uid] = stamp
    conn.execute(
        "UPDATE undo_items SET stamps = ?, records = ? WHERE rowid = ?",
        (encode(theirs), json.dumps(their_records) if their_records else None, earlier["rowid"]),
    )


def _words(registers: Iterable[str]) -> list[str]:
    return [REGISTER_WORDS.get(r, r) for r in dict.fromkeys(registers)]


def _outcome(task_id: int, title: str, action: str, **extra: Any) -> dict:
    return {"id": task_id, "title": title, "action": action, **extra}


def forget_tasks(conn: sqlite3.Connection, uids: Iterable[str], people: Sequence[str] = ()) -> None:
    """Forget what the log keeps of these tasks, and of every task it holds as
    once being one of ``people``'s (``rm --person``: nothing of the person
    may stay, not a task deleted earlier or given to someone else since),
    inside the caller's transaction."""
    uids = list(uids)
    for start in range(0, len(uids), 500):
        chunk = uids[start : start + 500]
        conn.execute(
            f"DELETE FROM undo_items WHERE task_uid IN ({', '.join('?' * len(chunk))})",  # noqa: S608 (marks only)
            chunk,
        )
    if people:
        conn.execute(
            "DELETE FROM undo_items WHERE task_uid IN (SELECT task_uid FROM undo_items WHERE "  # noqa: S608 (marks only)
            f"json_extract(before, '$.task.person') IN ({', '.join('?' * len(people))}))",
            list(people),
        )
    conn.execute("DELETE FROM undo_log WHERE id NOT IN (SELECT DISTINCT entry_id FROM undo_items)")
