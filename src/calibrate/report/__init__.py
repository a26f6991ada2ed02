"""The weekly HTML report: data, then figures, then one self-contained HTML file.

``calibrate report`` is what a developer opens once a week and a team lead puts
on a screen in a retrospective, so every chart carries a title, axis labels with
units and one sentence saying how to read it, and every section without data
says so in one line instead of drawing an empty chart.

How it is built:

1. :func:`load` reads the tasks ONCE (:func:`load_tasks`: one query, in id
   order, only the columns the sections use, with a 0/1 column per rule SQL
   decides: scope, window, previous window, promise window...) and derives a
   :class:`ReportData` from those arrays with the library's own "from arrays"
   functions: the headline is :func:`panel.assemble_panel` fed as
   :func:`panel.build_panel` feeds it, so it equals ``calibrate score --json``
   for the same scope and window; the previous window's panel gives the change
   since the previous period; the counted tasks (with person and team) feed the
   charts; the ranks (:func:`teams.task_frames`) and, for all history, the
   forecast's evidence (:func:`advice.past_from_columns`) come from
   the same rows.
2. Each section is a small function ``(ReportData) -> Section`` listed in
   :data:`SECTIONS`: a title, a sentence on how to read it, and a plotly figure,
   tables, or the empty-state sentence. Adding a section is writing one such
   function and adding it to the list (or passing ``sections=`` to
   :func:`build_report`).
3. :func:`render` fills ``templates/report.html.j2`` (jinja2 with autoescape, so
   every title, name, tag and note from a user or an import is escaped). Figures
   go in as JSON inside ``<script type="application/json">`` (``<``, ``>`` and
   ``&`` escaped, so no text can close the script) and plotly.js is inlined once,
   so the file works offline.
4. :func:`write_report` writes it atomically (a temporary file, then a rename).

The size stays bounded however many tasks a report covers: every chart gets
aggregates (weekly figures, histograms, buckets) or a sample; above
:data:`DENSITY_OVER` tasks the estimate-against-actual chart is a 2-D histogram.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup
from plotly.subplots import make_subplots

from calibrate import __version__, panel, teams
from calibrate.durations import format_duration, local_midnight_utc, local_today, week_start
from calibrate.errors import DatabaseError, InputError, NotFound
from calibrate.rules import (
    BOUND_SLACK,
    DEFAULT_BANDS,
    EXACT_LOG2,
    MIN_SCORE_N,
    MIN_TREND_WEEKS,
    TREND_FADED_BELOW,
    TREND_WINDOW_WEEKS,
    WITHIN_HIGH,
    WITHIN_LOW,
)
from calibrate.selection import Selection
from calibrate.stats import metrics, trends
from calibrate.stats.promises import promise_summary
from calibrate.store import load as history
from calibrate.store import settings
from calibrate.store.tasks import STATUSES

# --- limits that keep the file small ---------------------------------------------

#: Above this many tasks, estimate against actual is drawn as a density (2-D histogram).
DENSITY_OVER = 20_000
#: At most this many points in the scatter, sampled evenly across people.
SCATTER_POINTS_MAX = 5_000
#: People with a colour of their own in the scatter; the rest are "others".
SCATTER_PEOPLE_MAX = 12
#: Bins of the density view: at least this wide (log2) and at most this many a side.
DENSITY_BIN_LOG2 = 0.25
DENSITY_BINS_MAX = 64
#: The distribution of actual / estimate: bins of a quarter doubling, from 1/16x to 16x.
RATIO_BIN_LOG2 = 0.25
RATIO_LIMIT_LOG2 = 4.0
#: Rows of the per-person (or per-team) table; the rest are counted, not listed.
TABLE_ROWS_MAX = 200
#: Rows of the people table under a teams table (everyone's report): each team's
#: own report lists all its people.
PEOPLE_UNDER_TEAMS_MAX = 50
#: How tasks without a team are labelled in the teams table.
NO_TEAM = "(no team)"
#: Worst and best estimates shown for a person.
EXTREMES_N = 5
#: Notes in the worst/best table are cut to this many characters.
NOTE_CHARS = 160
#: Rolling window of the weekly promise figures (the trend's, METRICS.md section 6).
PROMISE_WINDOW_WEEKS = TREND_WINDOW_WEEKS

#: Colours: one calm blue for the scope's own figures, grey for references,
#: green for target bands, a qualitative palette for people.
BLUE = "#2563eb"
BLUE_FADED = "rgba(37, 99, 235, 0.28)"
GREY = "#6b7280"
LIGHT_GREY = "rgba(107, 114, 128, 0.35)"
BAND = "rgba(22, 163, 74, 0.12)"
BAND_LINE = "rgba(22, 163, 74, 0.55)"
RED = "#dc2626"
PEOPLE_COLOURS = (
    "#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2",
    "#db2777", "#65a30d", "#ca8a04", "#4f46e5", "#0d9488", "#b45309", "#475569",
)  # fmt: skip
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

#: Chart options: no plotly logo or mode bar (cleaner on a screen and on paper);
#: hover, zoom by dragging and double-click to reset still work.
PLOTLY_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}


# --- what a section is ------------------------------------------------------------


@dataclass
class Table:
    """A table the template renders (and escapes): ``columns`` are (label,
    kind) pairs, kind ``text`` or ``num`` (right-aligned); each row holds one
    :class:`Cell` or plain string per column."""

    columns: list[tuple[str, str]]
    rows: list[list]
    caption: str | None = None
    note: str | None = None


@dataclass
class Cell:
    """A table cell with an optional second line (``detail``), tags shown as
    chips, and a muted style (``muted``) for figures that rest on little data."""

    text: str
    detail: str | None = None
    tags: Sequence[str] = ()
    muted: bool = False


@dataclass
class Section:
    """One part of the report.

    ``key`` names its anchor (and the chart's element id); ``how_to_read`` is
    the one sentence under the title; ``summary`` says the result in words.
    A section has a ``figure`` (plotly), ``tables``, or both; or, without data,
    ``empty``: the one line shown instead of an empty chart.
    """

    key: str
    title: str
    how_to_read: str
    figure: go.Figure | None = None
    tables: list[Table] = field(default_factory=list)
    summary: str | None = None
    notes: list[str] = field(default_factory=list)
    empty: str | None = None
    height: int = 420


@dataclass
class ReportData:
    """Everything the sections read. ``panel`` is :func:`panel.build_panel`'s
    dict for the scope and window, ``previous`` the same for the window of the
    same length just before (``None`` for all history), ``tasks`` the counted
    tasks of the window (estimate, actual, person, team), ``values`` the
    settings, ``rows`` what :func:`load_tasks` read. ``conn`` is for the few
    small look-ups only one section makes (a person's worst estimates, the
    open tasks)."""

    conn: sqlite3.Connection | None
    selection: Selection
    today: date
    panel: dict
    previous: dict | None
    previous_selection: Selection | None
    tasks: pd.DataFrame
    values: dict
    #: Everyone's tasks as :func:`load_tasks` read them, for what a section derives itself.
    rows: Loaded | None = None
    #: The scope's promises with their outcomes, person and team (:func:`promise_frame`).
    promises: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Real name -> pseudonym when the report is anonymised (report_ranks.anonymise).
    pseudonyms: dict | None = None
    #: First and last done date, for a window of all history (:func:`done_span`).
    done_span: tuple[date, date] | None = None

    @property
    def scope(self) -> str:
        return self.panel["scope"]

    def rank_frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Everyone's counted tasks and promises of the window as
        :func:`teams.load_tasks` gives them, from the loaded rows."""
        rows = self.rows
        everyone = rows.mask("everyone")
        return teams.task_frames(
            rows.take(everyone, teams.FRAME_COLUMNS),
            history.replace(self.selection, person=None, team=None, everyone=True),
            today=self.today, values=self.values,
            parsed=(rows.done_stamps[everyone], rows.done_date[everyone], rows.due_date[everyone]),
        )  # fmt: skip

    def forecast_history(self):
        """Every counted task as :func:`advice.load_past` gives it, from
        the loaded rows when they hold all history (``None`` otherwise: the
        forecast then reads its cache or the database)."""
        from calibrate import advice

        rows = self.rows
        if rows is None or not rows.all_history:
            return None
        counted = rows.counted
        seconds = rows.done_stamps.dt.tz_localize(None).to_numpy().astype("datetime64[s]")
        epoch = np.where(np.isnat(seconds), advice.NO_TIME, seconds.astype(np.int64))
        return advice.past_from_columns(
            np.flatnonzero(counted), rows.columns["estimate_h"][counted],  # in id order
            rows.columns["actual_h"][counted], epoch[counted], rows.columns["person"][counted],
            rows.columns["team"][counted],
        )  # fmt: skip

    def week_span(self) -> tuple[int, int] | None:
        """First and last week number (:func:`trends.week_index`) of the window,
        as the trend counts them; ``None`` when there is nothing to count."""
        weeks = self.panel["trend"]["weeks"]
        if not weeks:
            return None
        return _week_number(weeks[0]), _week_number(weeks[-1])


def _week_number(row: Mapping) -> int:
    return int(trends.week_index([np.datetime64(row["start"], "D")])[0])


# --- loading ----------------------------------------------------------------------


def previous_window(selection: Selection, today: date) -> Selection | None:
    """The window of the same length just before ``selection``'s, for "the
    change since the previous period"; ``None`` for all history."""
    start = history.window_start(selection)
    if start is None:
        return None
    end = history.window_end(selection) or week_start(today) + timedelta(weeks=1)
    length = max((end - start).days // 7, 1)
    previous_start = start - timedelta(weeks=length)
    return history.replace(
        selection, since=local_midnight_utc(previous_start), until=selection.since
    )


def previous_panel(
    conn: sqlite3.Connection,
    selection: Selection,
    today: date,
    estimate_h: np.ndarray | None = None,
    actual_h: np.ndarray | None = None,
) -> dict:
    """The point figures of the previous period (n, score and interval, bias,
    typical miss) as :func:`panel.build_panel` gives them (to rounding: the
    sums may run in another order), from the estimates and actuals alone
    (loaded here unless given): the headline's "change" line shows nothing
    else. The reference's sums come from SQL, as the panel's do."""
    if estimate_h is None or actual_h is None:
        where, params = selection.where()
        sql = (
            f"SELECT estimate_h, actual_h FROM {history._source(conn, selection)} "  # noqa: S608
            f"WHERE {history.COUNTED_SQL} AND {where}"
        )
        pairs = _numbers(_rows(conn, sql, params)).reshape(-1, 2)
        estimate_h, actual_h = pairs[:, 0], pairs[:, 1]
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
    reference, label = history.reference_for(conn, selection)
    reference_stats = history.counted_stats(conn, reference) if reference is not None else None
    return panel.assemble_panel(
        selection,
        today=today,
        tasks=tasks,
        prior_label=label,
        prior_stats=reference_stats,
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


#: The columns every section together needs, read once (``status`` as its
#: index in ``tasks.STATUSES``: a small int costs far less than a string).
LOADED_COLUMNS = (
    "person", "team", "estimate_h", "actual_h", "low_h", "high_h", "confidence",
    "status", "promise_h", "due", "done_at", "created_at",
)  # fmt: skip


@dataclass
class Loaded:
    """Everyone's tasks that any section needs, read by :func:`load_tasks` in
    one query, in id order, with the done times parsed once.

    ``rules`` holds a mask per named rule (``scope``, ``reference``,
    ``everyone``: who; ``status``: the selection's status filter, which only
    the counted tasks obey, as in :mod:`history`; ``window``, ``previous``:
    done (or active, with ``window_on``) in the window or the
    previous one; ``promise``: a promise's outcome may fall in the window;
    ``created``: logged in the window). SQLite works each out with the very
    clause the single-purpose loaders (:mod:`history`) filter with, so every
    figure equals theirs; a rule left out holds for every row.
    ``all_history``: no row was left out (the window is all history)."""

    columns: dict[str, np.ndarray]
    rules: dict[str, np.ndarray]
    done_stamps: pd.Series
    done_date: np.ndarray
    due_date: np.ndarray
    all_history: bool

    def __len__(self) -> int:
        return len(self.columns["status"])

    def mask(self, *rules: str) -> np.ndarray:
        """Rows that meet every named rule."""
        out = np.ones(len(self), dtype=bool)
        for name in rules:
            if name in self.rules:
                out &= self.rules[name]
        return out

    @cached_property
    def status(self) -> np.ndarray:
        return np.asarray(STATUSES, dtype=object)[self.columns["status"].astype(np.int64)]

    @cached_property
    def counted(self) -> np.ndarray:
        """:data:`history.COUNTED_SQL` per row: E > 0, A > 0, not dropped."""
        with np.errstate(invalid="ignore"):
            return (
                (self.columns["estimate_h"] > 0)
                & (self.columns["actual_h"] > 0)
                & (self.status != "dropped")
            )

    @cached_property
    def has_promise(self) -> np.ndarray:
        """:data:`history.HAS_PROMISE_SQL` per row."""
        return np.isfinite(self.columns["promise_h"]) | pd.notna(self.columns["due"])

    def take(self, rows: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
        return {name: self.columns[name][rows] for name in names}


def _rule_sql(selection: Selection) -> tuple[str | None, list]:
    where, params = selection.where()
    return None if where == "1" else where, params


def task_rules(
    selection: Selection, previous: Selection | None, reference: Selection | None
) -> dict[str, tuple[str, list]]:
    """Each rule of :class:`Loaded` as SQL (clause, parameters), from the
    selections the sections would otherwise query one by one; rules that hold
    for every row are left out."""
    unwindowed = {"since": None, "until": None, "status": "any"}
    everyone = history.replace(selection, person=None, team=None, everyone=True)
    on = selection.window_on
    rules = {
        "scope": _rule_sql(history.replace(selection, **unwindowed)),
        "status": _rule_sql(Selection(status=selection.status)),  # counted tasks only
        "everyone": _rule_sql(history.replace(everyone, **unwindowed)),
        "reference": (
            _rule_sql(history.replace(reference, **unwindowed)) if reference else (None, [])
        ),
        "window": _rule_sql(Selection(since=selection.since, until=selection.until, window_on=on)),
        "previous": (
            _rule_sql(Selection(since=previous.since, until=previous.until, window_on=on))
            if previous
            else (None, [])
        ),
    }
    promise, promise_params = [], []
    created, created_params = [], []
    start, end = history.window_start(selection), history.window_end(selection)
    if selection.since is not None:  # as history.promise_tasks and logged_counts window them
        promise.append("(CASE WHEN done_at IS NOT NULL THEN done_at >= ? ELSE due >= ? END)")
        promise_params += [selection.since, start.isoformat()]
        created.append("created_at >= ?")
        created_params.append(selection.since)
    if selection.until is not None:
        promise.append("(CASE WHEN done_at IS NOT NULL THEN done_at < ? ELSE due < ? END)")
        promise_params += [selection.until, end.isoformat()]
        created.append("created_at < ?")
        created_params.append(selection.until)
    rules["promise"] = (" AND ".join(promise) or None, promise_params)
    rules["created"] = (" AND ".join(created) or None, created_params)
    return {name: rule for name, rule in rules.items() if rule[0] is not None}


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
    too). Only :data:`LOADED_COLUMNS` and a 0/1 column per rule come back."""
    rules = task_rules(selection, previous, reference)
    names = [*LOADED_COLUMNS, *rules]
    selected = [teams.STATUS_CODE_SQL if name == "status" else name for name in LOADED_COLUMNS]
    selected += [f"coalesce(({clause}), 0)" for clause, _ in rules.values()]
    params = [value for _, rule_params in rules.values() for value in rule_params]
    all_history = selection.since is None and selection.until is None
    where = "1"
    if not all_history:
        wanted = [name for name in ("window", "previous", "promise", "created") if name in rules]
        everyone_clause, everyone_params = rules.get("everyone", ("1", []))
        where = f"({everyone_clause}) AND (" + " OR ".join(f"({rules[n][0]})" for n in wanted) + ")"
        params += everyone_params + [value for n in wanted for value in rules[n][1]]
    sql = f"SELECT {', '.join(selected)} FROM tasks WHERE {where} ORDER BY id"  # noqa: S608
    columns = teams.fetch_columns(conn, sql, params, names)
    flags = {name: columns.pop(name).astype(np.int64) != 0 for name in rules}
    return Loaded(
        columns, flags, *teams.parse_dates(columns["done_at"], columns["due"]), all_history
    )


def load(
    conn: sqlite3.Connection | None, selection: Selection, *, today: date | None = None
) -> ReportData:
    """The data of a report, from one read of the tasks (:func:`load_tasks`).
    Raises :class:`NotFound` when the scope has no task at all (a mistyped
    name should not give an empty report)."""
    today = today or local_today()
    if conn is not None:
        selection = history.resolve_person(conn, selection)
    if conn is None or not history.has_tasks(conn, selection):
        raise NotFound(f"no tasks for {_scope_words(selection)} in this database{_hint(selection)}")
    values = settings.read_all(conn)
    previous_selection = previous_window(selection, today)
    reference, reference_label = history.reference_for(conn, selection)
    rows = load_tasks(conn, selection, previous_selection, reference)
    counted = rows.counted & rows.mask("scope", "status", "window")
    promises = promise_frame(rows, today, values)
    headline = panel.assemble_panel(
        selection,
        today=today,
        tasks=history.counted_frame(
            rows.take(counted, [name for name, _ in history.COUNTED_COLUMNS]),
            rows.done_date[counted],
        ),
        prior_label=reference_label,
        prior_stats=history.counted_stats(conn, reference) if reference else None,
        outcomes=promises[promises["in_scope"]],
        prior_keep_rate=(
            panel.keep_rate(promises[promises["in_reference"]]) if reference else None
        ),
        logged=int(rows.mask("scope", "created").sum()),
        promised=int((rows.mask("scope", "created") & rows.has_promise).sum()),
        bands={key: values[key] for key in DEFAULT_BANDS},
    )
    previous = None
    if previous_selection is not None:
        before = rows.counted & rows.mask("scope", "status", "previous")
        previous = previous_panel(
            conn, previous_selection, today,
            rows.columns["estimate_h"][before], rows.columns["actual_h"][before],
        )  # fmt: skip
    return ReportData(
        conn=conn,
        selection=selection,
        today=today,
        panel=headline,
        previous=previous,
        previous_selection=previous_selection,
        tasks=pd.DataFrame(rows.take(counted, ["estimate_h", "actual_h", "person", "team"])),
        values=values,
        rows=rows,
        promises=promises[promises["in_scope"]]
        .drop(columns=["in_scope", "in_reference"])
        .reset_index(drop=True),
        done_span=done_span(rows, counted) if selection.since is None else None,
    )


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
    outcome (:func:`calibrate.stats.promises.promise_outcomes`: ``resolved``, ``kept``,
    ``exceeded``, ...), ``outcome_week`` (the week it was known: the done
    date; for an open promise past due, the day after the due date),
    ``person``, ``team``, and whether each is in the report's scope and in
    its reference (``in_scope``, ``in_reference``): outcomes worked out once
    for the headline, the reference and the keep rates per person or team."""
    whose = rows.mask("scope") | rows.mask("reference")
    promised = rows.has_promise & rows.mask("promise") & whose
    done = rows.done_date[promised]
    due = rows.due_date[promised]
    outcomes = history.outcomes_of(
        rows.status[promised], rows.columns["promise_h"][promised], due, done,
        rows.columns["actual_h"][promised], today, values,
    )  # fmt: skip
    known = np.where(np.isnat(done), due + np.timedelta64(1, "D"), done)
    outcomes["outcome_week"] = trends.week_index(known)
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


# --- words and numbers ----------------------------------------------------------------


def factor(value: float | None) -> str:
    """1.3x; two decimals when one would round a real difference to 1.0x."""
    if value is None:
        return "-"
    shown = f"{value:.1f}"
    if shown == "1.0" and abs(value - 1.0) >= 0.005:
        shown = f"{value:.2f}"
    return shown + "x"


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def scope_label(panel: Mapping) -> str:
    if panel["scope"] == "person":
        return panel["name"]
    if panel["scope"] == "team":
        return f"team {panel['name']}"
    return "everyone"


def period_words(panel: Mapping, span: tuple[date, date] | None = None) -> str:
    """ "2026-06-01 to 2026-11-30 (27 weeks)", or the ``span`` of all history."""
    window = panel["window"]
    if window["since"] is None:
        if span is None:
            return "all history"
        return f"all history: {span[0].isoformat()} to {span[1].isoformat()}"
    until = window["until"]
    last = (date.fromisoformat(until) - timedelta(days=1)).isoformat() if until else panel["today"]
    return f"{window['since']} to {last} ({count(window['weeks'], 'week')})"


def plot_text(text: object, limit: int = 40) -> str:
    """A user's text for a chart label: cut to ``limit`` characters and
    HTML-escaped, because plotly reads a few tags (``<b>``, ``<a>``) in labels;
    escaped, they show as typed."""
    words = str(text)
    if len(words) > limit:
        words = words[: limit - 1] + "…"
    return html.escape(words, quote=False)


# --- the headline -----------------------------------------------------------------------


def headline(data: ReportData) -> dict:
    """The panel at the top: period, tasks, people, the score with its
    interval, bias and typical miss in words, promises kept, the trend, and the
    change since the previous period. Numbers are the panel's own (the
    template shows them rounded and keeps the exact value in ``data-value``)."""
    panel = data.panel
    n = panel["n"]
    people = int(data.tasks["person"].nunique()) if len(data.tasks) else 0
    whose = "your estimate" if panel["scope"] == "person" else "the estimate"
    out: dict = {
        "scope": scope_label(panel),
        "period": period_words(panel, data.done_span),
        "n": n,
        "people": people,
        "score": panel["score"],
        "score_low": panel["score_low"],
        "score_high": panel["score_high"],
        "score_raw": panel["score_raw"],
        "status": panel["score_status"],
        "reference": panel["reference"],
        "bias_factor": panel["bias_factor"],
        "typical_miss": panel["typical_miss"],
        "within_25": panel["within_25"],
        "bias_words": (
            f"tasks take {factor(panel['bias_factor'])} {whose} (median)" if n else "no tasks yet"
        ),
        "miss_words": (
            f"typically off by {factor(panel['typical_miss'])}; "
            f"{percent(panel['within_25'])} within 25%"
            if n
            else "no tasks yet"
        ),
    }
    if panel["score"] is None:
        out["score_words"] = (
            f"not enough data: {count(n, 'finished task')}, a score needs {MIN_SCORE_N}"
        )
    else:
        shrunk = (
            f"; raw {panel['score_raw']:.0f}, shrunk toward {panel['reference']}"
            if panel["reference"] != "itself"
            else ""
        )
        provisional = " Provisional: fewer than 30 tasks." if out["status"] == "provisional" else ""
        out["score_words"] = (
            f"90% interval {panel['score_low']:.0f}-{panel['score_high']:.0f}{shrunk}.{provisional}"
        )
    promises = panel["promises"]
    out["keep_rate"] = promises["keep_rate"]
    out["promises_due"] = promises["due"]
    out["keep_words"] = (
        f"{percent(promises['keep_rate'])} of {count(promises['due'], 'promise')} due were kept"
        if promises["keep_rate"] is not None
        else "no promises due in this window"
    )
    out["trend_words"] = trend_words(panel["trend"])
    out["change"] = change_words(data)
    return out


def trend_words(trend: Mapping) -> str:
    verdict = trend["verdict"]
    if verdict is None:
        return (
            f"Too few weeks with finished tasks for a trend ({trend['weeks_used']}; it needs "
            f"{MIN_TREND_WEEKS})."
        )
    slope, low, high = trend["slope"], trend["low"], trend["high"]
    weeks = count(trend["weeks_used"], "week")
    if verdict == "improving":
        return (
            f"Improving: the typical miss shrinks by {-slope:.3f} log2 a week (90%: {-high:.3f} "
            f"to {-low:.3f}; Theil-Sen over {weeks})."
        )
    if verdict == "worsening":
        return (
            f"Worsening: the typical miss grows by {slope:.3f} log2 a week (90%: {low:.3f} to "
            f"{high:.3f}; Theil-Sen over {weeks})."
        )
    return (
        f"No clear change: slope {slope:+.3f} log2 a week (90%: {low:+.3f} to {high:+.3f}; "
        f"Theil-Sen over {weeks})."
    )


def change_words(data: ReportData) -> dict:
    """The change since the previous period of the same length: ``text`` in
    words and ``delta`` (score points, ``None`` when either score is missing)."""
    previous = data.previous
    if previous is None:
        return {"text": "No earlier period to compare: the window is all history.", "delta": None}
    window = previous["window"]
    last = (date.fromisoformat(window["until"]) - timedelta(days=1)).isoformat()
    when = f"the previous {count(window['weeks'], 'week')} ({window['since']} to {last})"
    now, before = data.panel["score"], previous["score"]
    if before is None:
        return {
            "text": f"No score for {when}: {count(previous['n'], 'finished task')} then.",
            "delta": None,
        }
    parts = []
    if now is not None:
        delta = round(now) - round(before)  # as shown, so that 55 → 56 reads +1
        parts.append(f"score {before:.0f} → {now:.0f} ({delta:+d})")
    else:
        delta = None
        parts.append(f"score then {before:.0f}")
    if data.panel["n"]:
        parts.append(
            f"bias {factor(previous['bias_factor'])} → {factor(data.panel['bias_factor'])}"
        )
        parts.append(
            f"typical miss {factor(previous['typical_miss'])} → "
            f"{factor(data.panel['typical_miss'])}"
        )
    return {"text": f"Since {when}: " + "; ".join(parts) + ".", "delta": delta}


# --- figures: common layout ------------------------------------------------------------


#: A small template of our own: plotly's "plotly_white" would add 7 KB to every chart.
_AXIS = {
    "gridcolor": "#eceef1",
    "linecolor": "#d1d5db",
    "zeroline": False,
    "ticks": "",
    "automargin": True,
    "title": {"standoff": 10},
}
TEMPLATE = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": list(PEOPLE_COLOURS),
        "xaxis": _AXIS,
        "yaxis": _AXIS,
    }
}


def new_figure(*traces) -> go.Figure:
    """A figure with the report's :data:`TEMPLATE` from the start, so that
    plotly never loads its own default template (a tenth of a second, only
    for :func:`_layout` to replace it)."""
    return go.Figure(data=list(traces), layout={"template": TEMPLATE}, _validate=False)


def _layout(fig: go.Figure, *, height: int, legend: bool = False, **extra) -> go.Figure:
    fig.layout.template = TEMPLATE  # assigned, not merged into plotly's default
    fig.update_layout(
        height=height,
        margin={"l": 64, "r": 24, "t": 36, "b": 56},
        font={"family": FONT, "size": 13, "color": "#1f2937"},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"font": {"family": FONT}},
        **extra,
    )
    return fig


