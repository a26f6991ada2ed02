"""Who is in the database: people, their aliases, their teams, opting out of ranks.

A person is a name on tasks (or in an imported team summary). Two names can
be one person (an imported "Jane Doe" and a git "jdoe"): :func:`add_alias`
records that, and the name is mapped when read (law 7,
:mod:`calibrate.store.names`): the tasks keep the name they were stored
under, and every count, score and deletion of the person covers all of their
names. A person may opt out of ranks: others never see them ranked, they
still see themselves. Aliases and opt-outs are records with stamps, merged
like tasks (the later edit wins).

Standard library only, so that ``rm --person`` in the everyday CLI stays light.
"""

from __future__ import annotations

import sqlite3

from calibrate.errors import InputError, NotFound, StateError, UsageError
from calibrate.rules import counted_sql
from calibrate.store import names as naming
from calibrate.store import similar, summaries, transaction
from calibrate.store.names import canonical_person, clean_name, names_of
from calibrate.store.stamps import next_at, replica_id
from calibrate.store.tasks import team_of
from calibrate.store.tombstones import bury
from calibrate.store.undo import forget_tasks


def _in(names: list[str]) -> str:
    return ", ".join("?" * len(names))


def current_team(conn: sqlite3.Connection, person: str) -> str | None:
    """The team of the person's most recent task (METRICS.md), else the team
    the summary that speaks for them gives them; ``None`` for none."""
    return current_teams(conn, [person])[person]


def current_teams(conn: sqlite3.Connection, people) -> dict[str, str | None]:
    """:func:`current_team` of each of ``people`` (one index seek each, and
    one read of the summaries' people for those without tasks)."""
    out: dict[str, str | None] = {}
    speaking = None
    for person in people:
        if _has_tasks(conn, names_of(conn, person)):
            out[person] = team_of(conn, person)
            continue
        if speaking is None:
            speaking = summaries.speakers(conn)
        found = speaking.get(person)
        out[person] = found.team if found is not None else None
    return out


def _has_tasks(conn: sqlite3.Connection, names: list[str]) -> bool:
    sql = f"SELECT 1 FROM tasks WHERE person IN ({_in(names)}) LIMIT 1"  # noqa: S608 (marks only)
    return conn.execute(sql, names).fetchone() is not None


