"""Histories on several replicas, for the law tests: a small world of database
files made by copying one template (so that the registry gives each its own
identity, law 4), and the operations a history is made of, run through the
library as the commands run them.

An operation is a tuple ``(name, a, b, c)`` of small integers that pick a
replica, a task, a name or a value; one that does not apply (no task yet, a
timer already running) is skipped, as a command refusing it would leave the
files as they were. :class:`World` counts what ran, for docs/GUARANTEES.md.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calibrate import store
from calibrate.errors import CalibrateError
from calibrate.exchange import exporter, importer
from calibrate.exchange.merge import merge_database
from calibrate.selection import Selection
from calibrate.store import people, undo
from calibrate.store import tasks as tasklog
from calibrate.store.state import replica_state

#: Names typed on the replicas: the same person in two Unicode spellings
#: (NFC and NFD), with a zero-width space, a login and a full name.
NAMES = ("ana", "Ana Lima", "Jos\u00e9", "Jose\u0301", "bo\u200b", "bo", "cy")
TITLES = ("Fix login", "Write docs", "Tune cache", "Ship it")
OPERATIONS = (
    "add",
    "add_done",
    "edit",
    "sitting",
    "start",
    "reestimate",
    "done",
    "drop",
    "rm",
    "rm_person",
    "alias",
    "opt_out",
    "export",
    "import_export",
    "tracker",
    "import_tracker",
    "merge",
    "reopen",
    "undo",
)


def copy_file(source: Path, target: Path) -> Path:
    """A consistent copy of a database file (SQLite's backup API)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


class World:
    """``replicas`` database files copied from one template, and the files
    they exported (JSON Lines exports and tracker CSVs)."""

    def __init__(self, folder: Path, replicas: int):
        self.folder = folder
        template = folder / "template.db"
        store.connect(template).close()
        self.paths = [copy_file(template, folder / f"r{i}.db") for i in range(replicas)]
        self.conns = [store.connect(path) for path in self.paths]
        self.exports: list[tuple[Path, dict]] = []  # (file, the state it was exported from)
        self.trackers: list[Path] = []
        self.removed: set[str] = set()  # every uid rm'ed anywhere
        self.minute = 0
        self.ran: Counter[str] = Counter()
        self.skipped = 0  # refused (as the command would be) or not applicable
        self.states_compared = 0

    def close(self) -> None:
        for conn in self.conns:
            conn.close()

    # -- picking ---------------------------------------------------------------------

    def task_id(self, replica: int, pick: int, *, open_only: bool = False) -> int | None:
        """A task of the replica (an open or started one, with ``open_only``)."""
        conn = self.conns[replica]
        where = "status IN ('open', 'started')" if open_only else "1"
        count = conn.execute(f"SELECT count(*) FROM tasks WHERE {where}").fetchone()[0]
        if not count:
            return None
        return conn.execute(
            f"SELECT id FROM tasks WHERE {where} ORDER BY id LIMIT 1 OFFSET ?",
            (pick % count,),
        ).fetchone()[0]

    def person(self, replica: int, pick: int) -> str | None:
        """One of the names stored on the replica's tasks."""
        names = [
            row[0]
            for row in self.conns[replica].execute("SELECT DISTINCT person FROM tasks ORDER BY 1")
        ]
        return names[pick % len(names)] if names else None

    def moment(self) -> datetime:
        """A moment of work, later than every one before (timers need order)."""
        self.minute += 7
        return datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(minutes=self.minute)

    # -- running ---------------------------------------------------------------------

    def run(self, operation: tuple[str, int, int, int]) -> None:
        name, a, b, c = operation
        replica = a % len(self.conns)
        try:
            done = getattr(self, f"op_{name}")(replica, b, c)
        except CalibrateError:
            done = False  # refused, as the command would be: nothing written
        if done is not False:
            self.ran[name] += 1
        else:
            self.skipped += 1

    def op_add(self, r: int, b: int, c: int) -> None:
        task = tasklog.NewTask(TITLES[b % len(TITLES)], 1.0 + c % 5, NAMES[b % len(NAMES)])
        tasklog.add_task(self.conns[r], task, start=bool(c % 3 == 0), at=self.moment())

    def op_add_done(self, r: int, b: int, c: int) -> None:
        task = tasklog.NewTask(TITLES[c % len(TITLES)], 2.0, NAMES[b % len(NAMES)])
        tasklog.add_task(self.conns[r], task, actual_h=0.5 + c % 4, at=self.moment())

    def op_edit(self, r: int, b: int, c: int) -> bool:
        task_id = self.task_id(r, b)
        if task_id is None:
            return False
        changes = [
            {"title": f"{TITLES[c % len(TITLES)]} {c}"},
            {"estimate_h": 1.0 + c % 7},
            {"notes": f"note {c}"},
            {"tags": [f"t{c % 3}"]},
            {"person": NAMES[c % len(NAMES)]},
            {"promise_h": 3.0 + c % 2},
        ][c % 6]
        tasklog.edit_task(self.conns[r], task_id, changes)
        return True

    def op_sitting(self, r: int, b: int, c: int) -> bool:
        """A timer started and stopped: one sitting."""
        task_id = self.task_id(r, b, open_only=True)
        if task_id is None:
            return False
        tasklog.start_task(self.conns[r], task_id, self.moment())
        tasklog.stop_timer(self.conns[r], task_id, at=self.moment())
        return True

    def op_start(self, r: int, b: int, c: int) -> bool:
        task_id = self.task_id(r, b, open_only=True)
        if task_id is None:
            return False
        tasklog.start_task(self.conns[r], task_id, self.moment())
        return True

    def op_reestimate(self, r: int, b: int, c: int) -> bool:
        task_id = self.task_id(r, b, open_only=True)
        if task_id is None:
            return False
        tasklog.reestimate(self.conns[r], task_id, 1.5 + c % 6, f"reason {c}")
        return True

    def op_done(self, r: int, b: int, c: int) -> bool:
        task_id = self.task_id(r, b, open_only=True)
        if task_id is None:
            return False
        tasklog.finish_task(self.conns[r], task_id, 0.25 + c % 9, self.moment())
        return True

    def op_drop(self, r: int, b: int, c: int) -> bool:
        task_id = self.task_id(r, b, open_only=True)
        if task_id is None:
            return False
        tasklog.drop_task(self.conns[r], task_id, self.moment())
        return True

    def op_rm(self, r: int, b: int, c: int) -> bool:
        task_id = self.task_id(r, b)
        if task_id is None:
            return False
        self.removed.add(tasklog.get_task(self.conns[r], task_id)["uid"])
        tasklog.delete_tasks(self.conns[r], [task_id])
        return True

    def op_reopen(self, r: int, b: int, c: int) -> bool:
        conn = self.conns[r]
        done = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM tasks WHERE status IN ('done', 'dropped') ORDER BY id"
            )
        ]
        if not done:
            return False
        tasklog.reopen_task(conn, done[b % len(done)])
        return True

    def op_undo(self, r: int, b: int, c: int) -> bool:
        """A change typed here (as the commands record it), then undone: the
        undo is a later change like any other (law 1)."""
        conn = self.conns[r]
        task_id = self.task_id(r, b, open_only=True)
        if task_id is None:
            return False
        with undo.recording(conn, "typed") as change:
            change.watch([task_id])
            change.watch_running()
            kind = c % 5
            if kind == 0:
                tasklog.finish_task(conn, task_id, 0.5 + c % 4, self.moment())
            elif kind == 1:
                tasklog.start_task(conn, task_id, self.moment())
            elif kind == 2:
                tasklog.edit_task(conn, task_id, {"title": f"undone {c}", "estimate_h": 2.5})
            elif kind == 3:
                tasklog.reestimate(conn, task_id, 4.0, "undone")
            else:
                task = tasklog.NewTask(TITLES[b % len(TITLES)], 1.5, NAMES[c % len(NAMES)])
                made = tasklog.add_task(conn, task, at=self.moment())
                change.made(made)
                self.removed.add(tasklog.get_task(conn, made)["uid"])  # undone below
        undo.undo_last(conn)
        return True

    def op_rm_person(self, r: int, b: int, c: int) -> bool:
        conn = self.conns[r]
        name = self.person(r, b)
        if name is None:
            return False
        person = people.require_person(conn, name)
        names = people.names_of(conn, person)
        marks = ", ".join("?" * len(names))
        self.removed.update(
            row[0]
            for row in conn.execute(f"SELECT uid FROM tasks WHERE person IN ({marks})", names)
        )
        people.delete_person(conn, person)
        return True

    def op_alias(self, r: int, b: int, c: int) -> bool:
        """Another name of someone with tasks here."""
        person = self.person(r, c)
        if person is None:
            return False
        people.add_alias(self.conns[r], NAMES[b % len(NAMES)], person)
        return True

    def op_opt_out(self, r: int, b: int, c: int) -> bool:
        person = self.person(r, b)
        if person is None:
            return False
        people.set_opt_out(self.conns[r], person, bool(c % 2))
        return True

    def op_export(self, r: int, b: int, c: int) -> None:
        path = self.folder / f"export-{len(self.exports)}.jsonl"
        exporter.export_to_file(self.conns[r], Selection(everyone=True), "jsonl", path)
        self.exports.append((path, replica_state(self.conns[r])))

    def op_import_export(self, r: int, b: int, c: int) -> bool:
        """An export, perhaps an old one, imported (law 2 and 8): nothing
        recorded here since is lost to it, and no task deleted here returns."""
        if not self.exports:
            return False
        path, exported = self.exports[b % len(self.exports)]
        before = replica_state(self.conns[r])
        self.import_file(r, path)
        check_nothing_lost(before, exported, replica_state(self.conns[r]))
        self.states_compared += 1
        return True

    def op_tracker(self, r: int, b: int, c: int) -> bool:
        """A tracker's export: the replica's tasks as a keyed CSV, under a
        source of its own (each tracker file is one source)."""
        rows = self.conns[r].execute("SELECT uid, title, estimate_h FROM tasks").fetchall()
        if not rows:
            return False
        path = self.folder / f"tracker-{len(self.trackers)}.csv"
        lines = ["key,title,estimate,status"]
        for number, (uid, title, estimate) in enumerate(rows):
            status = ("open", "in progress", "open")[number % 3]
            lines.append(f"{uid.replace(',', ' ')},{title},{estimate},{status}")
        path.write_text("\n".join(lines) + "\n")
        self.trackers.append(path)
        return True

    def op_import_tracker(self, r: int, b: int, c: int) -> bool:
        """A tracker file imported; imported again, it changes nothing (the
        source says what it said last time, law 2)."""
        if not self.trackers:
            return False
        path = self.trackers[b % len(self.trackers)]
        self.import_file(r, path)
        once = replica_state(self.conns[r])
        self.import_file(r, path)
        assert replica_state(self.conns[r]) == once, "a re-imported tracker file changed things"
        self.states_compared += 1
        return True

    def import_file(self, r: int, path: Path) -> None:
        options = importer.ImportOptions(path=path, person="ana", source=path.stem)
        if path.suffix == ".jsonl":
            options.source = None
        importer.import_file(self.conns[r], options)

    def op_merge(self, r: int, b: int, c: int) -> bool:
        other = b % len(self.conns)
        if other == r:
            return False
        merge_database(self.conns[r], self.paths[other])
        return True

    # -- the end ---------------------------------------------------------------------

    def converge(self) -> list[dict]:
        """Everyone merges everyone (twice round): the states every replica ends in."""
        for _ in range(2):
            for r in range(len(self.conns)):
                for other in range(len(self.conns)):
                    if other != r:
                        merge_database(self.conns[r], self.paths[other])
                        self.ran["final merge"] += 1
        return [replica_state(conn) for conn in self.conns]

    def joined(self, *paths: Path, name: str) -> dict:
        """The state of a fresh database that merged ``paths`` in that order."""
        target = self.folder / f"{name}.db"
        conn = store.connect(target)
        try:
            for path in paths:
                merge_database(conn, path)
            return replica_state(conn)
        finally:
            conn.close()

    def snapshot(self, r: int, name: str) -> Path:
        """A copy of replica ``r``'s file as it is now."""
        self.conns[r].execute("PRAGMA wal_checkpoint(FULL)")
        return copy_file(self.paths[r], self.folder / f"{name}.db")


def check_nothing_lost(before: dict, exported: dict, after: dict) -> None:
    """After importing a file made from ``exported``: every task here keeps its
    status, actual and dates, and every timer interval and re-estimate stays,
    unless the file brings a later version of it (or deleted the task)."""
    buried = {
        uid
        for uid, (deleted, restored) in exported["tombstones"].items()
        if restored is None or deleted > restored
    }
    for uid, registers in before["tasks"].items():
        if uid in buried:
            continue
        assert uid in after["tasks"], f"task {uid} lost to an import"
        theirs = exported["tasks"].get(uid)
        for register in ("state", "estimate", "title"):
            mine = registers[register]
            if theirs is None or theirs[register][1] <= mine[1]:
                assert after["tasks"][uid][register] == mine, (uid, register)
    for table in ("intervals", "reestimates"):
        for uid, record in before[table].items():
            if record[0] in buried:
                continue
            assert uid in after[table], f"{table} record {uid} lost to an import"
            theirs = exported[table].get(uid)
            if theirs is None or theirs[2] <= record[2]:
                assert after[table][uid] == record