RATIO_TICKS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16)


def ratio_tick_text(value: float) -> str:
    if value >= 1:
        return f"{value:g}x"
    return f"1/{1 / value:g}x"


def hour_ticks(low_h: float, high_h: float) -> tuple[list[float], list[str]]:
    """Tick values and labels for a log axis of hours: 15m, 1h, 4h, 2d..."""
    values = [2.0**power for power in range(-2, 14) if low_h <= 2.0**power <= high_h] or [1.0]
    if len(values) > 9:  # every other doubling, keeping 1h
        values = [v for v in values if round(math.log2(v)) % 2 == 0]
    return values, [format_duration(v) for v in values]


# --- section: weekly trend -----------------------------------------------------------


def trend_section(data: ReportData) -> Section:
    """Score and bias over a rolling 8 weeks, n per week, and the Theil-Sen trend."""
    section = Section(
        key="trend",
        title="Weekly trend",
        how_to_read=(
            "Each point is the score (top) and the bias (middle) of the 8 weeks ending that "
            "week; pale points rest on fewer than 5 tasks. Higher scores are better (50: a "
            "typical 2x miss; 100: perfect); a bias above 1x means tasks ran over."
        ),
        height=560,
    )
    trend = data.panel["trend"]
    weeks = pd.DataFrame(trend["weeks"])
    if weeks.empty or int(weeks["n_week"].sum()) == 0:
        section.empty = "No finished tasks in this window, so there is no trend to draw."
        return section
    x = pd.to_datetime(weeks["start"])
    faded = weeks["faded"].to_numpy(dtype=bool)
    score = weeks["score_raw"].to_numpy(dtype=float)
    bias = weeks["bias_factor"].to_numpy(dtype=float)
    n_roll = weeks["n"].to_numpy(dtype=int)
    labels = weeks["week"].to_numpy(dtype=object)
    point_colours = np.where(faded, BLUE_FADED, BLUE)
    custom = np.stack([labels, n_roll], axis=-1)
    fig = make_subplots(
        figure=new_figure(),
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        row_heights=[0.46, 0.32, 0.22],
        subplot_titles=(
            "Score, rolling 8 weeks (0-100)",
            "Bias: median actual / estimate, rolling 8 weeks",
            "Tasks finished each week",
        ),
    )
    fig.add_trace(
        go.Scatter(
            x=x, y=score, mode="lines+markers", name="score", showlegend=False,
            line={"color": BLUE, "width": 2}, marker={"color": point_colours, "size": 7},
            customdata=custom,
            hovertemplate="%{customdata[0]}: score %{y:.0f} from %{customdata[1]} tasks"
            "<extra></extra>",
        ),
        row=1, col=1,
    )  # fmt: skip
    if trend["verdict"] is not None:
        used = weeks[weeks["n_week"] > 0]
        week_numbers = np.array([_week_number(row) for row in used.to_dict("records")])
        line_m = trend["intercept"] + trend["slope"] * week_numbers
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime(used["start"]), y=100.0 * np.exp2(-line_m), mode="lines",
                name="trend of the weekly score (Theil-Sen)",
                line={"color": GREY, "width": 1.5, "dash": "dash"}, hoverinfo="skip",
            ),
            row=1, col=1,
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=x, y=bias, mode="lines+markers", name="bias", showlegend=False,
            line={"color": "#ea580c", "width": 2},
            marker={"color": np.where(faded, "rgba(234, 88, 12, 0.28)", "#ea580c"), "size": 6},
            customdata=custom,
            hovertemplate="%{customdata[0]}: tasks took %{y:.2f}x the estimate (median of "
            "%{customdata[1]})<extra></extra>",
        ),
        row=2, col=1,
    )  # fmt: skip
    fig.add_hline(y=1, line={"color": GREY, "width": 1, "dash": "dot"}, row=2, col=1)
    fig.add_trace(
        go.Bar(
            x=x, y=weeks["n_week"], name="tasks", marker={"color": LIGHT_GREY}, showlegend=False,
            customdata=labels, hovertemplate="%{customdata}: %{y} tasks finished<extra></extra>",
        ),
        row=3, col=1,
    )  # fmt: skip
    finite_bias = bias[np.isfinite(bias)]
    low = min(0.5, float(finite_bias.min()) / 1.2) if finite_bias.size else 0.5
    high = max(2.0, float(finite_bias.max()) * 1.2) if finite_bias.size else 2.0
    fig.update_yaxes(title_text="score", range=[0, 100], row=1, col=1)
    fig.update_yaxes(
        title_text="actual / estimate", type="log", range=[math.log10(low), math.log10(high)],
        tickvals=[t for t in RATIO_TICKS if low <= t <= high],
        ticktext=[ratio_tick_text(t) for t in RATIO_TICKS if low <= t <= high],
        row=2, col=1,
    )  # fmt: skip
    fig.update_yaxes(title_text="tasks", rangemode="tozero", row=3, col=1)
    fig.update_xaxes(title_text="week (starting Monday)", row=3, col=1)
    _layout(fig, height=section.height, legend=trend["verdict"] is not None)
    fig.update_layout(
        bargap=0.15,
        margin={"t": 56},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "x": 1, "xanchor": "right"},
    )
    for annotation in fig.layout.annotations:
        annotation.update(font={"size": 12, "color": GREY}, x=0, xanchor="left")
    section.figure = fig
    section.summary = trend_words(trend)
    return section


