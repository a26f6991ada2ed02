"""The team summaries a lead holds, and whom each speaks for (laws 4 and 5).

Every imported export is a row of ``summaries`` with its people
(``summary_people``) and week rows (``summary_weeks``), counted under a
*replica* key: the exporting file's replica id (``~N`` added for a fork).
Which rows count is decided when they are read, the same way by every
command (:func:`speakers`):

- raw tasks always win: a person with tasks here (under any of their names,
  after aliases and the one spelling of a name) is counted from their tasks
  alone, whatever weeks or time zones the summary used;
- a summary speaks only for its own people: of two replicas that bring the
  same person, the later export is kept for that person;
- a person an older summary marked as opted out stays out (new summaries
  leave such people out entirely).

Within one replica a later export has already replaced the weeks it covers
when it was imported (:func:`supersede`); an export whose id is known but
whose history is another's (a copy made on another machine) is counted under
a fork's key (:func:`replica_key`). Standard library only: ``people`` and
``rm --person`` read through here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

from calibrate.store.names import alias_map, clean_name


@dataclass(frozen=True)
class Speaker:
    """Who speaks for a person known only from summaries: the ``replica`` key
    whose rows count for them, its latest export bringing them (``summary_id``,
    ``exported_at``, ``file``), the team that export gives them, ``opt_out``
    (an older summary's mark), and ``others``: the other replicas that bring
    them too (their files), whose rows for them do not count."""

    person: str
    replica: str
    summary_id: int
    exported_at: str
    file: str
    team: str | None
    opt_out: bool
    others: tuple[str, ...] = ()


def has_summaries(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM summary_people LIMIT 1").fetchone() is not None


def canonical_names(conn: sqlite3.Connection):
    """A function mapping a stored summary name to the person it stands for
    (its one spelling, then the aliases)."""
    aliases = alias_map(conn).as_dict()
    return lambda name: aliases.get(clean_name(name), clean_name(name))


def has_tasks(conn: sqlite3.Connection, person: str) -> bool:
    """Whether ``person`` (canonical) has a task here under any of their names."""
    names = alias_map(conn).names_of(person)
    sql = f"SELECT 1 FROM tasks WHERE person IN ({', '.join('?' * len(names))}) LIMIT 1"  # noqa: S608
    return conn.execute(sql, names).fetchone() is not None


def listed(conn: sqlite3.Connection) -> list[tuple]:
    """Every person every export lists, newest first: (canonical person,
    stored name, replica, summary id, exported_at, file, team, opt_out)."""
    canonical = canonical_names(conn)
    rows = conn.execute(
        "SELECT p.person, s.replica, s.id, s.exported_at, s.file, p.team, p.opt_out "
        "FROM summary_people AS p JOIN summaries AS s ON s.id = p.summary_id "
        "ORDER BY s.exported_at DESC, s.replica DESC, s.id DESC"
    ).fetchall()
    return [(canonical(row[0]), *tuple(row)) for row in rows]


def speakers(conn: sqlite3.Connection, *, with_local: bool = False) -> dict[str, Speaker]:
    """Person -> who speaks for them, for every person imported summaries
    bring who has no task here (with ``with_local`` also those who do: whom
    a summary would speak for, had they no tasks here)."""
    out: dict[str, Speaker] = {}
    others: dict[str, list[str]] = {}
    for person, _, replica, summary_id, exported_at, file, team, opt_out in listed(conn):
        found = out.get(person)
        if found is None:
            out[person] = Speaker(
                person, replica, summary_id, exported_at, file, team or None, bool(opt_out)
            )
        elif found.replica != replica and file not in others.setdefault(person, []):
            others[person].append(file)
    if not with_local:
        out = {person: found for person, found in out.items() if not has_tasks(conn, person)}
    return {
        person: Speaker(**{**found.__dict__, "others": tuple(others.get(person, ()))})
        for person, found in out.items()
    }


def counted_rows(conn: sqlite3.Connection) -> dict[str, str]:
    """Stored name -> replica key of the rows that count, for :mod:`.load`:
    each summary-only person's speaker (not an opted-out one)."""
    names: dict[str, str] = {}
    found = {p: s for p, s in speakers(conn).items() if not s.opt_out}
    for person, stored, replica, *_ in listed(conn):
        if person in found and found[person].replica == replica:
            names[stored] = replica
    return names


# --- a new export, stored ---------------------------------------------------------------------


def covered_weeks(
    since: str | None, until: str | None, today: str | None
) -> tuple[str | None, str | None]:
    """The Mondays an export covers: (first, end), ``end`` exclusive; ``None``
    for no bound (all history; an end not said)."""
    first = _monday(date.fromisoformat(since)) if since else None
    if until:
        day = date.fromisoformat(until)
        end = _monday(day) if _monday(day) == day else _monday(day) + timedelta(weeks=1)
    elif today:
        end = _monday(date.fromisoformat(today)) + timedelta(weeks=1)
    else:
        end = None
    return (first.isoformat() if first else None, end.isoformat() if end else None)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def supersede(conn: sqlite3.Connection, replica: str) -> int:
    """Within ``replica``, delete every week row a later export covers (its
    window, and its people: all of them, a team's rows or one person's), and
    the older exports' listings of people they no longer hold rows for.
    Returns the rows deleted. The same whichever order the exports came in."""
    exports = conn.execute(
        "SELECT id, exported_at, since, until, today, scope_kind, scope_name FROM summaries "
        "WHERE replica = ? ORDER BY exported_at, id",
        (replica,),
    ).fetchall()
    deleted = 0
    for index, newer in enumerate(exports):
        older = [row[0] for row in exports[:index]]
        if not older:
            continue
        first, end = covered_weeks(newer[2], newer[3], newer[4])
        clauses = [f"summary_id IN ({', '.join('?' * len(older))})"]
        params: list = list(older)
        if first is not None:
            clauses.append("week >= ?")
            params.append(first)
        if end is not None:
            clauses.append("(week IS NULL OR week < ?)" if first is None else "week < ?")
            params.append(end)
        if newer[5] == "team":
            clauses.append("team = ?")
            params.append(newer[6])
        elif newer[5] == "person":
            clauses.append("person = ?")
            params.append(newer[6])
        sql = f"DELETE FROM summary_weeks WHERE {' AND '.join(clauses)}"  # noqa: S608 (fixed clauses)
        deleted += conn.execute(sql, params).rowcount
    conn.execute(
        "DELETE FROM summary_people WHERE summary_id IN (SELECT id FROM summaries WHERE "
        "replica = ? AND id != (SELECT id FROM summaries WHERE replica = ? "
        "ORDER BY exported_at DESC, id DESC LIMIT 1)) AND NOT EXISTS (SELECT 1 FROM "
        "summary_weeks AS w WHERE w.summary_id = summary_people.summary_id AND "
        "w.person = summary_people.person)",
        (replica, replica),
    )
    return deleted


def coverage(conn: sqlite3.Connection) -> dict[str, tuple[str | None, str | None]]:
    """Replica -> the weeks its exports cover together: (first Monday, end
    Monday exclusive), ``None`` for no bound."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for replica, since, until, today in conn.execute(
        "SELECT replica, since, until, today FROM summaries"
    ):
        first, end = covered_weeks(since, until, today)
        if replica in out:
            seen_first, seen_end = out[replica]
            first = None if first is None or seen_first is None else min(first, seen_first)
            end = None if end is None or seen_end is None else max(end, seen_end)
        out[replica] = (first, end)
    return out


def monday_of(day: str) -> str:
    """The Monday of an ISO date's week, as ISO text."""
    return _monday(date.fromisoformat(day)).isoformat()


def left_out(conn: sqlite3.Connection) -> int:
    """The people the summaries here say they left out (opted out of ranks
    there), as the latest export of each replica says."""
    return sum(
        row[0] or 0
        for row in conn.execute(
            "SELECT left_out FROM summaries AS s WHERE exported_at = "
            "(SELECT max(exported_at) FROM summaries WHERE replica = s.replica)"
        )
    )


# --- one replica, or a fork ------------------------------------------------------------------


@dataclass
class Export:
    """One export as the fork test compares it: when, the weeks it covers
    (first Monday, end Monday exclusive), whom (``kind``, ``name``), its
    ``today``, its people, its cells ((person, team, week) -> n) and how many
    people it left out."""

    exported_at: str
    first: str | None
    end: str | None
    kind: str
    name: str | None
    today: str | None
    people: set[str]
    cells: dict[tuple, int]
    left_out: int

    def covers(self, cell: tuple) -> bool:
        return covers(self.first, self.end, self.kind, self.name, *cell)


def covers(
    first: str | None,
    end: str | None,
    kind: str,
    name: str | None,
    person: str,
    team: str | None,
    week: str | None,
) -> bool:
    """Whether an export covering the weeks ``first``..``end`` (exclusive) of
    ``kind`` (everyone, a team named ``name``, a person) covers a week row."""
    if (kind == "team" and team != name) or (kind == "person" and person != name):
        return False
    if week is None:
        return first is None
    return (first is None or week >= first) and (end is None or week < end)


def replica_key(conn: sqlite3.Connection, base: str, ours: Export) -> tuple[str, str | None]:
    """The key an export with the replica id ``base`` is counted under: the id,
    or (where it and the latest export of every replica imported under that
    id are two histories: a copy made on another machine) a fork's key
    ``id~N``; and for a fork, the file of the first export of that id."""
    keys = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT replica FROM summaries WHERE database_id = ?", (base,)
        )
    ]
    if not keys:
        return base, None
    keys.sort(key=_fork_number)
    for key in keys:
        earlier, later = sorted((latest_export(conn, key), ours), key=lambda e: e.exported_at)
        if not two_histories(earlier, later):
            return key, None
    first = conn.execute(
        "SELECT file FROM summaries WHERE replica = ? ORDER BY exported_at LIMIT 1", (keys[0],)
    ).fetchone()[0]
    return f"{base}~{max(_fork_number(k) for k in keys) + 1}", first


