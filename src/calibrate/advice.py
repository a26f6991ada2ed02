"""Running ``forecast`` and its backtest on the database: scope, SQL, cache.

:mod:`calibrate.stats.forecast` (and :mod:`~calibrate.stats.pools`,
:mod:`~calibrate.stats.backtest`) compute from arrays and never touch the
database; this module resolves the scope (:class:`Scope`), hands them the
past, every counted task in done order (:func:`load_past`, kept in the
``advice_cache`` between commands by :func:`cached_past`), the open tasks
with the time already on their timers (:func:`open_tasks`) and the working
calendar (:func:`calendar`), keeps the backtest every forecast quotes,
recomputed only when the history stamp changed (:func:`quoted_backtest`), and
keeps the chances it gave open promises in the forecast ledger (METRICS.md
section 8).
:func:`run_forecast` and :func:`run_backtest` return JSON-ready dicts.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import TypedDict

import numpy as np

from calibrate import rules
from calibrate.durations import NO_TIME, local_days, now_iso, week_index
from calibrate.errors import InputError, NotFound, StateError
from calibrate.receipts import open_task_pools
from calibrate.selection import Selection
from calibrate.stats import backtest, forecast
from calibrate.stats.backtest import Backtest, EstimatesWorth
from calibrate.stats.forecast import Forecast, HistogramDay
from calibrate.stats.pools import Past, Pools, name_codes
from calibrate.store import caches, ledgers, names, settings
from calibrate.store.fetch import fetch_columns
from calibrate.store.people import alias_map, person_with_tasks, team_with_tasks
from calibrate.store.tasks import canonical_person, team_of
from calibrate.text import count

#: Said when there is no history at all to draw from.
REFERENCE_WARNING = (
    "no finished tasks here yet: forecasting from real developers' spread "
    "(CESAW and SiP, tasks of the same size)"
)
#: Histogram rows at most; beyond, days are grouped into weeks.
HISTOGRAM_ROWS = 16
#: The counted tasks' columns :func:`load_past` reads, the done time as
#: seconds since 1970 (:data:`NO_TIME` without one, or with one SQLite cannot read).
PAST_COLUMNS = ("id", "estimate_h", "actual_h", "epoch", "person", "team")
_PAST_SQL = (
    "SELECT id, estimate_h, actual_h, coalesce({epoch}, {missing}), person, coalesce(team, '') "
    "FROM tasks WHERE {counted}"
)
#: The done time in seconds: ``unixepoch()`` from SQLite 3.38 on, ``strftime('%s')`` before.
EPOCH_SQL = ("unixepoch(done_at)", "CAST(strftime('%s', done_at) AS INTEGER)")


def load_past(conn: sqlite3.Connection) -> Past:
    """Every counted task of the database, oldest done first (ties by id);
    tasks without a done date count as the oldest. Each task is its
    person's under whichever name it is stored (aliases resolved, PRODUCT.md
    law 7: the forecast of ``jdoe`` is that of the person ``jdoe`` stands for).

    The columns come through :func:`calibrate.store.fetch.fetch_columns`, each
    as one string that numpy parses in C (``at_once``; the rows in table order,
    sorted here). No pandas: the command starts faster.
    """
    try:
        columns = _past_columns(conn, EPOCH_SQL[0])
    except sqlite3.OperationalError:  # no unixepoch() before SQLite 3.38
        columns = _past_columns(conn, EPOCH_SQL[1])
    mapping = alias_map(conn)
    person = columns["person"]
    if mapping and len(person):
        person = np.asarray([mapping.get(name, name) for name in person.tolist()], dtype=object)
    return past_from_columns(
        columns["id"],
        columns["estimate_h"],
        columns["actual_h"],
        columns["epoch"],
        person,
        columns["team"],
    )


def _past_columns(conn: sqlite3.Connection, epoch: str) -> dict[str, np.ndarray]:
    sql = _PAST_SQL.format(epoch=epoch, missing=NO_TIME, counted=rules.counted_sql())
    dtypes = {"id": np.int64, "epoch": np.int64}
    return fetch_columns(conn, sql, (), PAST_COLUMNS, dtypes, at_once=True)


def past_from_columns(
    ids: np.ndarray,
    estimate: np.ndarray,
    actual: np.ndarray,
    epoch: np.ndarray,
    person: Sequence | np.ndarray,
    team: Sequence | np.ndarray,
) -> Past:
    """:func:`load_past` from every counted task's columns already in hand
    (any order): ids (or any numbers that grow with the id: they break ties
    in done time), estimate and actual hours, the done time in seconds
    since 1970 (:data:`NO_TIME` without one), person, and team (``''`` or
    ``None`` without one)."""
    order = np.lexsort((ids, epoch))
    person_codes, people = name_codes(person)
    team_codes, teams = name_codes(team)
    estimate, actual = estimate[order], actual[order]
    return Past(
        log_ratio=np.log2(actual / estimate),
        estimate_h=estimate,
        actual_h=actual,
        person=person_codes[order],
        team=team_codes[order],
        week=week_index(local_days(epoch))[order],
        people=people,
        teams=teams,
    )


# --- open tasks ----------------------------------------------------------------------------

OPEN_COLUMNS = ("id", "title", "person", "team", "estimate_h", "promise_h", "due", "status")


def open_tasks(
    conn: sqlite3.Connection,
    selection: Selection | None = None,
    ids: Sequence[int] = (),
    *,
    now: str | None = None,
) -> list[dict]:
    """The open (and started) tasks to forecast: the given ``ids`` (each must
    exist and be open), else the selection's. Each with ``spent_h``, the time
    on its timer so far (a running interval counts up to ``now``)."""
    names = ", ".join(OPEN_COLUMNS)
    by_id = f"SELECT {names} FROM tasks WHERE id = ?"  # noqa: S608 (fixed column names)
    if ids:
        rows = []
        for task_id in dict.fromkeys(ids):
            row = conn.execute(by_id, (task_id,)).fetchone()
            if row is None:
                raise NotFound(f"no task #{task_id}")
            if row["status"] in ("done", "dropped"):
                raise StateError(
                    f"task #{task_id} is {row['status']}: forecast covers open tasks only"
                )
            rows.append(row)
    else:
        selection = selection or Selection(status="open")
        where, params = selection.where()
        rows = conn.execute(
            f"SELECT {names} FROM tasks WHERE status IN ('open', 'started') AND {where} "  # noqa: S608
            "ORDER BY id",
            params,
        ).fetchall()
    tasks = [dict(row) for row in rows]
    spent = _timer_hours(conn, [t["id"] for t in tasks], now)
    for task in tasks:
        task["spent_h"] = spent.get(task["id"], 0.0)
    return tasks


def _timer_hours(conn: sqlite3.Connection, ids: list[int], now: str | None) -> dict[int, float]:
    """Hours on each task's timer, summed in SQL (running intervals up to ``now``)."""
    out: dict[int, float] = {}
    now = now or now_iso()
    for first in range(0, len(ids), 500):
        chunk = ids[first : first + 500]
        marks = ", ".join("?" * len(chunk))
        sql = (
            "SELECT task_id, total(max(0, julianday(coalesce(stopped_at, ?)) "  # noqa: S608
            f"- julianday(started_at))) * 24 FROM intervals WHERE task_id IN ({marks}) "
            "GROUP BY task_id"
        )
        out.update(conn.execute(sql, [now, *chunk]).fetchall())
    return out