# --- section: estimate against actual -------------------------------------------------


def scatter_section(data: ReportData) -> Section:
    """Each finished task, estimate against actual on log-log axes, by person;
    a density view above :data:`DENSITY_OVER` tasks."""
    tasks = data.tasks
    n = len(tasks)
    section = Section(
        key="scatter",
        title="Estimate against actual",
        how_to_read=(
            "Each point is a finished task; on the diagonal the actual equalled the estimate, "
            "inside the green band it was within 25%, above it the task ran over. Both axes "
            "are logarithmic, so a miss by 2x looks the same size for small and big tasks."
        ),
        height=560,
    )
    if n == 0:
        section.empty = "No finished tasks in this window."
        return section
    estimate = tasks["estimate_h"].to_numpy(dtype=float)
    actual = tasks["actual_h"].to_numpy(dtype=float)
    low = float(min(estimate.min(), actual.min())) / 1.6
    high = float(max(estimate.max(), actual.max())) * 1.6
    fig = new_figure()
    line_x = np.array([low, high])
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([line_x, line_x[::-1]]),
            y=np.concatenate([line_x * WITHIN_HIGH, line_x[::-1] * WITHIN_LOW]),
            mode="lines", fill="toself", fillcolor=BAND, line={"width": 0},
            name="within 25%", hoverinfo="skip",
        )
    )  # fmt: skip
    if n > DENSITY_OVER:
        _add_density(fig, estimate, actual)
        section.notes.append(
            f"{n:,} tasks: more than {DENSITY_OVER:,}, so this is a density view; darker cells "
            "hold more tasks (log colour scale)."
        )
    else:
        shown = _add_points(fig, tasks, data.scope == "person")
        if shown < n:
            section.notes.append(
                f"Showing {shown:,} of {n:,} tasks, sampled evenly across people, to keep the "
                "file small."
            )
        section.notes.append(
            "Points are spread slightly sideways so that tasks with the same estimate do not "
            "hide each other."
        )
    fig.add_trace(
        go.Scatter(
            x=line_x, y=line_x, mode="lines", name="actual = estimate",
            line={"color": "#374151", "width": 1, "dash": "dash"}, hoverinfo="skip",
        )
    )  # fmt: skip
    tick_values, tick_text = hour_ticks(low, high)
    axis = {
        "type": "log",
        "range": [math.log10(low), math.log10(high)],
        "tickvals": tick_values,
        "ticktext": tick_text,
        "zeroline": False,
    }
    fig.update_xaxes(title_text="estimate (hours, log scale)", **axis)
    fig.update_yaxes(title_text="actual (hours, log scale)", scaleanchor="x", scaleratio=1, **axis)
    _layout(fig, height=section.height, legend=True)
    fig.update_layout(
        margin={"t": 24},
        legend={"orientation": "v", "x": 1.0, "xanchor": "right", "y": 1, "yanchor": "top"},
    )
    section.figure = fig
    return section


