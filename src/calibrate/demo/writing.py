"""The demo into a database: rows in batches inside one transaction
(:func:`generate`), and the demo's own file, built beside the old one and
moved over it (:func:`build_demo_database`)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from calibrate import files, store
from calibrate.demo.numbers import (
    WORKDAY_H,
    TaskColumns,
    clock_to_date,
    clock_to_iso,
    person_tasks,
    working_clock,
)
from calibrate.demo.people import EXTRA_TAGS, OBJECTS, VERBS, DemoPerson, make_people
from calibrate.durations import utc_now, week_start
from calibrate.errors import InputError, StateError, UsageError
from calibrate.store import similar
from calibrate.store.fields import STORED

SOURCE = "demo"
DEFAULT_PEOPLE = 12
DEFAULT_WEEKS = 52
DEFAULT_TASKS_PER_WEEK = 5.0
PEOPLE_PER_TEAM = 4
#: Tasks generated before a chunk of rows is written (bounds memory).
CHUNK_TASKS = 60_000
#: The most tasks a demo holds (finished and open, all people): memory and time
#: grow with it (a million tasks take about a minute and well under 1 GB).
MAX_TASKS = 10_000_000
INSERT_BATCH = 20_000
#: Above this many tasks, indexes are rebuilt after the insert rather than kept up.
REBUILD_INDEXES_OVER = 200_000

# --- into the database ----------------------------------------------------------

#: The columns each row binds: what a task carries but its source and notes.
#: ``updated_at`` and ``source`` are filled in by the statement itself (fewer
#: values to bind is most of the speed of a big insert); demo tasks have no notes.
TASK_COLUMNS = tuple(name for name in STORED if name not in ("source", "notes"))
_P = {name: f"?{number}" for number, name in enumerate(TASK_COLUMNS, start=1)}
INSERT_TASK = (
    f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}, updated_at, source) "  # noqa: S608 (fixed names)
    f"VALUES ({', '.join(_P.values())}, "
    f"coalesce({_P['done_at']}, {_P['started_at']}, {_P['created_at']}), '{SOURCE}')"
)
INSERT_INTERVAL = (
    "INSERT INTO intervals (task_id, started_at, stopped_at) "
    "SELECT id, ?, ? FROM tasks WHERE uid = ?"
)

#: Every title (verb x subject) and tag list, made once and picked by index.
TITLES = np.array([f"{verb} {subject}" for verb, *_ in VERBS for subject in OBJECTS], dtype=object)
TAG_LISTS = np.array(
    [
        json.dumps([tag] if extra < 0 else [tag, EXTRA_TAGS[extra]])
        for _, tag, *_ in VERBS
        for extra in range(-1, len(EXTRA_TAGS))
    ],
    dtype=object,
)


def _nullable(values: np.ndarray) -> list:
    """A float array as a list with ``None`` for NaN (SQL NULL)."""
    listed = values.tolist()
    return [None if v != v else v for v in listed] if np.isnan(values).any() else listed


def _iso_or_none(clock_h: np.ndarray, to_text: Callable[[np.ndarray], np.ndarray]) -> list:
    known = ~np.isnan(clock_h)
    out = np.full(clock_h.size, None, dtype=object)
    if known.any():
        out[known] = to_text(clock_h[known])
    return out.tolist()


def _rows(batch: list[TaskColumns], seed: int, first_index: int) -> tuple[list, list]:
    """Task rows (in the order they were logged) and timer intervals for a chunk."""
    cat = {
        name: np.concatenate([getattr(cols, name) for cols in batch])
        for name in TaskColumns.__dataclass_fields__
        if name != "person"
    }
    owner = np.concatenate([np.full(cols.estimate_h.size, k) for k, cols in enumerate(batch)])
    order = np.argsort(cat["created_h"], kind="stable")
    cat = {name: values[order] for name, values in cat.items()}
    owner = owner[order]
    size = owner.size
    names = np.array([cols.person.name for cols in batch], dtype=object)[owner]
    teams = np.array([cols.person.team for cols in batch], dtype=object)[owner]
    project_table = [cols.person.projects for cols in batch]
    projects = [
        project_table[k][p] for k, p in zip(owner.tolist(), cat["project"].tolist(), strict=True)
    ]
    uids = [f"demo:{seed}:{i:07d}" for i in range(first_index, first_index + size)]
    titles = TITLES[cat["verb"] * len(OBJECTS) + cat["subject"]]
    tags = TAG_LISTS[cat["verb"] * (len(EXTRA_TAGS) + 1) + cat["extra_tag"] + 1]
    created_at = clock_to_iso(cat["created_h"]).tolist()
    started_at = _iso_or_none(cat["started_h"], clock_to_iso)
    done_at = _iso_or_none(cat["done_h"], clock_to_iso)
    columns = {
        "uid": uids,
        "title": titles.tolist(),
        "person": names.tolist(),
        "team": teams.tolist(),
        "project": projects,
        "estimate_h": cat["estimate_h"].tolist(),
        "low_h": _nullable(cat["low_h"]),
        "high_h": _nullable(cat["high_h"]),
        "confidence": _nullable(cat["confidence"]),
        "promise_h": _nullable(cat["promise_h"]),
        "due": _iso_or_none(cat["due_h"], clock_to_date),
        "status": cat["status"].tolist(),
        "actual_h": _nullable(cat["actual_h"]),
        "created_at": created_at,
        "started_at": started_at,
        "done_at": done_at,
        "tags": tags.tolist(),
    }
    rows = list(zip(*(columns[name] for name in TASK_COLUMNS), strict=True))
    intervals = []
    for i in np.flatnonzero(~np.isnan(cat["interval_h"])).tolist():
        start = datetime.fromisoformat(started_at[i].replace("Z", "+00:00"))
        stop = start.timestamp() + round(cat["interval_h"][i] * 60) * 60
        stopped_at = datetime.fromtimestamp(stop, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        intervals.append((started_at[i], stopped_at, uids[i]))
    return rows, intervals


@contextlib.contextmanager
def _indexes_rebuilt(conn: sqlite3.Connection, *, large: bool) -> Iterator[None]:
    """For a large generation, drop the tasks table's plain indexes and build
    them again at the end (inside the caller's transaction): building an index
    once, sorted, is twice as fast as keeping it up to date row by row. The
    definitions are read back from the schema, so migrations stay in charge."""
    if not large:
        yield
        return
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        conn.execute(sql)


def _chunks(
    cast: list[DemoPerson], *, chunk_people: int, seed: int, tally: Counter[str], **draw
) -> Iterator[tuple[list, list, int]]:
    """Rows and timer intervals a chunk of people at a time, counting what was
    made into ``tally``; yields (task rows, intervals, people done so far)."""
    written = 0
    for start in range(0, len(cast), chunk_people):
        batch = [
            person_tasks(person, seed=seed, **draw) for person in cast[start : start + chunk_people]
        ]
        for cols in batch:
            for status, count in zip(*np.unique(cols.status, return_counts=True), strict=True):
                tally[str(status)] += int(count)
            tally["with_range"] += int(np.count_nonzero(~np.isnan(cols.low_h)))
            tally["with_promise"] += int(
                np.count_nonzero(~np.isnan(cols.promise_h) | ~np.isnan(cols.due_h))
            )
        rows, intervals = _rows(batch, seed, written)
        written += len(rows)
        tally["tasks"] = written
        yield rows, intervals, min(start + chunk_people, len(cast))


def _end_moment(today: date | None) -> datetime:
    """Now (to the minute) when ``today`` is not given, else 17:00 UTC that day."""
    if today is None:
        return utc_now().replace(second=0, microsecond=0)
    return datetime.combine(today, time(17, 0), tzinfo=UTC)


def _check(people: int, teams: int | None, weeks: int, tasks_per_week, tasks, open_tasks) -> int:
    if people < 1:
        raise InputError(f"people must be at least 1, not {people}")
    if weeks < 1:
        raise InputError(f"weeks must be at least 1, not {weeks}")
    teams = max(1, round(people / PEOPLE_PER_TEAM)) if teams is None else teams
    if not 1 <= teams <= people:
        raise InputError(
            f"teams must be between 1 and the number of people ({people}), not {teams}"
        )
    if tasks_per_week is not None and tasks is not None:
        raise InputError("give tasks_per_week or tasks, not both")
    if tasks_per_week is not None and not tasks_per_week > 0:
        raise InputError(f"tasks_per_week must be more than zero, not {tasks_per_week}")
    if tasks is not None and not tasks > 0:
        raise InputError(f"tasks must be more than zero, not {tasks}")
    if open_tasks < 0:
        raise InputError(f"open_tasks_per_person cannot be negative ({open_tasks})")
    if tasks is None:
        per_week = DEFAULT_TASKS_PER_WEEK if tasks_per_week is None else tasks_per_week
        tasks = people * (per_week * weeks + open_tasks)
    if tasks > MAX_TASKS:
        raise UsageError(
            f"a demo holds at most {MAX_TASKS:,} tasks, not {tasks:,.0f}: "
            "give fewer --tasks, --people or --weeks"
        )
    return teams


def generate(
    conn: sqlite3.Connection,
    *,
    people: int = DEFAULT_PEOPLE,
    teams: int | None = None,
    weeks: int = DEFAULT_WEEKS,
    seed: int = 0,
    tasks_per_week: float | None = None,
    tasks: int | None = None,
    today: date | None = None,
    open_tasks_per_person: int = 3,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Fill ``conn`` with a synthetic history and return what was made (counts).

    ``people`` in ``teams`` (default: about four a team) finish about
    ``tasks_per_week`` tasks each a week (default 5) over ``weeks`` weeks ending
    ``today`` (default: now); ``tasks`` asks for an approximate total instead.
    Each person also has ``open_tasks_per_person`` open tasks (the first one
    started, with time on its timer). The same arguments give the same rows.
    Everything lands in one transaction, or nothing does. ``progress`` is
    called with the number of people done after each chunk.
    """
    teams = _check(people, teams, weeks, tasks_per_week, tasks, open_tasks_per_person)
    first = conn.execute(
        "SELECT 1 FROM tasks WHERE uid >= ? AND uid < ? LIMIT 1",
        (f"demo:{seed}:", f"demo:{seed};"),
    ).fetchone()
    if first:
        raise StateError(f"this database already holds the demo data of seed {seed}")
    end = _end_moment(today)
    end_h = working_clock(end) - 1 / 60
    # The window is whole ISO weeks (METRICS.md): this week so far and the ones
    # before it, starting on a Monday; at least one working day.
    first_monday = week_start(end.date()) - timedelta(weeks=weeks - 1)
    first_monday_h = working_clock(datetime.combine(first_monday, time(0, 0), tzinfo=UTC))
    start_h = min(first_monday_h, end_h - WORKDAY_H)
    span_weeks = (end_h - start_h) / (5 * WORKDAY_H)
    cast = make_people(people, teams, weeks, seed)
    if tasks is not None:
        exposure = sum(p.activity * min(p.active_weeks, span_weeks) for p in cast)
        tasks_per_week = max(tasks - people * open_tasks_per_person, 1) / exposure
    elif tasks_per_week is None:
        tasks_per_week = DEFAULT_TASKS_PER_WEEK
    per_person = tasks_per_week * weeks + open_tasks_per_person
    chunk_people = max(1, int(CHUNK_TASKS // max(per_person, 1)))
    tally: Counter[str] = Counter()
    chunks = _chunks(
        cast,
        chunk_people=chunk_people,
        seed=seed,
        tally=tally,
        tasks_per_week=tasks_per_week,
        start_h=start_h,
        end_h=end_h,
        open_tasks=open_tasks_per_person,
    )
    large = per_person * people > REBUILD_INDEXES_OVER
    with store.transaction(conn), _indexes_rebuilt(conn, large=large):
        for rows, intervals, people_done in chunks:
            for offset in range(0, len(rows), INSERT_BATCH):
                conn.executemany(INSERT_TASK, rows[offset : offset + INSERT_BATCH])
            conn.executemany(INSERT_INTERVAL, intervals)
            if progress is not None:
                progress(people_done)
        if similar.available(conn):  # the index of similar tasks, built once for all the rows
            similar.rebuild(conn)
        else:
            similar.mark_stale(conn)
    first_day = clock_to_date(np.array([start_h]))[0]
    return {
        "tasks": tally["tasks"],
        **{status: tally[status] for status in ("done", "dropped", "open", "started")},
        "people": people,
        "teams": teams,
        "weeks": weeks,
        "seed": seed,
        "first_day": str(first_day),
        "last_day": end.date().isoformat(),
        "with_range": tally["with_range"],
        "with_promise": tally["with_promise"],
    }


# --- the demo file ---------------------------------------------------------------


def foreign_content(path: Path) -> str | None:
    """Why the file at ``path`` must not be replaced by a demo, or ``None`` when
    it may be: it does not exist, is empty, or holds demo data only."""
    if not path.exists():
        return None
    if path.is_dir():
        return "is a directory"
    if path.stat().st_size == 0:
        return None
    with open(path, "rb") as handle:
        if not handle.read(16).startswith(b"SQLite format 3"):
            return "is not a calibrate database"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not tables:
                return None
            if "tasks" not in tables:
                return "is another program's database"
            others = conn.execute(
                "SELECT count(*) FROM tasks WHERE source IS NOT ?", (SOURCE,)
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        return f"cannot be read as a database ({error})"
    if others:
        return f"holds {others:,} task{'s that are' if others != 1 else ' that is'} not demo data"
    return None


def build_demo_database(path: Path, *, force: bool = False, **generate_args) -> dict:
    """Build a fresh demo database at ``path`` and return :func:`generate`'s counts.

    An earlier demo file there is replaced; a file holding anything else is
    refused (unless ``force``), so a demo never lands in someone's real data.
    The new file is built beside the old one and moved over it at the end
    (:func:`files.atomic_path`): a failure half-way leaves the old file as it was.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory: give a file path for the demo database")
    with contextlib.suppress(OSError):  # reports/ for reports/demo.db
        path.parent.mkdir(parents=True, exist_ok=True)
    target = files.output_target(path)
    if target.stream:
        raise InputError(f"{path} is not a regular file: give a file path for the demo database")
    path = Path(target.path)  # a symlink: the file it names is replaced
    reason = foreign_content(path)
    if reason and not force:
        raise StateError(
            f"{path} {reason}; the demo will not replace it "
            "(give another --db, or --force to replace the file)"
        )
    with files.atomic_path(path, tag="building") as building:
        try:
            _remove_database_files(Path(building))
            conn = store.connect(building)
            try:
                made = generate(conn, **generate_args)
            finally:
                conn.close()
            _remove_database_files(path, keep_main=True)
        finally:
            _remove_database_files(Path(building), keep_main=True)
    return made


def _remove_database_files(path: Path, *, keep_main: bool = False) -> None:
    """Remove a database file's journal companions (and the file itself)."""
    suffixes = ("-wal", "-shm", "-journal") if keep_main else ("", "-wal", "-shm", "-journal")
    for suffix in suffixes:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