def _fork_number(key: str) -> int:
    return int(key.rsplit("~", 1)[1]) if "~" in key else 1


def latest_export(conn: sqlite3.Connection, key: str) -> Export:
    """The latest export counted under the replica ``key``."""
    row = conn.execute(
        "SELECT id, exported_at, since, until, scope_kind, scope_name, today, left_out "
        "FROM summaries WHERE replica = ? ORDER BY exported_at DESC, id DESC LIMIT 1",
        (key,),
    ).fetchone()
    cells: dict[tuple, int] = {}
    for person, team, week, n in conn.execute(
        "SELECT person, team, week, n FROM summary_weeks WHERE summary_id = ?", (row[0],)
    ):
        cells[(person, team, week)] = cells.get((person, team, week), 0) + n
    people = {cell[0] for cell in cells} | {
        name
        for (name,) in conn.execute(
            "SELECT person FROM summary_people WHERE summary_id = ?", (row[0],)
        )
    }
    first, end = covered_weeks(row[2], row[3], row[6])
    return Export(row[1], first, end, row[4], row[5], row[6], people, cells, row[7] or 0)


def two_histories(earlier: Export, later: Export) -> bool:
    """Whether two exports with one replica id are two histories (a copy of
    one database made on another machine): the later lacks people the
    earlier had in what it covers (beyond those it left out) while it has
    people the earlier lacks in weeks the earlier had finished; or one
    person's finished weeks hold work each lacks. One replica only gains
    people in new weeks, and loses work only where it was deleted. Compared
    earliest first, so the verdict does not depend on which came in first."""
    closed = monday_of(earlier.today) if earlier.today else None

    def finished(cell: tuple) -> bool:
        return cell[2] is not None and (closed is None or cell[2] < closed)

    missing = {c[0] for c in earlier.cells if later.covers(c)} - later.people
    new = {c[0] for c in later.cells if finished(c) and earlier.covers(c)} - earlier.people
    if len(missing) > later.left_out and new:
        return True
    shared = earlier.people & later.people
    lost = {
        c[0]
        for c, n in earlier.cells.items()
        if c[0] in shared and finished(c) and later.covers(c) and n > later.cells.get(c, 0)
    }
    gained = {
        c[0]
        for c, n in later.cells.items()
        if c[0] in lost and finished(c) and earlier.covers(c) and n > earlier.cells.get(c, 0)
    }
    return bool(gained)