def _add_points(fig: go.Figure, tasks: pd.DataFrame, one_person: bool) -> int:
    """One trace per person (the :data:`SCATTER_PEOPLE_MAX` with most tasks;
    the rest as "others"), at most :data:`SCATTER_POINTS_MAX` points in all."""
    rng = np.random.default_rng(0)
    people = tasks["person"].astype(str)
    counts = people.value_counts()
    named = list(counts.index[:SCATTER_PEOPLE_MAX])
    share = min(1.0, SCATTER_POINTS_MAX / len(tasks))
    groups = [(name, people == name) for name in named]
    if len(counts) > len(named):
        groups.append((f"others ({len(counts) - len(named)} people)", ~people.isin(named)))
    shown = 0
    for index, (name, mask) in enumerate(groups):
        rows = np.flatnonzero(mask.to_numpy())
        if share < 1.0:
            keep = max(1, round(rows.size * share))
            rows = np.sort(rng.choice(rows, size=keep, replace=False))
        shown += rows.size
        estimate = tasks["estimate_h"].to_numpy(dtype=float)[rows]
        actual = tasks["actual_h"].to_numpy(dtype=float)[rows]
        jitter = np.exp2(rng.uniform(-0.07, 0.07, size=rows.size))
        other = index >= len(named)
        colour = GREY if other else PEOPLE_COLOURS[index % len(PEOPLE_COLOURS)]
        label = name if other else plot_text(name, 30)
        ratio = actual / estimate
        fig.add_trace(
            go.Scatter(
                x=estimate * jitter, y=actual, mode="markers", name=label,
                marker={"color": colour, "size": 6, "opacity": 0.55 if other else 0.7,
                        "line": {"width": 0}},
                customdata=np.stack([estimate, ratio], axis=-1),
                hovertemplate=(
                    ("" if one_person else f"{label}<br>")
                    + "estimate %{customdata[0]:.2f}h, actual %{y:.2f}h (%{customdata[1]:.2f}x)"
                    "<extra></extra>"
                ),
            )
        )  # fmt: skip
    return shown


