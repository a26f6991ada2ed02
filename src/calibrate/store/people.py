"""Who is in the database: people, their aliases, their teams, opting out of ranks.

A person is a name on tasks (or in an imported team summary). Two names can
be one person (an imported "Jane Doe" and a git "jdoe"): :func:`add_alias`
joins them, rewriting the tasks already stored, and from then on the store
writes the canonical name (``tasks.canonical_person``). A person may opt out
of ranks: others never see them ranked, they still see themselves.

Standard library only, so that ``rm --person`` in the everyday CLI stays light.
"""

from __future__ import annotations

import sqlite3

from calibrate.errors import InputError, NotFound, UsageError
from calibrate.rules import counted_sql
from calibrate.store import transaction
from calibrate.store.tasks import canonical_person, team_of


def current_team(conn: sqlite3.Connection, person: str) -> str | None:
    """The team of the person's most recent task (METRICS.md), else the team an
    imported summary gives them; ``None`` for none."""
    if conn.execute("SELECT 1 FROM tasks WHERE person = ? LIMIT 1", (person,)).fetchone():
        return team_of(conn, person)
    row = conn.execute(
        "SELECT team FROM summary_people WHERE person = ? ORDER BY summary_id DESC LIMIT 1",
        (person,),
    ).fetchone()
    return (row[0] or None) if row is not None else None


def current_teams(conn: sqlite3.Connection, people) -> dict[str, str | None]:
    """:func:`current_team` of each of ``people`` (one index seek each)."""
    return {person: current_team(conn, person) for person in people}