def aliases_of(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Person -> the other names they go by (aliases resolved through chains)."""
    out: dict[str, list[str]] = {}
    for alias, person in sorted(alias_map(conn).items()):
        out.setdefault(person, []).append(alias)
    return out


def alias_map(conn: sqlite3.Connection) -> dict[str, str]:
    """Every live alias -> the person it stands for (chains resolved)."""
    return naming.alias_map(conn).as_dict()


def opted_out(conn: sqlite3.Connection) -> set[str]:
    """People who opted out of ranks here (under any of their names); and
    people known only from a summary that marked them opted out (a summary's
    opt-outs apply only to the people it speaks for, law 5: never to anyone
    with tasks here; new summaries leave such people out entirely)."""
    aliases = alias_map(conn)
    names = {
        aliases.get(row[0], row[0])
        for row in conn.execute("SELECT name FROM people WHERE opt_out = 1")
    }
    if summaries.has_summaries(conn):
        names.update(p for p, found in summaries.speakers(conn).items() if found.opt_out)
    return names


def is_known(conn: sqlite3.Connection, name: str) -> bool:
    """Whether ``name`` (under any of its names) has tasks, a people entry or
    summary rows here."""
    names = names_of(conn, name)
    if _has_tasks(conn, names):
        return True
    marks = _in(names)
    if conn.execute(f"SELECT 1 FROM people WHERE name IN ({marks})", names).fetchone():  # noqa: S608
        return True
    sql = f"SELECT 1 FROM summary_people WHERE person IN ({marks}) LIMIT 1"  # noqa: S608 (marks)
    return conn.execute(sql, names).fetchone() is not None


def require_person(conn: sqlite3.Connection, name: str) -> str:
    """The canonical name of a person who is here; :class:`NotFound` otherwise."""
    person = canonical_person(conn, name)
    if not is_known(conn, person):
        raise NotFound(f"no person {name!r} in this database (see 'calibrate people')")
    return person


def list_people(conn: sqlite3.Connection) -> list[dict]:
    """Everyone here, by name: ``person``, ``team`` (of their most recent
    task, else the one the summary that speaks for them gives), ``tasks``
    (all), ``counted`` (finished with an estimate and an actual, all history;
    for a person known from a team summary, the tasks it counts for them),
    ``open``, ``last`` (last activity, ISO date), ``aliases``, ``opt_out``,
    and ``summary`` (the weeks of imported summaries that count for them:
    only for people with no task here, law 5)."""
    rows: dict[str, dict] = {}
    aliases = alias_map(conn)
    for name, tasks, counted, open_, last in conn.execute(
        f"""
        SELECT person, count(*), total({counted_sql()}),
               total(status IN ('open', 'started')),
               max(coalesce(done_at, created_at))
        FROM tasks GROUP BY person
        """  # noqa: S608 (a fixed clause)
    ):
        person = aliases.get(name, name)  # every name of a person is one row
        row = rows.setdefault(person, _person_row(person))
        row["tasks"] += int(tasks)
        row["counted"] += int(counted)
        row["open"] += int(open_)
        row["last"] = max(filter(None, [row["last"], (last or "")[:10] or None]), default=None)
    speaking = summaries.speakers(conn) if summaries.has_summaries(conn) else {}
    counting = summaries.counted_rows(conn) if speaking else {}
    canonical = summaries.canonical_names(conn) if speaking else str
    for stored, replica in counting.items():
        weeks, counted, last = conn.execute(
            "SELECT count(*), total(w.n), max(w.week) FROM summary_weeks AS w JOIN summaries "
            "AS s ON s.id = w.summary_id WHERE w.person = ? AND s.replica = ?",
            (stored, replica),
        ).fetchone()
        row = rows.setdefault(canonical(stored), _person_row(canonical(stored)))
        row["summary"] += int(weeks)
        row["counted"] += int(counted)
        row["last"] = max(filter(None, [row["last"], last]), default=None)
    for person in speaking:
        rows.setdefault(person, _person_row(person))
    for name in opted_out(conn):
        if name in rows:
            rows[name]["opt_out"] = True
    for person, names in aliases_of(conn).items():
        if person in rows:
            rows[person]["aliases"] = names
    for person, team in current_teams(conn, list(rows)).items():
        rows[person]["team"] = team
    return [rows[name] for name in sorted(rows, key=str.casefold)]


def _person_row(person: str) -> dict:
    return {
        "person": person,
        "team": None,
        "tasks": 0,
        "counted": 0,
        "open": 0,
        "last": None,
        "aliases": [],
        "opt_out": False,
        "summary": 0,
    }


def add_alias(conn: sqlite3.Connection, name: str, person: str) -> dict:
    """Make ``name`` another name of ``person``, in one transaction: a record
    (stamped), mapping the name when it is read. No stored task changes: the
    tasks stored under ``name`` count as ``person``'s from now on, here and
    wherever the alias travels. Returns ``alias``, ``person`` (canonical) and
    ``tasks``: how many tasks are stored under ``name``."""
    name, person = clean_name(name), clean_name(person)
    if not name or not person:
        raise UsageError("an alias needs a NAME and a PERSON")
    with transaction(conn):
        aliases = naming.alias_map(conn)
        target = aliases.resolve(person)
        if not is_known(conn, target):
            raise NotFound(f"no person {person!r} in this database (see 'calibrate people')")
        if name == target:
            raise InputError(f"{name!r} is already {target!r}")
        existing = aliases.edges.get(name)
        if existing is not None and aliases.resolve(name) != target:
            raise InputError(
                f"{name!r} is already an alias of {aliases.resolve(name)!r}; "
                f"remove it first with 'calibrate alias --remove {name}'"
            )
        _write_alias(conn, name, target, deleted=False)
        count = conn.execute("SELECT count(*) FROM tasks WHERE person = ?", (name,)).fetchone()[0]
    return {"alias": name, "person": target, "tasks": int(count)}


def _write_alias(conn: sqlite3.Connection, name: str, person: str, *, deleted: bool) -> None:
    row = conn.execute("SELECT stamp_at FROM aliases WHERE alias = ?", (name,)).fetchone()
    conn.execute(
        "INSERT INTO aliases (alias, person, deleted, stamp_at, stamp_replica) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(alias) DO UPDATE SET person = excluded.person, "
        "deleted = excluded.deleted, stamp_at = excluded.stamp_at, "
        "stamp_replica = excluded.stamp_replica",
        (name, person, int(deleted), next_at(row[0] if row else ""), replica_id(conn)),
    )


def remove_alias(conn: sqlite3.Connection, name: str) -> str:
    """Forget an alias (a later version of its record, marked deleted, so the
    removal travels too). Returns the person it pointed at."""
    name = clean_name(name)
    with transaction(conn):
        row = conn.execute(
            "SELECT person FROM aliases WHERE alias = ? AND deleted = 0", (name,)
        ).fetchone()
        if row is None:
            raise NotFound(f"{name!r} is not an alias (see 'calibrate alias')")
        _write_alias(conn, name, row[0], deleted=True)
    return row[0]


def list_aliases(conn: sqlite3.Connection) -> list[dict]:
    return [
        {"alias": alias, "person": person}
        for alias, person in conn.execute(
            "SELECT alias, person FROM aliases WHERE deleted = 0 ORDER BY alias"
        )
    ]


def _write_opt_out(conn: sqlite3.Connection, person: str, opt_out: bool) -> None:
    row = conn.execute("SELECT stamp_at FROM people WHERE name = ?", (person,)).fetchone()
    conn.execute(
        "INSERT INTO people (name, opt_out, stamp_at, stamp_replica) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET opt_out = excluded.opt_out, "
        "stamp_at = excluded.stamp_at, stamp_replica = excluded.stamp_replica",
        (person, int(opt_out), next_at(row[0] if row else ""), replica_id(conn)),
    )


def set_opt_out(conn: sqlite3.Connection, name: str, opt_out: bool) -> str:
    """Opt a person out of ranks (or back in: under every name of theirs that
    had opted out). Returns their canonical name. Only for people with tasks
    here (law 5): a person known only from a team summary opts in or out in
    their own database, whose next summary carries it."""
    with transaction(conn):
        person = require_person(conn, name)
        if not _has_tasks(conn, names_of(conn, person)):
            found = summaries.speakers(conn).get(person)
            if found is not None:
                raise StateError(
                    f"{person} has no tasks here, only the figures of a team summary "
                    f"({found.file}): an opt-out or opt-in here applies only to people with "
                    f"tasks here, so {person} opts {'out' if opt_out else 'in'} in their own "
                    "database, and its next summary carries it"
                )
        _write_opt_out(conn, person, opt_out)
        if not opt_out:
            names = names_of(conn, person)
            sql = f"SELECT name FROM people WHERE opt_out = 1 AND name IN ({_in(names)})"  # noqa: S608
            for (other,) in conn.execute(sql, names).fetchall():
                _write_opt_out(conn, other, False)
    return person


def person_task_count(conn: sqlite3.Connection, name: str) -> tuple[str, int]:
    """(canonical name, number of tasks under all of their names) of a person
    who is here."""
    person = require_person(conn, name)
    names = names_of(conn, person)
    sql = f"SELECT count(*) FROM tasks WHERE person IN ({_in(names)})"  # noqa: S608 (marks)
    return person, int(conn.execute(sql, names).fetchone()[0])


def delete_person(conn: sqlite3.Connection, name: str) -> dict:
    """Delete every task of a person, under every name the aliases give them
    (with their timers and re-estimates), leaving a tombstone per task (uids
    only), and the weeks imported summaries hold for them, in one
    transaction. Their aliases and opt-out stay: they are wishes about the
    name, not work. Returns ``person``, ``names``, ``tasks`` and
    ``summary_weeks`` deleted."""
    with transaction(conn):
        person = require_person(conn, name)
        names = names_of(conn, person)
        marks = _in(names)
        uids = [
            row[0]
            for row in conn.execute(f"SELECT uid FROM tasks WHERE person IN ({marks})", names)  # noqa: S608
        ]
        bury(conn, uids)
        forget_tasks(conn, uids, people=names)  # nor may undo's log keep them, or earlier ones
        similar.purge(conn)  # nor the index of similar tasks, not even in its free pages
        conn.execute(f"DELETE FROM hints WHERE person IN ({marks})", names)  # noqa: S608
        weeks = conn.execute(
            f"DELETE FROM summary_weeks WHERE person IN ({marks})",  # noqa: S608 (marks only)
            names,
        ).rowcount
        conn.execute(
            f"DELETE FROM summary_people WHERE person IN ({marks})",  # noqa: S608 (marks only)
            names,
        )
    return {"person": person, "names": names, "tasks": len(uids), "summary_weeks": int(weeks)}


def pseudonym_salt(conn: sqlite3.Connection | None) -> bytes:
    """The database's secret key for pseudonyms (made by migration m002)."""
    if conn is not None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'pseudonym_salt'").fetchone()
        if row is not None:
            return bytes.fromhex(row[0])
    return b"calibrate"


def person_with_tasks(conn: sqlite3.Connection, person: str) -> str:
    """The person's canonical name; an error naming who is here when nobody by
    that name has a task (a typo should not give advice from nobody's history)."""
    name = canonical_person(conn, person)
    if _has_tasks(conn, names_of(conn, name)):
        return name
    raise NotFound(f"nobody called {person!r} has tasks here{_known_names(conn, 'person')}")


def team_with_tasks(conn: sqlite3.Connection, team: str) -> str:
    """The team, or an error naming the teams here."""
    if conn.execute("SELECT 1 FROM tasks WHERE team = ? LIMIT 1", (team,)).fetchone():
        return team
    raise NotFound(f"no team {team!r} has tasks here{_known_names(conn, 'team')}")


def _known_names(conn: sqlite3.Connection, column: str, shown: int = 8) -> str:
    sql = (
        f"SELECT DISTINCT {column} FROM tasks WHERE {column} IS NOT NULL "  # noqa: S608 (fixed)
        f"ORDER BY {column} LIMIT ?"
    )
    names = [row[0] for row in conn.execute(sql, (shown + 1,))]
    if not names:
        return " (the database has no tasks)" if column == "person" else " (no task has a team)"
    more = ", ..." if len(names) > shown else ""
    return f" (known: {', '.join(names[:shown])}{more})"