def _add_density(fig: go.Figure, estimate: np.ndarray, actual: np.ndarray) -> None:
    """A 2-D histogram computed here (numpy), so the file holds counts, not tasks."""
    log_e, log_a = np.log2(estimate), np.log2(actual)
    low = math.floor(min(log_e.min(), log_a.min()) / DENSITY_BIN_LOG2) * DENSITY_BIN_LOG2
    high = math.ceil(max(log_e.max(), log_a.max()) / DENSITY_BIN_LOG2) * DENSITY_BIN_LOG2
    bins = round((high - low) / DENSITY_BIN_LOG2)
    width = DENSITY_BIN_LOG2 * max(1, math.ceil(bins / DENSITY_BINS_MAX))
    edges = low + width * np.arange(math.ceil((high - low) / width) + 1)
    counts, _, _ = np.histogram2d(log_e, log_a, bins=[edges, edges])
    z = np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan).T
    hours = np.exp2(edges)
    top = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
    tick_values = list(range(math.ceil(top) + 1))
    fig.add_trace(
        go.Heatmap(
            x=hours, y=hours, z=z, customdata=counts.T, name="tasks",
            colorscale="Blues", zmin=0, zmax=max(top, 1.0),
            colorbar={"title": {"text": "tasks"}, "tickvals": tick_values,
                      "ticktext": [f"{10**v:,}" for v in tick_values], "thickness": 12},
            hovertemplate="estimate %{x:.2f}h, actual %{y:.2f}h: %{customdata:,} tasks"
            "<extra></extra>",
        )
    )  # fmt: skip


# --- section: distribution of actual / estimate -------------------------------------