def aliases_of(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Person -> the other names they go by."""
    out: dict[str, list[str]] = {}
    for alias, person in conn.execute("SELECT alias, person FROM aliases ORDER BY alias"):
        out.setdefault(person, []).append(alias)
    return out


def alias_map(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT alias, person FROM aliases").fetchall())


def opted_out(conn: sqlite3.Connection) -> set[str]:
    """People who opted out of ranks, here or in an imported summary (privacy
    first: one opt-out anywhere is enough)."""
    names = {row[0] for row in conn.execute("SELECT name FROM people WHERE opt_out = 1")}
    aliases = alias_map(conn)
    for (person,) in conn.execute("SELECT person FROM summary_people WHERE opt_out = 1"):
        names.add(aliases.get(person, person))
    return names


def is_known(conn: sqlite3.Connection, name: str) -> bool:
    """Whether ``name`` has tasks, a people entry or summary rows here."""
    if conn.execute("SELECT 1 FROM tasks WHERE person = ? LIMIT 1", (name,)).fetchone():
        return True
    if conn.execute("SELECT 1 FROM people WHERE name = ?", (name,)).fetchone():
        return True
    return (
        conn.execute("SELECT 1 FROM summary_people WHERE person = ? LIMIT 1", (name,)).fetchone()
        is not None
    )


def require_person(conn: sqlite3.Connection, name: str) -> str:
    """The canonical name of a person who is here; :class:`NotFound` otherwise."""
    person = canonical_person(conn, name.strip())
    if not is_known(conn, person):
        raise NotFound(f"no person {name!r} in this database (see 'calibrate people')")
    return person


def list_people(conn: sqlite3.Connection) -> list[dict]:
    """Everyone here, by name: ``person``, ``team`` (of their most recent
    task), ``tasks`` (all), ``counted`` (finished with an estimate and an
    actual), ``open``, ``last`` (last activity, ISO date), ``aliases``,
    ``opt_out``, and ``summary`` (weeks of imported summaries, for people known
    from a team's summary file rather than from tasks)."""
    rows: dict[str, dict] = {}
    for person, tasks, counted, open_, last in conn.execute(
        f"""
        SELECT person, count(*), total({counted_sql()}),
               total(status IN ('open', 'started')),
               max(coalesce(done_at, created_at))
        FROM tasks GROUP BY person
        """  # noqa: S608 (a fixed clause)
    ):
        rows[person] = {
            "person": person,
            "team": None,
            "tasks": int(tasks),
            "counted": int(counted),
            "open": int(open_),
            "last": (last or "")[:10] or None,
            "aliases": [],
            "opt_out": False,
            "summary": 0,
        }
    aliases = alias_map(conn)
    for person, weeks, counted, last in conn.execute(
        "SELECT person, count(*), total(n), max(week) FROM summary_weeks GROUP BY person"
    ):
        person = aliases.get(person, person)
        row = rows.setdefault(
            person,
            {
                "person": person,
                "team": None,
                "tasks": 0,
                "counted": 0,
                "open": 0,
                "last": None,
                "aliases": [],
                "opt_out": False,
                "summary": 0,
            },
        )
        row["summary"] += int(weeks)
        if not row["tasks"]:
            row["counted"] += int(counted)
            row["last"] = max(filter(None, [row["last"], last]), default=None)
    for name, opt_out in conn.execute("SELECT name, opt_out FROM people"):
        if name in rows:
            rows[name]["opt_out"] = bool(opt_out)
    for name in opted_out(conn):
        if name in rows:
            rows[name]["opt_out"] = True
    for person, names in aliases_of(conn).items():
        if person in rows:
            rows[person]["aliases"] = names
    for person, row in rows.items():
        row["team"] = current_team(conn, person)
    return [rows[name] for name in sorted(rows, key=str.casefold)]


def add_alias(conn: sqlite3.Connection, name: str, person: str) -> dict:
    """Make ``name`` another name of ``person``, in one transaction.

    The tasks already stored under ``name`` move to ``person``, aliases that
    pointed at ``name`` follow, and an opt-out of either name holds for both.
    Returns ``person`` (canonical), ``tasks`` moved and ``aliases`` re-pointed.
    """
    name, person = name.strip(), person.strip()
    if not name or not person:
        raise UsageError("an alias needs a NAME and a PERSON")
    with transaction(conn):
        target = canonical_person(conn, person)
        if not is_known(conn, target):
            raise NotFound(f"no person {person!r} in this database (see 'calibrate people')")
        if name == target:
            raise InputError(f"{name!r} is already {target!r}")
        existing = conn.execute("SELECT person FROM aliases WHERE alias = ?", (name,)).fetchone()
        if existing is not None and existing[0] != target:
            raise InputError(
                f"{name!r} is already an alias of {existing[0]!r}; "
                f"remove it first with 'calibrate alias --remove {name}'"
            )
        moved = conn.execute(
            "UPDATE tasks SET person = ? WHERE person = ?", (target, name)
        ).rowcount
        repointed = conn.execute(
            "UPDATE aliases SET person = ? WHERE person = ?", (target, name)
        ).rowcount
        conn.execute(
            "INSERT INTO aliases (alias, person) VALUES (?, ?) "
            "ON CONFLICT(alias) DO UPDATE SET person = excluded.person",
            (name, target),
        )
        old = conn.execute("SELECT opt_out FROM people WHERE name = ?", (name,)).fetchone()
        if old is not None:
            if old[0]:
                _write_opt_out(conn, target, True)
            conn.execute("DELETE FROM people WHERE name = ?", (name,))
    return {"alias": name, "person": target, "tasks": int(moved), "aliases": int(repointed)}


def remove_alias(conn: sqlite3.Connection, name: str) -> str:
    """Forget an alias (tasks already moved stay with the person). Returns the
    person it pointed at."""
    with transaction(conn):
        row = conn.execute("SELECT person FROM aliases WHERE alias = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"{name!r} is not an alias (see 'calibrate alias')")
        conn.execute("DELETE FROM aliases WHERE alias = ?", (name,))
    return row[0]


def list_aliases(conn: sqlite3.Connection) -> list[dict]:
    return [
        {"alias": alias, "person": person}
        for alias, person in conn.execute("SELECT alias, person FROM aliases ORDER BY alias")
    ]


def _write_opt_out(conn: sqlite3.Connection, person: str, opt_out: bool) -> None:
    conn.execute(
        "INSERT INTO people (name, opt_out) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET opt_out = excluded.opt_out",
        (person, int(opt_out)),
    )


def set_opt_out(conn: sqlite3.Connection, name: str, opt_out: bool) -> str:
    """Opt a person out of ranks (or back in). Returns their canonical name."""
    with transaction(conn):
        person = require_person(conn, name)
        _write_opt_out(conn, person, opt_out)
    return person


def person_task_count(conn: sqlite3.Connection, name: str) -> tuple[str, int]:
    """(canonical name, number of tasks) of a person who is here."""
    person = require_person(conn, name)
    count = conn.execute("SELECT count(*) FROM tasks WHERE person = ?", (person,)).fetchone()[0]
    return person, int(count)


def delete_person(conn: sqlite3.Connection, name: str) -> dict:
    """Delete every task of a person (with their timers and re-estimates) and
    the weeks imported summaries hold for them, in one transaction. Their
    aliases and opt-out stay: they are wishes about the name, not work.
    Returns ``person``, ``tasks`` and ``summary_weeks`` deleted."""
    with transaction(conn):
        person = require_person(conn, name)
        tasks = conn.execute("DELETE FROM tasks WHERE person = ?", (person,)).rowcount
        names = [person, *[a for a, p in alias_map(conn).items() if p == person]]
        marks = ",".join("?" * len(names))
        weeks = conn.execute(
            f"DELETE FROM summary_weeks WHERE person IN ({marks})",  # noqa: S608 (marks only)
            names,
        ).rowcount
        conn.execute(
            f"DELETE FROM summary_people WHERE person IN ({marks})",  # noqa: S608 (marks only)
            names,
        )
    return {"person": person, "tasks": int(tasks), "summary_weeks": int(weeks)}


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
    if conn.execute("SELECT 1 FROM tasks WHERE person = ? LIMIT 1", (name,)).fetchone():
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
