"""The data of a report: one read of the tasks, and what every section reads.

:func:`load` reads the tasks ONCE (:func:`load_tasks`: one query, in id order,
only the columns the sections use, and a bit per rule SQL decides: counted,
has a promise, scope, window, previous window, promise window...) and
derives a :class:`ReportData` from those arrays with the library's own "from
arrays" functions: the headline is :func:`panel.assemble_panel` fed as
:func:`panel.build_panel` feeds it, so it equals ``calibrate score --json``
for the same scope and window; the previous window's panel gives the change
since the previous period; the counted tasks (with person and team) feed the
charts; the ranks (:func:`weeks.task_frames`) and, for all history, the
forecast's evidence (:func:`advice.past_from_columns`) come from the same
rows.

Every rule of METRICS.md the read applies (what counts, what carries a
promise, when a promise is judged) is the SQL form :mod:`calibrate.rules`
builds, the very clause the single-purpose loaders (:mod:`calibrate.store.load`)
filter with, so every figure equals theirs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import numpy as np
import pandas as pd

from calibrate import durations, panel, rules, teams, weeks
from calibrate import panel_summaries as summed
from calibrate.durations import local_midnight_utc, local_today, week_start
from calibrate.errors import DatabaseError, NotFound, StateError
from calibrate.panel import ScorePanel
from calibrate.selection import Selection
from calibrate.stats.promises import promise_outcomes
from calibrate.store import ledgers, people, settings
from calibrate.store import load as history
from calibrate.store.fetch import fetch_columns
from calibrate.store.tasks import STATUSES, canonical_person


@dataclass
class ReportData:
    """Everything the sections read. ``panel`` is :func:`panel.build_panel`'s
    dict for the scope and window, ``previous`` the same for the window of the
    same length just before (``None`` for all history), ``tasks`` the counted
    tasks of the window (estimate, actual, person, team, and the ``week`` of
    the local done date), ``values`` the settings, ``rows`` what
    :func:`load_tasks` read. ``conn`` is for the few small look-ups only one
    section makes (a person's worst estimates, the open tasks)."""

    conn: sqlite3.Connection
    selection: Selection
    today: date
    panel: ScorePanel
    previous: ScorePanel | None
    previous_selection: Selection | None
    tasks: pd.DataFrame
    values: dict
    #: Everyone's tasks as :func:`load_tasks` read them, for what a section derives itself.
    rows: Loaded
    #: The scope's promises with their outcomes, person and team (:func:`promise_frame`).
    promises: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Real name -> pseudonym when the report is anonymised (:mod:`calibrate.report.anonymise`).
    pseudonyms: dict | None = None
    #: First and last done date, for a window of all history (:func:`done_span`).
    done_span: tuple[date, date] | None = None
    #: What imported team summaries add to the scope (law 6): ``None`` for nothing.
    part: teams.Part | None = None
    #: People who opted out, left out of a team's or everyone's report (it is
    #: shown to others): their tasks count nowhere in it (:func:`hide_opted_out`).
    hidden: frozenset[str] = frozenset()

    @property
    def scope(self) -> str:
        return self.panel["scope"]

    def rank_frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Everyone's counted tasks and promises of the window as
        :func:`weeks.load_tasks` gives them, from the loaded rows."""
        rows = self.rows
        everyone = rows.mask("everyone")
        return weeks.task_frames(
            rows.take(everyone, history.FRAME_COLUMNS),
            self.selection.replace(person=None, team=None, everyone=True),
            today=self.today,
            values=self.values,
            parsed=(rows.done_stamps[everyone], rows.done_date[everyone], rows.due_date[everyone]),
        )

    def forecast_history(self):
        """Every counted task as :func:`advice.load_past` gives it, from
        the loaded rows when they hold all history (``None`` otherwise: the
        forecast then reads its cache or the database)."""
        from calibrate import advice

        rows = self.rows
        if not rows.all_history:
            return None
        counted = rows.counted
        epoch = history.epoch_seconds(rows.done_stamps)
        return advice.past_from_columns(
            np.flatnonzero(counted),
            rows.columns["estimate_h"][counted],  # in id order
            rows.columns["actual_h"][counted],
            epoch[counted],
            rows.columns["person"][counted],
            rows.columns["team"][counted],
        )

    def week_span(self) -> tuple[int, int] | None:
        """First and last week number (:func:`durations.week_index`) of the window,
        as the trend counts them; ``None`` when there is nothing to count."""
        weeks = self.panel["trend"]["weeks"]
        if not weeks:
            return None
        return week_number(weeks[0]), week_number(weeks[-1])


def week_number(row: Mapping) -> int:
    """The week number (:func:`durations.week_index`) of a row of the panel's trend."""
    return int(durations.week_index([np.datetime64(row["start"], "D")])[0])


# --- the one read ---------------------------------------------------------------------

#: The columns every section together needs, read once (``status`` as its
#: index in ``tasks.STATUSES``: a small int costs far less than a string).
LOADED_COLUMNS = (
    "person",
    "team",
    "estimate_h",
    "actual_h",
    "low_h",
    "high_h",
    "confidence",
    "status",
    "promise_h",
    "due",
    "done_at",
    "created_at",
)


@dataclass
class Loaded:
    """Everyone's tasks that any section needs, read by :func:`load_tasks` in
    one query, in id order, with the done times parsed once.

    ``rules`` holds a mask per named rule (``counted``, ``has_promise``: the
    METRICS.md rules; ``scope``, ``reference``, ``everyone``: who; ``status``:
    the selection's status filter, which only the counted tasks obey, as in
    :mod:`calibrate.store.load`; ``window``, ``previous``: done (or active,
    with ``window_on``) in the window or the previous one; ``promise``: a
    promise's outcome may fall in the window; ``created``: logged in the
    window). SQLite works each out with the very clause the single-purpose
    loaders filter with, so every figure equals theirs; a rule left out holds
    for every row. ``all_history``: no row was left out (the window is all
    history)."""

    columns: dict[str, np.ndarray]
    rules: dict[str, np.ndarray]
    done_stamps: pd.Series
    done_date: np.ndarray
    due_date: np.ndarray
    all_history: bool

    def __len__(self) -> int:
        return len(self.columns["status"])

    def mask(self, *names: str) -> np.ndarray:
        """Rows that meet every named rule."""
        out = np.ones(len(self), dtype=bool)
        for name in names:
            if name in self.rules:
                out &= self.rules[name]
        return out

    @cached_property
    def status(self) -> np.ndarray:
        return np.asarray(STATUSES, dtype=object)[self.columns["status"].astype(np.int64)]

    @property
    def counted(self) -> np.ndarray:
        """:func:`rules.counted_sql` per row: E > 0, A > 0, not dropped."""
        return self.mask("counted")

    @property
    def has_promise(self) -> np.ndarray:
        """:func:`rules.has_promise_sql` per row."""
        return self.mask("has_promise")

    def take(self, rows: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
        return {name: self.columns[name][rows] for name in names}


def _rule_sql(selection: Selection) -> tuple[str | None, list]:
    where, params = selection.where()
    return None if where == "1" else where, params


def task_rules(
    selection: Selection, previous: Selection | None, reference: Selection | None
) -> dict[str, tuple[str, list]]:
    """Each rule of :class:`Loaded` as SQL (clause, parameters), from
    :mod:`calibrate.rules` and the selections the sections would otherwise
    query one by one; rules that hold for every row are left out."""
    unwindowed = {"since": None, "until": None, "status": "any"}
    everyone = selection.replace(person=None, team=None, everyone=True)
    on = selection.window_on
    clauses = {
        "counted": (rules.counted_sql(), []),
        "has_promise": (rules.has_promise_sql(), []),
        "scope": _rule_sql(selection.replace(**unwindowed)),
        "status": _rule_sql(Selection(status=selection.status)),  # counted tasks only
        "everyone": _rule_sql(everyone.replace(**unwindowed)),
        "reference": (_rule_sql(reference.replace(**unwindowed)) if reference else (None, [])),
        "window": _rule_sql(Selection(since=selection.since, until=selection.until, window_on=on)),
        "previous": (
            _rule_sql(Selection(since=previous.since, until=previous.until, window_on=on))
            if previous
            else (None, [])
        ),
    }
    start, end = history.window_start(selection), history.window_end(selection)
    promise, promise_params = rules.promise_window(
        selection.since,
        selection.until,
        start.isoformat() if start else None,
        end.isoformat() if end else None,
    )
    created, created_params = [], []
    if selection.since is not None:  # as history.logged_counts windows them
        created.append("created_at >= ?")
        created_params.append(selection.since)
    if selection.until is not None:
        created.append("created_at < ?")
        created_params.append(selection.until)
    clauses["promise"] = (" AND ".join(promise) or None, promise_params)
    clauses["created"] = (" AND ".join(created) or None, created_params)
    return {
        name: (clause, params) for name, (clause, params) in clauses.items() if clause is not None
    }


def load_tasks(
    conn: sqlite3.Connection,
    selection: Selection,
    previous: Selection | None = None,
    reference: Selection | None = None,
) -> Loaded:
    """The one read of the tasks table behind a report: everyone's tasks (the
    ranks and the reference need them all) that are done in the window or the
    previous one, have a promise whose outcome may fall in the window, or
    were logged in it; for all history, every task (the forecast's evidence
    too). Only :data:`LOADED_COLUMNS` come back, and one integer holding a
    bit per rule (one column, not one per rule: a column costs a Python
    object a row)."""
    clauses = task_rules(selection, previous, reference)
    names = [*LOADED_COLUMNS, "rules"]
    selected = [history.STATUS_CODE_SQL if name == "status" else name for name in LOADED_COLUMNS]
    selected.append(
        " | ".join(
            f"((coalesce(({clause}), 0) != 0) << {bit})"
            for bit, (clause, _) in enumerate(clauses.values())
        )
    )
    params = [value for _, rule_params in clauses.values() for value in rule_params]
    all_history = selection.since is None and selection.until is None
    where = "1"
    if not all_history:
        wanted = [name for name in ("window", "previous", "promise", "created") if name in clauses]
        everyone_clause, everyone_params = clauses.get("everyone", ("1", []))
        where = (
            f"({everyone_clause}) AND (" + " OR ".join(f"({clauses[n][0]})" for n in wanted) + ")"
        )
        params += everyone_params + [value for n in wanted for value in clauses[n][1]]
    sql = f"SELECT {', '.join(selected)} FROM tasks WHERE {where} ORDER BY id"  # noqa: S608
    columns = fetch_columns(conn, sql, params, names)
    columns["person"] = history.canonical_people(conn, columns["person"])  # aliases (law 7)
    bits = columns.pop("rules").astype(np.int64)
    flags = {name: ((bits >> bit) & 1) != 0 for bit, name in enumerate(clauses)}
    return Loaded(
        columns, flags, *history.parse_dates(columns["done_at"], columns["due"]), all_history
    )


# --- the report's data ------------------------------------------------------------------


def load(
    conn: sqlite3.Connection | None,
    selection: Selection,
    *,
    today: date | None = None,
    viewer: str | None = None,
) -> ReportData:
    """The data of a report, from one read of the tasks (:func:`load_tasks`).
    Raises :class:`NotFound` when the scope has no task at all (a mistyped
    name should not give an empty report), and :class:`StateError` for the
    report of a person who opted out, made by anyone but them (``viewer``:
    who is typing; ``None``, nobody in particular)."""
    today = today or local_today()
    if conn is not None:
        selection = history.resolve_person(conn, selection)
        check_viewer(conn, selection, viewer)
    if conn is None or not (
        history.has_tasks(conn, selection) or teams.summary_part(conn, selection) is not None
    ):
        raise NotFound(f"no tasks for {_scope_words(selection)} in this database{_hint(selection)}")
    values = settings.read_all(conn)
    previous_selection = previous_window(selection, today)
    reference, reference_label = history.reference_for(conn, selection)
    rows = load_tasks(conn, selection, previous_selection, reference)
    hidden = hide_opted_out(conn, selection, rows)
    counted = rows.counted & rows.mask("scope", "status", "window")
    promises = promise_frame(rows, today, values)
    prior_stats, prior_keep = None, None
    if reference:
        prior_stats, prior_keep = summed.fold_group(
            history.counted_stats(conn, reference),
            panel.keep_counts(promises[promises["in_reference"]]),
            teams.summary_part(conn, reference),
        )
    part = teams.summary_part(conn, selection)
    headline = panel.assemble_panel(
        selection,
        today=today,
        tasks=history.counted_frame(
            rows.take(counted, [*history.COUNTED_COLUMNS, *history.PEOPLE_COLUMNS]),
            rows.done_date[counted],
        ),
        prior_label=reference_label,
        prior_team=reference.team if reference else None,
        prior_stats=prior_stats,
        outcomes=promises[promises["in_scope"]],
        prior_keep=prior_keep,
        logged=int(rows.mask("scope", "created").sum()),
        promised=int((rows.mask("scope", "created") & rows.has_promise).sum()),
        bands={key: values[key] for key in rules.DEFAULT_BANDS},
        part=part,
        graded=ledgers.graded_advice(conn, *selection.where("t")),
    )
    previous = None
    if previous_selection is not None:
        before = rows.counted & rows.mask("scope", "status", "previous")
        previous = previous_panel(
            conn,
            previous_selection,
            today,
            rows.columns["estimate_h"][before],
            rows.columns["actual_h"][before],
            people=(rows.columns["person"][before], rows.columns["team"][before]),
        )
    return ReportData(
        conn=conn,
        selection=selection,
        today=today,
        panel=headline,
        previous=previous,
        previous_selection=previous_selection,
        tasks=pd.DataFrame(rows.take(counted, ["estimate_h", "actual_h", "person", "team"])).assign(
            week=durations.week_index(rows.done_date[counted])
        ),
        values=values,
        rows=rows,
        promises=promises[promises["in_scope"]]
        .drop(columns=["in_scope", "in_reference"])
        .reset_index(drop=True),
        done_span=done_span(rows, counted) if selection.since is None else None,
        part=part,
        hidden=hidden,
    )


def check_viewer(conn: sqlite3.Connection, selection: Selection, viewer: str | None) -> None:
    """A person who opted out gets their own report; anyone else asking for it
    is refused. (Anyone can type ``--person``: this prevents showing a
    person's report by accident, not a determined colleague.)"""
    person = selection.person
    if person is None or person not in people.opted_out(conn):
        return
    if viewer is not None and canonical_person(conn, viewer) == person:
        return
    raise StateError(
        f"{person} opted out of ranks and reports others see: only {person} can make "
        f"{person}'s report"
    )


def hide_opted_out(conn: sqlite3.Connection, selection: Selection, rows: Loaded) -> frozenset[str]:
    """For a team's or everyone's report (shown to others): the people who
    opted out, whose tasks leave the report's scope (every figure, table,
    trace and hover text is then without them); nobody for a person's own."""
    if selection.person is not None:
        return frozenset()
    opted = people.opted_out(conn)
    if not opted:
        return frozenset()
    persons = rows.columns["person"]
    mine = np.fromiter((person in opted for person in persons), dtype=bool, count=len(persons))
    scope = rows.mask("scope")
    found = frozenset(str(person) for person in persons[mine & scope])
    rows.rules["scope"] = scope & ~mine
    return found


def previous_window(selection: Selection, today: date) -> Selection | None:
    """The window of the same length just before ``selection``'s, for "the
    change since the previous period"; ``None`` for all history."""
    start = history.window_start(selection)
    if start is None:
        return None
    end = history.window_end(selection) or week_start(today) + timedelta(weeks=1)
    length = max((end - start).days // 7, 1)
    previous_start = start - timedelta(weeks=length)
    return selection.replace(since=local_midnight_utc(previous_start), until=selection.since)


def previous_panel(
    conn: sqlite3.Connection,
    selection: Selection,
    today: date,
    estimate_h: np.ndarray | None = None,
    actual_h: np.ndarray | None = None,
    people: tuple[np.ndarray, np.ndarray] | None = None,
) -> ScorePanel:
    """The point figures of the previous period (n, score and interval, bias,
    typical miss) as :func:`panel.build_panel` gives them (to rounding: the
    sums may run in another order), from the estimates and actuals alone
    (loaded here unless given): the headline's "change" line shows nothing
    else. The reference's sums come from SQL, as the panel's do."""
    if estimate_h is None or actual_h is None:
        where, params = selection.where()
        sql = (
            f"SELECT estimate_h, actual_h, person, team FROM "  # noqa: S608
            f"{history.source_for(conn, selection)} WHERE {rules.counted_sql()} AND {where}"
        )
        found = _rows(conn, sql, params)
        pairs = _numbers([row[:2] for row in found]).reshape(-1, 2)
        estimate_h, actual_h = pairs[:, 0], pairs[:, 1]
        people = (
            np.array([row[2] for row in found], dtype=object),
            np.array([row[3] for row in found], dtype=object),
        )
    missing = np.full(len(estimate_h), np.nan)
    tasks = pd.DataFrame(
        {
            "estimate_h": estimate_h,
            "actual_h": actual_h,
            "low_h": missing,
            "high_h": missing,
            "confidence": missing,
            "week": np.full(len(estimate_h), -1, dtype=np.int64),  # no trend needed
        }
    )
    if people is not None:
        tasks["person"], tasks["team"] = people
    reference, label = history.reference_for(conn, selection)
    reference_stats = None
    if reference is not None:
        reference_stats, _ = summed.fold_group(
            history.counted_stats(conn, reference), None, teams.summary_part(conn, reference)
        )
    return panel.assemble_panel(
        selection,
        today=today,
        tasks=tasks,
        prior_label=label,
        prior_team=reference.team if reference is not None else None,
        prior_stats=reference_stats,
        part=teams.summary_part(conn, selection),
    )


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence) -> list[tuple]:
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: no Row objects for a million rows
    try:
        return cursor.execute(sql, list(params)).fetchall()
    finally:
        cursor.close()


def _numbers(values) -> np.ndarray:
    try:
        return np.array(values, dtype=float)
    except (TypeError, ValueError):
        raise DatabaseError(
            "a task's estimate or actual is not a number in the database; fix it with "
            "'calibrate edit' or re-import the file"
        ) from None


def done_span(rows: Loaded, counted: np.ndarray) -> tuple[date, date] | None:
    """The local dates of the first and last of the ``counted`` rows (by the
    stored text, as SQL's min and max)."""
    texts = rows.columns["done_at"][counted]
    texts = texts[pd.notna(texts)]
    if not texts.size:
        return None
    days = history.local_dates([min(texts), max(texts)])
    if np.isnat(days).any():
        return None
    return pd.Timestamp(days[0]).date(), pd.Timestamp(days[1]).date()


def promise_frame(rows: Loaded, today: date, values: Mapping) -> pd.DataFrame:
    """The loaded promises whose outcome may fall in the window (the rows of
    :func:`history.promise_tasks`; a test holds them equal), with their
    outcome (:func:`promises.promise_outcomes`: ``resolved``, ``kept``,
    ``exceeded``, ...), ``outcome_week`` (the week it was known: the done
    date; for an open promise past due, the day after the due date),
    ``person``, ``team``, and whether each is in the report's scope and in
    its reference (``in_scope``, ``in_reference``): outcomes worked out once
    for the headline, the reference and the keep rates per person or team."""
    whose = rows.mask("scope") | rows.mask("reference")
    promised = rows.has_promise & rows.mask("promise") & whose
    done = rows.done_date[promised]
    due = rows.due_date[promised]
    outcomes = promise_outcomes(
        status=rows.status[promised],
        promise_h=rows.columns["promise_h"][promised],
        due=due,
        done_date=done,
        actual_h=rows.columns["actual_h"][promised],
        today=today,
        **settings.calendar(values),
    )
    known = np.where(np.isnat(done), due + np.timedelta64(1, "D"), done)
    outcomes["outcome_week"] = durations.week_index(known)
    outcomes["person"] = rows.columns["person"][promised]
    outcomes["team"] = rows.columns["team"][promised]
    outcomes["in_scope"] = rows.mask("scope")[promised]
    outcomes["in_reference"] = rows.mask("reference")[promised]
    return outcomes


def _scope_words(selection: Selection) -> str:
    if selection.person is not None:
        return repr(selection.person)
    if selection.team is not None:
        return f"team {selection.team!r}"
    return "anyone"


def _hint(selection: Selection) -> str:
    if selection.person is not None or selection.team is not None:
        return " (see 'calibrate people'; --everyone covers all)"
    return " (log one with 'calibrate add', or try 'calibrate demo')"