def ratio_section(data: ReportData) -> Section:
    """Histogram of actual / estimate on a log axis, with the median marked."""
    section = Section(
        key="ratios",
        title="How far off: actual / estimate",
        how_to_read=(
            "The share of finished tasks by how much longer (right of 1x) or shorter (left) "
            "they took than estimated, on a log scale; the tall bar at 1x is tasks that took "
            "about the estimate. The dashed line is the median."
        ),
        height=380,
    )
    tasks = data.tasks
    if len(tasks) == 0:
        section.empty = "No finished tasks in this window."
        return section
    r = metrics.log_ratio(tasks["estimate_h"], tasks["actual_h"])
    r = r[np.isfinite(r)]
    half = RATIO_BIN_LOG2 / 2
    edges = np.arange(-RATIO_LIMIT_LOG2 - half, RATIO_LIMIT_LOG2 + half + 1e-9, RATIO_BIN_LOG2)
    clipped = np.clip(r, edges[0] + 1e-9, edges[-1] - 1e-9)
    counts, _ = np.histogram(clipped, bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    shares = counts / r.size * 100
    low_ratio, high_ratio = np.exp2(edges[:-1]), np.exp2(edges[1:])
    range_text = [f"{lo:.2f}x-{hi:.2f}x" for lo, hi in zip(low_ratio, high_ratio, strict=True)]
    range_text[0] = f"at most {high_ratio[0]:.2f}x"
    range_text[-1] = f"at least {low_ratio[-1]:.1f}x"
    colours = np.where(centres > half, "#ea580c", np.where(centres < -half, "#0891b2", GREY))
    fig = new_figure(
        go.Bar(
            x=centres, y=shares, marker={"color": colours}, width=RATIO_BIN_LOG2 * 0.92,
            customdata=np.stack([np.array(range_text, dtype=object), counts], axis=-1),
            hovertemplate="%{customdata[0]}: %{customdata[1]:,} tasks (%{y:.1f}%)<extra></extra>",
        )
    )  # fmt: skip
    median = float(np.median(r))
    fig.add_vline(x=median, line={"color": "#111827", "width": 1.5, "dash": "dash"})
    fig.add_annotation(
        x=median, y=1, yref="paper", yanchor="bottom", showarrow=False,
        text=f"median {factor(2.0**median)}", font={"size": 12},
    )  # fmt: skip
    ticks = [math.log2(t) for t in RATIO_TICKS]
    fig.update_xaxes(
        title_text="actual / estimate (log scale; the end bars hold everything beyond)",
        tickvals=ticks, ticktext=[ratio_tick_text(t) for t in RATIO_TICKS],
        range=[edges[0], edges[-1]],
    )  # fmt: skip
    fig.update_yaxes(title_text="share of tasks (%)", rangemode="tozero")
    _layout(fig, height=section.height, bargap=0.05)
    section.figure = fig
    panel = data.panel
    section.summary = (
        f"{percent(panel['over'])} ran over, {percent(panel['exact'])} took the estimate "
        f"(within 1%) and {percent(panel['under'])} less; 80% took between "
        f"{factor(panel['ratio_p10'])} and {factor(panel['ratio_p90'])} the estimate."
    )
    return section


# --- section: by estimate size ----------------------------------------------------------


def size_section(data: ReportData) -> Section:
    """Bias (median) and spread (P10-P90) of actual / estimate per estimate bucket."""
    section = Section(
        key="sizes",
        title="Bias and spread by estimate size",
        how_to_read=(
            "For each size of estimate: the dot is the median actual / estimate (the bias), "
            "the bar spans the middle 80% of tasks (the spread). Dots above 1x mean tasks of "
            "that size ran over; long bars mean they are hard to predict."
        ),
        height=400,
    )
    rows = [row for row in data.panel["by_size"] if row["n"]]
    if not rows:
        section.empty = "No finished tasks in this window."
        return section
    labels = [f"{row['bucket']}<br>n={row['n']:,}" for row in rows]
    median = np.array([row["bias_factor"] for row in rows], dtype=float)
    p10 = np.array([row["ratio_p10"] for row in rows], dtype=float)
    p90 = np.array([row["ratio_p90"] for row in rows], dtype=float)
    miss = np.array([row["typical_miss"] for row in rows], dtype=float)
    within = np.array([row["within_25"] * 100 for row in rows], dtype=float)
    fig = new_figure(
        go.Scatter(
            x=labels, y=median, mode="markers", name="median",
            marker={"color": BLUE, "size": 11},
            error_y={"type": "data", "symmetric": False, "array": p90 - median,
                     "arrayminus": median - p10, "color": BLUE, "thickness": 2, "width": 8},
            customdata=np.stack([p10, p90, miss, within], axis=-1),
            hovertemplate="median %{y:.2f}x; middle 80%: %{customdata[0]:.2f}x-"
            "%{customdata[1]:.2f}x<br>typically off by %{customdata[2]:.2f}x; "
            "%{customdata[3]:.0f}% within 25%<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=1, line={"color": GREY, "width": 1, "dash": "dot"})
    low = min(0.25, float(p10.min()) / 1.3)
    high = max(4.0, float(p90.max()) * 1.3)
    ticks = [t for t in RATIO_TICKS if low <= t <= high]
    fig.update_yaxes(
        title_text="actual / estimate (log scale)", type="log",
        range=[math.log10(low), math.log10(high)], tickvals=ticks,
        ticktext=[ratio_tick_text(t) for t in ticks],
    )  # fmt: skip
    fig.update_xaxes(title_text="estimate size (hours)")
    _layout(fig, height=section.height)
    section.figure = fig
    worst = max(rows, key=lambda row: row["malr"])
    best = min(rows, key=lambda row: row["malr"])
    section.summary = (
        f"Most predictable: {best['bucket']} tasks (typically off by "
        f"{factor(best['typical_miss'])}); least: {worst['bucket']} (off by "
        f"{factor(worst['typical_miss'])})."
    )
    return section


# --- section: range calibration ---------------------------------------------------------


def range_section(data: ReportData) -> Section:
    """Nominal against observed coverage of ranges, with the binomial band."""
    section = Section(
        key="ranges",
        title="Range calibration",
        how_to_read=(
            "For each confidence level you gave ranges at: the share of actuals that landed "
            "inside the range (dot, with its 90% interval) against the share you claimed. "
            "Calibrated ranges sit in the grey band around the diagonal; dots below it mean "
            "ranges too narrow."
        ),
        height=440,
    )
    ranges = data.panel["ranges"]
    if not ranges["n"]:
        section.empty = "No finished task in this window had a range (log one with --range 2h..6h)."
        return section
    levels = ranges["levels"]
    nominal = np.array([level["confidence"] * 100 for level in levels])
    observed = np.array([level["hit_rate"] * 100 for level in levels])
    hit_low = np.array([level["hit_low"] * 100 for level in levels])
    hit_high = np.array([level["hit_high"] * 100 for level in levels])
    level_n = np.array([level["n"] for level in levels])
    left = max(0.0, math.floor((nominal.min() - 15) / 10) * 10)
    fig = new_figure()
    fig.add_trace(
        go.Scatter(
            x=[left, 100], y=[left, 100], mode="lines", name="calibrated",
            line={"color": GREY, "width": 1, "dash": "dash"}, hoverinfo="skip",
        )
    )  # fmt: skip
    band_width = max(1.2, (100 - left) / 60)
    for level in levels:
        if level["band_low"] is None:
            continue
        x = level["confidence"] * 100
        fig.add_shape(
            type="rect", x0=x - band_width, x1=x + band_width, y0=level["band_low"] * 100,
            y1=level["band_high"] * 100, fillcolor="rgba(107, 114, 128, 0.18)", line={"width": 0},
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=nominal, y=observed, mode="markers+text", name="your ranges",
            marker={"color": BLUE, "size": np.clip(6 + np.sqrt(level_n), 8, 22)},
            text=[f"n={n:,}" for n in level_n], textposition="middle right",
            textfont={"size": 11, "color": GREY},
            error_y={"type": "data", "symmetric": False, "array": hit_high - observed,
                     "arrayminus": observed - hit_low, "color": BLUE, "thickness": 1.5},
            customdata=np.stack([level_n, hit_low, hit_high], axis=-1),
            hovertemplate="%{x:.0f}% ranges held %{y:.0f}% of %{customdata[0]:,} actuals "
            "(90%: %{customdata[1]:.0f}-%{customdata[2]:.0f}%)<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(title_text="confidence you stated (%)", range=[left, 101])
    fig.update_yaxes(title_text="actuals inside the range (%)", range=[0, 101])
    _layout(fig, height=section.height)
    section.figure = fig
    verdict = ranges["verdict"]
    advice = "keep them as they are"
    if verdict != "calibrated":
        verb = "widen" if ranges["widen_factor"] >= 1 else "narrow"
        advice = f"{verb} them by {factor(ranges['widen_factor'])} to be calibrated"
    section.summary = (
        f"{percent(ranges['hit_rate'])} of {count(ranges['n'], 'range')} held the actual "
        f"(90%: {percent(ranges['hit_low'])}-{percent(ranges['hit_high'])}) against "
        f"{percent(ranges['nominal'])} claimed: {verdict}; {advice}. Misses: "
        f"{ranges['below']:,} below the range, {ranges['above']:,} above."
    )
    return section


# --- section: promises --------------------------------------------------------------------


def promise_weeks(data: ReportData) -> pd.DataFrame | None:
    """Per week of the window: tasks logged and promised (by creation date),
    promises due, kept and exceeded (by the date their outcome was known), and
    the rolling rates over :data:`PROMISE_WINDOW_WEEKS` weeks. ``None`` when
    the window has no weeks to show."""
    span = data.week_span()
    if span is None or data.rows is None:
        return None
    first, last = span
    logged = data.rows.mask("scope", "created")
    created = history.local_dates(data.rows.columns["created_at"][logged])
    promised_flag = data.rows.has_promise[logged]
    logged_week = trends.week_index(created)
    outcomes = data.promises
    outcome_week = outcomes["outcome_week"].to_numpy(dtype=np.int64)
    resolved = outcomes["resolved"].to_numpy(dtype=bool)
    span_weeks = last - first + 1

    def weekly(weeks: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        keep = (weeks >= first) & (weeks <= last)
        if mask is not None:
            keep &= mask
        return np.bincount(weeks[keep] - first, minlength=span_weeks).astype(float)

    frame = pd.DataFrame(
        {
            "week": np.arange(first, last + 1),
            "logged": weekly(logged_week),
            "promised": weekly(logged_week, promised_flag),
            "due": weekly(outcome_week, resolved),
            "kept": weekly(outcome_week, resolved & outcomes["kept"].to_numpy(dtype=bool)),
            "exceeded": weekly(outcome_week, resolved & outcomes["exceeded"].to_numpy(dtype=bool)),
        }
    )
    frame["start"] = [trends.week_monday(week) for week in frame["week"]]
    rolled = frame[["logged", "promised", "due", "kept", "exceeded"]].rolling(
        PROMISE_WINDOW_WEEKS, min_periods=1
    )
    sums = rolled.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["logged_roll"] = sums["logged"]
        frame["due_roll"] = sums["due"]
        frame["promise_rate"] = np.where(
            sums["logged"] > 0, sums["promised"] / sums["logged"], np.nan
        )
        frame["keep_rate"] = np.where(sums["due"] > 0, sums["kept"] / sums["due"], np.nan)
        frame["exceed_rate"] = np.where(sums["due"] > 0, sums["exceeded"] / sums["due"], np.nan)
    return frame


def promise_section(data: ReportData) -> Section:
    """Promise rate, keep rate and exceed rate per week against their target bands."""
    section = Section(
        key="promises",
        title="Promises: few, kept, some exceeded",
        how_to_read=(
            "Each point covers the 8 weeks ending that week: the share of tasks logged with a "
            "promise (top), of promises due that were kept (middle) and kept with margin "
            "(bottom). Green bands are the targets, the red dotted line the keep rate that "
            "gets flagged; pale points rest on fewer than 5 tasks or promises."
        ),
        height=600,
    )
    promises = data.panel["promises"]
    if promises["logged"] == 0 and promises["due"] == 0:
        section.empty = "No tasks logged and no promises due in this window."
        return section
    weeks = promise_weeks(data)
    gauges = promises["gauges"]
    bands = {
        "promise_rate": (gauges["promise_rate"]["min"], gauges["promise_rate"]["max"]),
        "keep_rate": (gauges["keep_rate"]["min"], 1.0),
        "exceed_rate": (gauges["exceed_rate"]["min"], 1.0),
    }
    rows = (
        ("promise_rate", "logged_roll", "Promise rate: tasks logged with a promise", "tasks"),
        ("keep_rate", "due_roll", "Keep rate: promises due that were kept", "promises due"),
        ("exceed_rate", "due_roll", "Exceed rate: promises kept with margin", "promises due"),
    )
    if weeks is not None and len(weeks):
        fig = make_subplots(
            figure=new_figure(), rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08,
            subplot_titles=[row[2] + ", rolling 8 weeks" for row in rows],
        )  # fmt: skip
        x = pd.to_datetime(weeks["start"])
        labels = [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in weeks["start"]]
        for index, (key, base, _, unit) in enumerate(rows, start=1):
            low, high = bands[key]
            fig.add_hrect(
                y0=low * 100, y1=high * 100, fillcolor=BAND, line={"width": 0}, layer="below",
                row=index, col=1, exclude_empty_subplots=False,
            )  # fmt: skip
            values = weeks[key].to_numpy(dtype=float) * 100
            faded = weeks[base].to_numpy() < TREND_FADED_BELOW
            fig.add_trace(
                go.Scatter(
                    x=x, y=values, mode="lines+markers", name=key.replace("_", " "),
                    line={"color": BLUE, "width": 2},
                    marker={"color": np.where(faded, BLUE_FADED, BLUE), "size": 6},
                    customdata=np.stack(
                        [np.array(labels, dtype=object), weeks[base].to_numpy()], axis=-1
                    ),
                    hovertemplate="%{customdata[0]}: %{y:.0f}% of %{customdata[1]:.0f} "
                    + unit + "<extra></extra>",
                ),
                row=index, col=1,
            )  # fmt: skip
            fig.update_yaxes(title_text="%", range=[0, 102], row=index, col=1)
        if gauges["keep_rate"].get("flag") is not None:
            fig.add_hline(
                y=gauges["keep_rate"]["flag"] * 100, line={"color": RED, "width": 1, "dash": "dot"},
                row=2, col=1,
            )  # fmt: skip
        fig.update_xaxes(title_text="week (starting Monday)", row=3, col=1)
        _layout(fig, height=section.height)
        fig.update_layout(margin={"t": 56})
        for annotation in fig.layout.annotations:
            annotation.update(font={"size": 12, "color": GREY}, x=0, xanchor="left")
        section.figure = fig
    section.summary = promise_words(promises)
    section.notes.extend(promises["advice"])
    return section


_STATUS_WORDS = {"in band": "on target", "below": "below target", "above": "above target",
                 "flag": "flagged"}  # fmt: skip


def promise_words(promises: Mapping) -> str:
    gauges = promises["gauges"]
    rate, keep, exceed = gauges["promise_rate"], gauges["keep_rate"], gauges["exceed_rate"]
    parts = []
    if rate["value"] is not None:
        parts.append(
            f"{percent(rate['value'])} of {count(promises['logged'], 'task')} logged carry a "
            f"promise (target {percent(rate['min'])}-{percent(rate['max'])}: "
            f"{_STATUS_WORDS[rate['status']]})"
        )
    if keep["value"] is None:
        parts.append("no promises due yet")
    else:
        parts.append(
            f"{percent(keep['value'])} of {count(promises['due'], 'promise')} due were kept "
            f"(target at least {percent(keep['min'])}: {_STATUS_WORDS[keep['status']]})"
        )
        parts.append(
            f"{percent(exceed['value'])} exceeded (target at least {percent(exceed['min'])}: "
            f"{_STATUS_WORDS[exceed['status']]})"
        )
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


# --- section: people (team) or worst and best (person) -----------------------------


def people_section(data: ReportData) -> Section:
    """For a person: their worst and best estimates of the period; for a team:
    one row per person; for everyone: one row per team (when there are teams),
    then one per person."""
    if data.scope == "person":
        return extremes_section(data)
    has_teams = data.scope == "everyone" and bool(data.tasks["team"].notna().any())
    section = Section(
        key="people",
        title="Teams and people" if has_teams else "People",
        how_to_read=(
            "Best score first: finished tasks of the period, the score with its 90% interval "
            "(shrunk toward the whole report's, so that a few tasks cannot put anyone at the "
            "top or bottom), the bias (median actual / estimate), the typical miss, and the "
            "share of promises due that were kept."
        ),
    )
    if len(data.tasks) == 0:
        section.empty = "No finished tasks in this window."
        return section
    if has_teams:
        section.tables.append(group_table(data, "team"))
        section.tables.append(group_table(data, "person", limit=PEOPLE_UNDER_TEAMS_MAX))
    else:
        section.tables.append(group_table(data, "person"))
    return section


def extremes_section(data: ReportData) -> Section:
    """Worst and best estimates by unclipped |log ratio|, with their titles
    (like FogBugz's estimation history)."""
    section = Section(
        key="extremes",
        title="Worst and best estimates",
        how_to_read=(
            "Your finished tasks of the period that missed their estimate by the largest "
            "factor, either way, and those that came closest: worth a look back at what "
            "made them hard or easy to judge."
        ),
    )
    n = len(data.tasks)
    if n == 0 or data.conn is None:
        section.empty = "No finished tasks in this window."
        return section
    worst_n = min(EXTREMES_N, math.ceil(n / 2))
    best_n = min(EXTREMES_N, n - worst_n)
    section.tables.append(
        Table(TASK_COLUMNS, [task_row(row) for row in extreme_tasks(data, worst_n, worst=True)],
              caption="Furthest from the estimate")
    )  # fmt: skip
    if best_n:
        section.tables.append(
            Table(TASK_COLUMNS,
                  [task_row(row) for row in extreme_tasks(data, best_n, worst=False)],
                  caption="Closest to the estimate")
        )  # fmt: skip
    return section


TASK_COLUMNS = [
    ("Task", "text"),
    ("Done", "date"),
    ("Estimate", "num"),
    ("Actual", "num"),
    ("Off by", "num"),
]


def extreme_tasks(data: ReportData, limit: int, *, worst: bool) -> list[sqlite3.Row]:
    """The scope's counted tasks of the window furthest from (``worst``) or
    closest to their estimate, by the unclipped factor max(A/E, E/A)."""
    where, params = data.selection.where()
    order = "DESC" if worst else "ASC"
    sql = (
        "SELECT id, title, estimate_h, actual_h, done_at, tags, notes FROM tasks "  # noqa: S608
        f"WHERE {history.COUNTED_SQL} AND {where} "
        f"ORDER BY max(actual_h / estimate_h, estimate_h / actual_h) {order}, done_at DESC, "
        "id DESC LIMIT ?"
    )
    cursor = data.conn.execute(sql, [*params, limit])
    cursor.row_factory = sqlite3.Row
    return cursor.fetchall()


def task_row(row: Mapping) -> list:
    import json

    try:
        tags = [str(tag) for tag in json.loads(row["tags"] or "[]")]
    except (TypeError, ValueError):
        tags = []
    notes = row["notes"]
    if notes and len(notes) > NOTE_CHARS:
        notes = notes[: NOTE_CHARS - 1] + "…"
    done_day = history.local_dates([row["done_at"]])[0]
    ratio = row["actual_h"] / row["estimate_h"]
    return [
        Cell(f"#{row['id']} {row['title']}", detail=notes, tags=tags),
        "-" if np.isnat(done_day) else str(done_day),
        format_duration(row["estimate_h"]),
        format_duration(row["actual_h"]),
        ratio_words(ratio),
    ]


def ratio_words(ratio: float) -> str:
    """How far off, the same way both sides: "3.0x over", "3.0x under" (took a
    third of the estimate), "exact"."""
    if abs(math.log2(ratio)) <= EXACT_LOG2 + BOUND_SLACK:
        return "exact"
    if ratio > 1:
        return f"{factor(ratio)} over"
    return f"{factor(1 / ratio)} under"


def group_table(data: ReportData, level: str, limit: int = TABLE_ROWS_MAX) -> Table:
    """One row per person (or team): tasks, score with its interval (shrunk
    toward the scope), bias, typical miss and keep rate, best score first;
    at most ``limit`` rows."""
    tasks = data.tasks
    keys = tasks[level].fillna(NO_TEAM if level == "team" else "").astype(str).to_numpy()
    stats = metrics.point_stats_by(keys, tasks["estimate_h"], tasks["actual_h"])
    score, low, high = metrics.score_from_stats(
        stats["n"].to_numpy(), stats["sum_abs"].to_numpy(), stats["sum_sq"].to_numpy(),
        data.panel["malr"],
    )  # fmt: skip
    stats = stats.assign(score=score, score_low=low, score_high=high)
    if level == "team":
        stats["people"] = pd.Series(tasks["person"].to_numpy()).groupby(keys).nunique()
    stats = stats.sort_values(["score", "n"], ascending=[False, False], na_position="last")
    shown = stats.head(limit)
    keep_cells = group_keep_rates(
        data, level, [str(name) for name in shown.index], data.panel["promises"]["keep_rate_raw"]
    )
    rows = []
    for (name, row), keep_cell in zip(shown.iterrows(), keep_cells, strict=True):
        n = int(row["n"])
        if math.isnan(row["score"]):
            score_cell = Cell(f"- (under {MIN_SCORE_N} tasks)", muted=True)
        else:
            status = metrics.score_status(n)
            score_cell = Cell(
                f"{row['score']:.0f} ({row['score_low']:.0f}-{row['score_high']:.0f})",
                detail="provisional" if status == "provisional" else None,
                muted=status == "provisional",
            )
        rows.append(
            [
                Cell(str(name), detail=count(int(row["people"]), "person", "people"))
                if level == "team"
                else Cell(str(name)),
                f"{n:,}",
                score_cell,
                factor(float(row["bias_factor"])),
                factor(float(row["typical_miss"])),
                keep_cell,
            ]
        )
    columns = [
        ("Person" if level == "person" else "Team", "text"),
        ("Tasks", "num"),
        ("Score (90%)", "num"),
        ("Bias", "num"),
        ("Typical miss", "num"),
        ("Kept", "num"),
    ]
    note = None
    if len(stats) > len(shown):
        more = len(stats) - len(shown)
        note = f"{more:,} more not listed: the table shows the best {len(shown)}."
        if level == "person" and data.scope == "everyone":
            note += " Each team's report lists all its people."
    caption = None
    if data.scope == "everyone" and tasks["team"].notna().any():
        caption = "Teams" if level == "team" else "People"
    return Table(columns, rows, caption=caption, note=note)


def group_keep_rates(data: ReportData, level: str, names, scope_keep: float | None) -> list:
    """Each person's (team's) keep rate over the window, shrunk toward the
    scope's raw keep rate as the ``score`` panel shrinks it, with the count
    due: one cell per name, from the promises loaded once."""
    promises = data.promises
    keys = promises[level].fillna(NO_TEAM if level == "team" else "").astype(str)
    positions = keys.groupby(keys.to_numpy()).indices if len(keys) else {}
    cells = []
    for name in names:
        rows = positions.get(name)
        if rows is None or (level == "team" and name == NO_TEAM):
            cells.append(Cell("-", detail="none due", muted=True))
            continue
        summary = promise_summary(
            promises.iloc[rows], logged=0, promised=0, team_keep_rate=scope_keep
        )
        if summary["keep_rate"] is None:
            cells.append(Cell("-", detail="none due", muted=True))
        else:
            cells.append(Cell(percent(summary["keep_rate"]), detail=f"of {summary['due']:,} due"))
    return cells


# --- section: open work (the forecast) ----------------------------------------------------


def open_work_section(data: ReportData) -> Section:
    """When the scope's open tasks will be done: see :mod:`calibrate.report_open_work`."""
    from calibrate.report.open_work import open_work_section as build  # imports report

    return build(data)


def ranks_section(data: ReportData) -> Section:
    """Ranks within teams and among real developers (:mod:`calibrate.report_ranks`,
    imported here because it builds on this module)."""
    from calibrate.report.ranks import team_section

    return team_section(data)


# --- the sections, in order ------------------------------------------------------------

#: The report's sections after the headline, in order. Each takes the
#: :class:`ReportData` and returns a :class:`Section`.
SECTIONS: list[Callable[[ReportData], Section]] = [
    trend_section,
    scatter_section,
    ratio_section,
    size_section,
    range_section,
    promise_section,
    open_work_section,
    people_section,
    ranks_section,
]


# --- rendering ----------------------------------------------------------------------------


def figure_json(fig: go.Figure) -> Markup:
    """A figure as JSON that is safe inside ``<script type="application/json">``:
    ``<``, ``>`` and ``&`` become ``\\u003c`` and friends, so no text in it can
    close the script element, whatever a title or name holds."""
    text = pio.to_json(fig, validate=False, remove_uids=True)
    for raw, safe in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, safe)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # escaped just above


def plotly_script(mode: str) -> dict:
    """How the page loads plotly.js: ``inline`` (the whole library, once, so the
    file works offline) or ``cdn`` (a script tag with its integrity hash)."""
    from plotly.offline import get_plotlyjs

    source = get_plotlyjs()
    if mode == "inline":
        return {"inline": Markup(re.sub(r"</(script)", r"<\\/\1", source, flags=re.I))}
    if mode == "cdn":
        from plotly.io._utils import plotly_cdn_url

        digest = hashlib.sha256(source.encode("utf-8")).digest()
        return {
            "src": plotly_cdn_url(),
            "integrity": "sha256-" + base64.b64encode(digest).decode("ascii"),
        }
    raise InputError(f"unknown plotly.js mode {mode!r}: use inline or cdn")


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("calibrate.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    data: ReportData,
    sections: Sequence[Section],
    *,
    plotlyjs: str = "inline",
    note: str | None = None,
) -> str:
    """The HTML text of the report."""
    head = headline(data)
    charts = [
        {"key": section.key, "json": figure_json(section.figure)}
        for section in sections
        if section.figure is not None and section.empty is None
    ]
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=f"Calibration report: {head['scope']}",
        head=head,
        sections=sections,
        charts=charts,
        plotly=plotly_script(plotlyjs),
        plotly_config=Markup(pio.json.to_json_plotly(PLOTLY_CONFIG)),
        note=note,
        version=__version__,
        generated=data.today.isoformat(),
        iso_week=iso_week(data.today),
        cell_type=Cell,
    )


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def build_report(
    conn: sqlite3.Connection | None,
    selection: Selection,
    *,
    today: date | None = None,
    plotlyjs: str = "inline",
    note: str | None = None,
    sections: Sequence[Callable[[ReportData], Section]] | None = None,
    progress: Callable[[str], None] | None = None,
    anonymise: bool = False,
) -> str:
    """Load, compute every section and render: the report's HTML text.
    ``progress`` (optional) is called with a label before each step;
    ``anonymise`` replaces every person's name with a stable pseudonym."""
    if plotlyjs not in ("inline", "cdn"):
        raise InputError(f"unknown plotly.js mode {plotlyjs!r}: use inline or cdn")
    step = progress or (lambda label: None)
    step("loading")
    data = load(conn, selection, today=today)
    if anonymise:
        from calibrate.report.ranks import anonymise as use_pseudonyms

        use_pseudonyms(data)
    built = []
    for make in SECTIONS if sections is None else sections:
        step(make.__name__.removesuffix("_section"))
        built.append(make(data))
    if anonymise:
        from calibrate.report.ranks import scrub

        scrub(built, data.pseudonyms or {})
    step("rendering")
    return render(data, built, plotlyjs=plotlyjs, note=note)


# --- files ------------------------------------------------------------------------------


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe form of a name: letters, digits and dashes."""
    words = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return words[:limit].rstrip("-") or "unnamed"


def default_path(selection: Selection, today: date | None = None, folder: str = "reports") -> Path:
    """``reports/calibrate-<scope>-<ISO week>.html``."""
    if selection.person is not None:
        scope = slug(selection.person)
    elif selection.team is not None:
        scope = "team-" + slug(selection.team)
    else:
        scope = "everyone"
    return Path(folder) / f"calibrate-{scope}-{iso_week(today or local_today())}.html"


def write_atomically(text: str, path: Path) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder
    and a rename: a reader never sees half a report, a failure leaves the old one."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder: give a file name for the report")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
    except OSError as error:
        raise InputError(f"cannot write the report to {path}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write the report to {path}: {error.strerror}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_report(
    conn: sqlite3.Connection | None,
    selection: Selection,
    path: Path,
    **options,
) -> Path:
    """Build the report (:func:`build_report` options) and write it atomically to ``path``."""
    return write_atomically(build_report(conn, selection, **options), path)
