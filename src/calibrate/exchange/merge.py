"""Folding another calibrate database into this one (a lead collecting the
team's files, or one person's laptop and desktop): a join (law 1).

Both files hold records with stamps (:mod:`calibrate.store.state`), and the
merge folds the other file's records into this one's:

- tombstones first: a task deleted on either side is deleted in the result,
  and never stored again, whatever the order of the merges;
- tasks by uid: one only the other file has is added; one both have takes,
  register by register (title, estimate, range, state, ...), the version with
  the later stamp (time, then replica id): an edit of the title there and of
  the actual here both survive;
- timer intervals and re-estimates by their own uids: united, never
  replaced, so a sitting timed on the laptop and one on the desktop both
  count; a corrected record (a stopped timer) wins by being later;
- aliases and opt-outs: the later edit of each name wins; an alias mapped
  two ways says which mapping stays, in one line.

Every record passes the one door first (:mod:`calibrate.exchange.validate`):
a task row gets the checks ``add`` applies (never a check against the clock:
clocks differ), a record that fails is refused with one line, and the others
are joined. Merging is commutative, associative and idempotent: in any order,
any number of times, copies of a history end in the same state
(``tests/laws``). All of it is one transaction. The other file is only read (a copy is upgraded when
its schema is older). Settings and caches are not merged: they belong to the
database they are in.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from calibrate import store
from calibrate.errors import DatabaseError, InputError, UsageError
from calibrate.exchange.validate import Door
from calibrate.store import similar, state
from calibrate.text import count


@dataclass
class MergeResult:
    other: str
    joined: state.JoinResult = field(default_factory=state.JoinResult)
    dry_run: bool = False
    door: Door = field(default_factory=Door)

    def as_dict(self) -> dict:
        j = self.joined
        return {
            "other": self.other,
            "added": j.added,
            "updated": j.updated,
            "kept": j.kept,
            "unchanged": j.unchanged,
            "intervals": j.records["interval"],
            "reestimates": j.records["reestimate"],
            "tombstones": j.tombstones,
            "deleted": j.deleted,
            "kept_deleted": j.buried,
            "aliases": j.aliases,
            "people": j.people,
            "conflicts": dict(j.conflicts),
            "notes": list(j.lines),
            "refused": self.door.refused,
            "refusals": list(self.door.lines),
            "dry_run": self.dry_run,
        }

    def lines(self) -> list[str]:
        j = self.joined
        verb = "Would merge" if self.dry_run else "Merged"
        out = [
            f"{verb} {self.other}: {j.added:,} added, {j.updated:,} updated "
            f"(newer there), {j.kept:,} kept (newer here), {j.unchanged:,} unchanged"
        ]
        records = [
            count(n, name, plural)
            for n, name, plural in (
                (j.records["interval"], "timer interval", None),
                (j.records["reestimate"], "re-estimate", None),
                (j.aliases, "alias", "aliases"),
                (j.people, "opt-out", None),
            )
            if n
        ]
        if records:
            out.append(f"  taken from there: {', '.join(records)}")
        if j.conflicts:
            total = sum(j.conflicts.values())
            shown = ", ".join(f"{name} {n:,}" for name, n in j.conflicts.most_common())
            out.append(
                f"  {count(total, 'field')} differed between the files "
                f"({shown}): the later edit kept, by time then replica"
            )
        if j.deleted or j.buried:
            out.append(
                f"  deleted: {j.deleted:,} here (deleted there), {j.buried:,} of theirs "
                "not brought back (deleted here)"
            )
        out.extend(f"  {line}" for line in j.lines)
        out.extend(f"  {line}" for line in self.door.shown())
        return out


class _DryRun(Exception):
    pass


def merge_database(
    conn: sqlite3.Connection,
    other_path: Path,
    *,
    own_path: Path | None = None,
    dry_run: bool = False,
) -> MergeResult:
    """Fold the database at ``other_path`` into ``conn`` (see the module doc)."""
    result = MergeResult(other=other_path.name, dry_run=dry_run)
    if own_path is not None and _same_file(other_path, own_path):
        raise UsageError("cannot merge a database into itself")
    with open_other(other_path) as other:
        try:
            with store.transaction(conn):
                join_database(conn, other, result.joined, result.door)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
    return result


def join_database(
    conn: sqlite3.Connection,
    other: sqlite3.Connection,
    result: state.JoinResult,
    door: Door | None = None,
) -> None:
    """Every record of ``other`` joined into ``conn`` (inside a transaction)
    that passes the ``door`` (asked of each record the join would store: one
    already held here as it is is not asked about)."""
    door = door or Door()
    with similar.deferred(conn):  # the index of similar tasks kept once, at the end
        state.join_tombstones(conn, state.read_tombstones(other), result, door.admit("tombstone"))
        state.join_tasks(conn, state.read_tasks(other), result, door.admit("task"))
        for table, kind in state.CHILD_KINDS.items():
            records = state.read_children(other, table)
            state.join_children(conn, table, records, result, door.admit(kind))
        state.join_aliases(conn, state.read_aliases(other), result, door.admit("alias"))
        state.join_people(conn, state.read_people(other), result, door.admit("person"))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextlib.contextmanager
def open_other(path: Path) -> Iterator[sqlite3.Connection]:
    """The other database, read-only (:func:`store.reading`: ``mode=ro``, and
    no ``-wal`` or ``-shm`` left beside it; in a folder that takes no new
    files, opened as immutable when nothing waits in a log); an older schema
    is upgraded in a temporary copy, never in place."""
    if not path.exists():
        raise InputError(f"no such file: {path}")
    version = store.read_header_version(path)
    if version is None:
        raise DatabaseError(f"{path} is empty, not a calibrate database")
    if version > store.SCHEMA_VERSION:
        raise DatabaseError(
            f"{path} was written by a newer calibrate (schema version {version}; this one "
            f"reads up to {store.SCHEMA_VERSION}): upgrade calibrate to merge it"
        )
    with contextlib.ExitStack() as opened:
        try:
            source = opened.enter_context(store.reading(path))
            tables = {
                r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            # the header lags behind a write-ahead log another connection has not folded in yet
            version = max(version, source.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as error:
            raise DatabaseError(
                f"{path} is damaged or not a calibrate database ({error})"
            ) from None
        if version == 0 or "tasks" not in tables:
            raise DatabaseError(f"{path} is not a calibrate database")
        if version > store.SCHEMA_VERSION:
            raise DatabaseError(
                f"{path} was written by a newer calibrate (schema version {version}; this one "
                f"reads up to {store.SCHEMA_VERSION}): upgrade calibrate to merge it"
            )
        if version == store.SCHEMA_VERSION:
            yield source
            return
        with tempfile.TemporaryDirectory(prefix="calibrate-merge-") as folder:
            copy_path = Path(folder) / path.name
            target = sqlite3.connect(copy_path)
            with target:
                source.backup(target)
            target.close()
            opened.close()  # the other file is read: left as it was found
            upgraded = store.connect(copy_path, identity=False)
            try:
                yield upgraded
            finally:
                upgraded.close()