# --- the calendar ------------------------------------------------------------------------------


def calendar(conn: sqlite3.Connection | None) -> forecast.Calendar:
    """The team's working calendar from the settings (6 focused hours a day,
    Monday to Friday, no holidays by default)."""
    values = settings.read_all(conn)
    focus = values["focus-hours"]
    try:
        focus = float(focus)
    except (TypeError, ValueError):
        raise InputError(f"the focus-hours setting {focus!r} is not a number") from None
    if not focus > 0:
        raise InputError(
            "the working calendar has zero focused hours a day: set one with "
            "'calibrate config focus-hours 6'"
        )
    days = values["work-days"] or []
    if not days:
        raise InputError(
            "the working calendar has no working days: set them with "
            "'calibrate config work-days mon-fri'"
        )
    holidays = [date.fromisoformat(day) for day in values["holidays"] or []]
    weekmask = " ".join(day[:3].capitalize() for day in days)
    return forecast.Calendar(focus_hours=focus, weekmask=weekmask, holidays=holidays)


def histogram_rows(
    histogram: list[HistogramDay], rows: int = HISTOGRAM_ROWS, tail: float = 0.01
) -> tuple[list[tuple[date | None, int]], int]:
    """Finish dates grouped into at most ``rows`` bins (days, else weeks, else
    several weeks), as (first day of the bin, runs), and the bins' width in
    days (1 for days); the last ``tail`` of the runs beyond the bins as one
    row (``None``, runs), so that a long tail does not squash the bars."""
    days = [(date.fromisoformat(h["date"]), h["runs"]) for h in histogram]
    total = sum(runs for _, runs in days)
    later = 0
    if len(days) > rows:
        kept, seen = [], 0
        for day, runs in days:
            if seen >= (1 - tail) * total:
                later += runs
            else:
                kept.append((day, runs))
            seen += runs
        days = kept
    if len(days) > rows:
        first, last = days[0][0], days[-1][0]
        monday = first - timedelta(days=first.weekday())
        weeks = (last - monday).days // 7 + 1
        width = -(-weeks // (rows - 1 if later else rows))  # weeks per bin, rounded up
        bins: dict[date, int] = {}
        for day, runs in days:
            start = monday + timedelta(weeks=((day - monday).days // 7) // width * width)
            bins[start] = bins.get(start, 0) + runs
        days = sorted(bins.items())
        width_days = 7 * width
    else:
        width_days = 1
    shown: list[tuple[date | None, int]] = [*days, (None, later)] if later else [*days]
    return shown, width_days


# --- the past, cached against the history stamp -------------------------------------------------

HISTORY_KEY = "history"


def past_stamp(conn: sqlite3.Connection) -> str:
    """The history stamp of the past as :func:`load_past` gives it: the
    counted history's (:func:`calibrate.store.caches.history_stamp`) and the
    aliases' (people are their names resolved: a new alias is a new past)."""
    rows = sorted(alias_map(conn).items())
    if not rows:
        return caches.history_stamp(conn)
    import hashlib

    digest = hashlib.sha1(json.dumps(rows).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{caches.history_stamp(conn)}|{digest}"


def cached_past(conn: sqlite3.Connection, stamp: str | None = None) -> Past:
    """:func:`load_past`, from the cache while the history stamp is unchanged
    (:func:`past_stamp`): a few megabytes of arrays read back in
    milliseconds, instead of a query over every finished task."""
    stamp = stamp or past_stamp(conn)
    cached = caches.read_cache(conn, HISTORY_KEY, stamp)
    if cached is not None:
        try:
            return past_from_bytes(cached)
        except (ValueError, KeyError, OSError, UnicodeDecodeError):
            pass  # an unreadable cache is rebuilt
    loaded = load_past(conn)
    caches.write_cache(conn, HISTORY_KEY, stamp, past_to_bytes(loaded))
    return loaded


def past_to_bytes(h: Past) -> bytes:
    """The past's arrays as an ``.npz`` (names as JSON text: no pickles)."""
    buffer = io.BytesIO()
    names = json.dumps({"people": list(h.people), "teams": list(h.teams)}).encode()
    np.savez(
        buffer,
        estimate_h=h.estimate_h,
        actual_h=h.actual_h,
        person=h.person,
        team=h.team,
        week=h.week,
        names=np.frombuffer(names, dtype=np.uint8),
    )
    return buffer.getvalue()


def past_from_bytes(data: bytes) -> Past:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        names = json.loads(arrays["names"].tobytes().decode())
        estimate, actual = arrays["estimate_h"], arrays["actual_h"]
        return Past(
            log_ratio=np.log2(actual / estimate),
            estimate_h=estimate,
            actual_h=actual,
            person=arrays["person"],
            team=arrays["team"],
            week=arrays["week"],
            people=tuple(names["people"]),
            teams=tuple(names["teams"]),
        )


# --- scope --------------------------------------------------------------------------------------


class ScopeFigures(TypedDict):
    """Whose forecast or backtest it is (:meth:`Scope.described`)."""

    person: str | None
    team: str | None
    everyone: bool
    describe: str


class QuotedBacktest(TypedDict):
    """The mixture's backtest quoted beside a forecast (:func:`quoted_backtest`):
    its coverage over the scope's most recent blocks (the 80% interval's with
    its Wilson 90% interval, and its median width over the block's actual),
    and whether it came from the cache."""

    blocks: int
    coverage_50: float | None
    coverage_80: float | None
    coverage_80_low: float | None
    coverage_80_high: float | None
    width_80: float | None
    keep_90: float | None
    tasks: int
    needs: int
    cached: bool
    estimates_worth: EstimatesWorth


class ForecastResult(Forecast):
    """``calibrate forecast --json`` (:func:`run_forecast`)."""

    scope: ScopeFigures
    backtest: QuotedBacktest
    warnings: list[str]


class BacktestResult(Backtest):
    """``calibrate forecast --backtest --json`` (:func:`run_backtest`), with
    whether estimates make the forecasts better than counting tasks."""

    scope: ScopeFigures
    estimates_worth: EstimatesWorth


class Scope:
    """Whose history the shift, the backtest and (without ids) the open tasks
    come from: one person (``names``: every stored name they go by, PRODUCT.md
    law 7), one team, or everyone."""

    def __init__(
        self, person: str | None = None, team: str | None = None, names: Sequence[str] = ()
    ):
        self.person, self.team = person, team
        self.names = tuple(names)

    @classmethod
    def of_person(cls, conn: sqlite3.Connection, person: str) -> Scope:
        """One person's scope, by any of their names: the person they stand for
        and every name their tasks are stored under, through the one home of
        the name mapping (:func:`calibrate.store.names.resolve_person`)."""
        resolved = names.resolve_person(conn, Selection(person=person))
        return cls(person=resolved.person, names=resolved.names)

    @classmethod
    def resolve(
        cls,
        conn: sqlite3.Connection,
        person: str | None,
        team: str | None,
        everyone: bool,
        default_person: str,
    ) -> Scope:
        """From the command's options: an unknown person or team is an error;
        no option means you (even before your first task)."""
        if everyone:
            return cls()
        if team is not None:
            return cls(team=team_with_tasks(conn, team))
        if person is not None:
            return cls.of_person(conn, person_with_tasks(conn, person))
        return cls.of_person(conn, default_person)

    @classmethod
    def of_tasks(cls, conn: sqlite3.Connection, tasks: list[dict]) -> Scope:
        """For tasks given by id: their person if one, else their team if one, else everyone."""
        people = {canonical_person(conn, t["person"]) for t in tasks}
        if len(people) == 1:
            return cls.of_person(conn, people.pop())
        teams = {t["team"] or team_of(conn, t["person"]) for t in tasks}
        return cls(team=teams.pop()) if len(teams) == 1 and None not in teams else cls()

    @property
    def key(self) -> str:
        if self.person is not None:
            return f"person:{self.person}"
        if self.team is not None:
            return f"team:{self.team}"
        return "everyone"

    def describe(self) -> str:
        if self.person is not None:
            return self.person
        return f"team {self.team}" if self.team is not None else "everyone"

    def selection(self) -> Selection:
        return Selection(
            person=self.person,
            team=self.team,
            everyone=self.is_everyone,
            status="open",
            names=self.names,
        )

    @property
    def is_everyone(self) -> bool:
        return self.person is None and self.team is None

    def positions(self, past: Past) -> np.ndarray:
        """The scope's counted tasks, as positions in the past (done order)."""
        if self.person is not None:
            return np.flatnonzero(past.person == past.person_code(self.person))
        if self.team is not None:
            return np.flatnonzero(past.team == past.team_code(self.team))
        return np.arange(len(past), dtype=np.int64)

    def described(self) -> ScopeFigures:
        """The scope as the JSON of ``forecast`` shows it."""
        return {
            "person": self.person,
            "team": self.team,
            "everyone": self.is_everyone,
            "describe": self.describe(),
        }

    def counted(self, conn: sqlite3.Connection) -> int:
        """How many counted tasks the scope has."""
        where, params = Selection(person=self.person, team=self.team, names=self.names).where()
        sql = f"SELECT count(*) FROM tasks WHERE {rules.counted_sql()} AND {where}"  # noqa: S608
        return conn.execute(sql, params).fetchone()[0]


# --- the forecast ---------------------------------------------------------------------------------

#: Blocks of the backtest quoted beside every forecast (the most recent ones).
QUOTED_BLOCKS = 300
BACKTEST_NEEDS = backtest.BACKTEST_START + backtest.BLOCK


def run_forecast(
    conn: sqlite3.Connection,
    task_ids: Sequence[int],
    person: str | None,
    team: str | None,
    everyone: bool,
    default_person: str,
    *,
    runs: int = forecast.RUNS,
    seed: int = 0,
    today: date,
    past: Past | None = None,
) -> ForecastResult:
    """``calibrate forecast``: the open tasks of the scope (or those ids),
    simulated; with the scope's backtested coverage and any warnings.
    ``past``: every counted task (:func:`load_past`), when the caller has it
    in hand already; else it comes from the cache or the database."""
    if task_ids:
        tasks = open_tasks(conn, ids=task_ids)
        if person or team or everyone:
            scope = Scope.resolve(conn, person, team, everyone, default_person)
        else:
            scope = Scope.of_tasks(conn, tasks)
    else:
        scope = Scope.resolve(conn, person, team, everyone, default_person)
        tasks = open_tasks(conn, scope.selection())
        if not tasks:
            raise StateError(f"no open tasks for {scope.describe()}: nothing to forecast")
    work_calendar = calendar(conn)
    stamp = past_stamp(conn)
    if past is None:
        past = cached_past(conn, stamp)
    warnings = []
    if len(past) == 0:
        warnings.append(REFERENCE_WARNING)
    scope_positions = scope.positions(past)
    tau2 = forecast.shift_variance(past.log_ratio[scope_positions], past.week[scope_positions])
    aliases = alias_map(conn)  # each task is its person's, by whichever name it is stored
    open_work = [
        forecast.OpenTask(
            id=t["id"],
            title=t["title"],
            person=aliases.get(t["person"], t["person"]),
            team=t["team"] or team_of(conn, t["person"]),
            estimate_h=t["estimate_h"],
            spent_h=t["spent_h"],
            promise_h=t["promise_h"],
            due=_date(t["due"]),
            started=t["status"] == "started",
        )
        for t in tasks
    ]
    # their similar finished tasks (issue 16), for a bounded number of them
    in_order = [open_work[i] for i in forecast.similar_order(open_work)]
    near = open_task_pools(conn, [(t.id, t.person) for t in in_order])
    open_work = [replace(t, similar=near.get(t.id)) for t in open_work]
    pools = Pools(past)
    simulation = forecast.simulate(
        pools, open_work, tau2=tau2, runs=runs, seed=seed, today=today, calendar=work_calendar
    )
    if not ledgers.record_chances(conn, open_promises(simulation.figures, today), str(today)):
        warnings.append(ledgers.UNWRITTEN)
    return {
        **simulation.figures,
        "scope": scope.described(),
        "backtest": quoted_backtest(conn, scope, pools, scope_positions, stamp),
        "warnings": warnings,
    }


def open_promises(figures: Forecast, today: date) -> list[tuple]:
    """The chances a forecast gave the promises still open (not past due),
    as the forecast ledger keeps them: (task id, chance, promised hours, due)."""
    return [
        (task["id"], task["promise_chance"], task["promise_h"], task["due"])
        for task in figures["tasks"]
        if task["promise_chance"] is not None
        and (task["due"] is None or date.fromisoformat(task["due"]) >= today)
    ]


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def quoted_backtest(
    conn: sqlite3.Connection,
    scope: Scope,
    pools: Pools,
    scope_positions: np.ndarray,
    stamp: str,
) -> QuotedBacktest:
    """The mixture's coverage over the scope's most recent blocks, from the
    cache when the history has not changed since it was computed, and
    whether it beats counting tasks (``no_estimates`` over the same blocks)."""
    key = f"{scope.key}|mixture+counting|{QUOTED_BLOCKS}|a{rules.ADVICE_VERSION}"
    figures = caches.cached_backtest(conn, key, stamp)
    cached = figures is not None
    if figures is None:
        result = backtest.backtest(
            pools.past,
            scope_positions,
            methods=(backtest.ESTIMATING, backtest.COUNTING),
            max_blocks=QUOTED_BLOCKS,
            pools=pools,
        )
        figures = {
            **result["methods"][backtest.ESTIMATING],
            "tasks": result["tasks"],
            "counting": result["methods"][backtest.COUNTING],
        }
        caches.store_backtest(conn, key, stamp, figures)
    return {
        "blocks": figures["blocks"],
        "coverage_50": figures["coverage_50"],
        "coverage_80": figures["coverage_80"],
        "coverage_80_low": figures["coverage_80_low"],
        "coverage_80_high": figures["coverage_80_high"],
        "width_80": figures["width_80"],
        "keep_90": figures["keep_90"],
        "tasks": figures["tasks"],
        "needs": BACKTEST_NEEDS,
        "cached": cached,
        "estimates_worth": backtest.estimates_worth(figures, figures["counting"]),
    }


def run_backtest(
    conn: sqlite3.Connection,
    scope: Scope,
    *,
    max_blocks: int | None = None,
    seed: int = 0,
    progress=None,
) -> BacktestResult:
    """``calibrate forecast --backtest``: every method over the scope's history."""
    counted = scope.counted(conn)
    if counted < BACKTEST_NEEDS:  # said before anything is loaded or cached
        raise StateError(
            f"not enough history to backtest {scope.describe()}: "
            f"{count(counted, 'finished task')}; the backtest predicts "
            f"blocks of {backtest.BLOCK} from task {backtest.BACKTEST_START} on, so it "
            f"needs {BACKTEST_NEEDS}"
        )
    past = cached_past(conn)
    positions = scope.positions(past)
    result = backtest.backtest(past, positions, max_blocks=max_blocks, seed=seed, progress=progress)
    methods = result["methods"]
    worth = backtest.estimates_worth(
        methods.get(backtest.ESTIMATING, {}), methods.get(backtest.COUNTING, {})
    )
    return {**result, "scope": scope.described(), "estimates_worth": worth}
