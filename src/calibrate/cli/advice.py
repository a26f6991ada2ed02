"""``calibrate suggest`` and ``calibrate forecast``: advice from history.

``suggest`` reads the small precomputed ``hints`` table (:mod:`calibrate.hinting`, standard
library only), so it starts as fast as ``add``; ``forecast`` needs numpy and
imports :mod:`calibrate.advice` inside its body. Keep this module's top-level
imports light for that reason. The 80-column text of both is made here.
"""

from __future__ import annotations

import json
import sys
import textwrap
from datetime import date, timedelta
from typing import TYPE_CHECKING

import click

from calibrate.cli.options import (
    App,
    Command,
    Date,
    Duration,
    complete_task_ids,
    emit_flat,
    highlight,
    output_options,
    pass_app,
    person_option,
    progress,
    say,
    scope_options,
    task_id_type,
)
from calibrate.errors import NotFound, StateError
from calibrate.hinting import blended_hint, current_hint, keep_advice
from calibrate.identity import default_person
from calibrate.receipts import Receipt, SimilarPool, receipt_words, similar_pool
from calibrate.stats.hints import HintFigures, reference_hint
from calibrate.store.people import person_with_tasks
from calibrate.store.tasks import get_task
from calibrate.text import count, fit, percent, printable, to_json
from calibrate.words import day_words, hint_sentence, nice_hours, worth_line

if TYPE_CHECKING:  # numpy's: never imported by suggest
    from calibrate.advice import BacktestResult, ForecastResult, QuotedBacktest

#: Blocks of ``forecast --backtest`` unless ``--blocks`` says otherwise.
BACKTEST_BLOCKS = 1000
BAR_WIDTH = 36
#: A forecast lists its tasks one per line up to this many.
TASKS_SHOWN = 20
NO_FTS5_WARNING = (
    "this Python's SQLite has no FTS5: no similar tasks to show (the advice "
    "is from tasks of the same size)"
)
REFERENCE_WARNING = (
    "no finished tasks here yet: advice from real developers' spread "
    "(CESAW and SiP, tasks of the same size)"
)


def _warn(message: str) -> None:
    say(f"Warning: {message}", err=True)


# --- suggest --------------------------------------------------------------------------------


class Suggestion(HintFigures):
    """``calibrate suggest --json``: the hint's figures (``similar_n`` of the
    similar finished tasks blended in, weighing ``similar_weight``), the task
    asked about (``--task``, or the ``--title`` given), the sentence people
    read, and the similar finished tasks shown (issue 16: ``None`` without
    words to match, or where this sqlite3 has no FTS5)."""

    task: int | None
    title: str | None
    advice: str
    similar: list[Receipt] | None


@click.command(cls=Command)
@click.argument("estimate_h", metavar="DURATION", type=Duration(), required=False)
@click.option("--title", metavar="TEXT", help="What the task is (kept with the question).")
@click.option(
    "--task",
    "task_id",
    type=task_id_type(),
    metavar="ID",
    shell_complete=complete_task_ids,
    help="Ask about a logged task: its estimate, its person.",
)
@person_option("Whose history [default: you].")
@output_options
@pass_app
def suggest(
    app: App,
    estimate_h: float | None,
    title: str | None,
    task_id: int | None,
    person: str | None,
    json_output: bool,
    csv_output: bool,
) -> None:
    """What a task you estimate at DURATION will really take, and what to promise.

    \b
    calibrate suggest 3h
    calibrate suggest 3h --title "Fix the login redirect"
    calibrate suggest --task 57      # a logged task: its estimate, its person

    From all your history: your own finished tasks of that size, mixed with
    your team's (the more of yours, the more they weigh) and, while those are
    few, with real developers' spread. P50 is the median actual; 80% and 90%
    of such tasks take under P80 and P90. Promise at P90: that is what keeps
    about nine promises in ten.

    With --title (or --task) it names up to three finished tasks most like
    it by their words (title, tags, project): yours first, then your team's,
    with what each was estimated at and took; the 20 most similar are
    blended into the numbers, the more the more alike they are.
    """
    if task_id is not None and (estimate_h is not None or person is not None):
        raise click.UsageError("--task ID asks about a logged task: give no DURATION or --person")
    if task_id is None and estimate_h is None:
        raise click.UsageError("give a DURATION (suggest 3h) or a logged task (suggest --task ID)")
    conn = app.existing_conn()
    name = person or default_person()
    tags: list[str] = []
    project = None
    if task_id is not None:
        if conn is None:
            raise NotFound(f"no task #{task_id}")
        task = get_task(conn, task_id)
        estimate_h, name, title = float(task["estimate_h"]), task["person"], task["title"]
        tags, project = json.loads(task["tags"] or "[]"), task["project"]
    assert estimate_h is not None
    pool: SimilarPool | None = None
    asked = bool(title or tags or project)
    if conn is None:
        hint = reference_hint(name, estimate_h)
    else:
        if person is not None:
            name = person_with_tasks(conn, person)
        hint = current_hint(conn, name, estimate_h)
        if asked:  # one query: the receipts shown, and the similar tasks blended in
            exclude = [task_id] if task_id is not None else []
            pool = similar_pool(conn, name, title, tags, project, exclude=exclude)
            if pool is None:
                _warn(NO_FTS5_WARNING)
            hint = blended_hint(conn, hint, pool)
        if task_id is not None:  # advice for a logged, open task is kept (the first)
            note = keep_advice(conn, task_id, hint, estimate_h, "suggest")
            if note is not None:
                say(note, err=True)
    you = person is None and (task_id is None or name == default_person())
    if not hint.has_history:
        _warn(REFERENCE_WARNING)
    receipts = None if pool is None else pool.shown
    if json_output or csv_output:
        answer: Suggestion = {
            **hint.as_dict(estimate_h),
            "task": task_id,
            "title": title,
            "advice": hint_sentence(hint, estimate_h, you=you),
            "similar": receipts,
        }
        if csv_output:
            emit_flat([answer])
        else:
            click.echo(to_json(answer))
        return
    say(textwrap.fill(hint_sentence(hint, estimate_h, you=you), width=80))
    if receipts:
        say("Similar finished tasks:")
        for receipt in receipts:
            say(receipt_words(receipt, you=you))
    elif receipts is not None:
        say("No finished task here shares its words yet.")


# --- forecast --------------------------------------------------------------------------------


class Blocks(click.ParamType):
    """``--blocks``: a positive number, or ``all`` (``None``)."""

    name = "blocks"

    def convert(self, value, param, ctx) -> int | None:
        if not isinstance(value, str):
            return value
        if value.strip().lower() == "all":
            return None
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not a positive number or 'all'", param, ctx)
        return number


@click.command(cls=Command)
@click.argument(
    "task_ids", metavar="[ID]...", nargs=-1, type=task_id_type(), shell_complete=complete_task_ids
)
@scope_options
@click.option(
    "--backtest",
    is_flag=True,
    help="Replay history instead: how often past forecasts held (per method).",
)
@click.option(
    "--blocks",
    type=Blocks(),
    metavar="N|all",
    default=str(BACKTEST_BLOCKS),
    show_default=True,
    help="With --backtest: the most recent N blocks of 10 tasks.",
)
@click.option(
    "--runs",
    type=click.IntRange(min=100, max=1_000_000),
    metavar="N",
    default=10_000,
    show_default=True,
    help="Monte Carlo runs of a forecast (the backtest uses 1,000 a block).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    metavar="N",
    default=0,
    show_default=True,
    help="Random seed: the same seed, the same forecast.",
)
@click.option(
    "--today",
    type=Date(future=False),
    metavar="DATE",
    hidden=True,
    help="Forecast as of DATE (for tests).",
)
@output_options
@pass_app
def forecast(
    app: App,
    task_ids,
    person,
    team,
    everyone,
    backtest,
    blocks,
    runs,
    seed,
    today,
    json_output,
    csv_output,
) -> None:
    """Monte Carlo forecast of open tasks: remaining effort, finish dates, promises.

    \b
    calibrate forecast                # your open tasks
    calibrate forecast 12 14          # these tasks
    calibrate forecast --team web     # a team's open tasks
    calibrate forecast --backtest     # how far to trust it

    Each of the runs draws every task's actual from history (your tasks of
    its size, mixed with your team's), with one shared shift per run because
    tasks overrun together. Each person works their tasks one after another
    (earliest due date first, then started ones) on the working calendar:
    focus-hours a working day, work-days, holidays (see 'calibrate config').
    Promises kept in under 80% of runs are flagged. The last line is the
    backtest: how often such forecasts held on your own past tasks. With
    --backtest, each method's figures, counting tasks (no_estimates: your
    estimates ignored) among them, and in one line whether your estimates make
    tighter forecasts than counting tasks would. --csv gives one row a task
    (with --backtest, one a method).
    """
    from calibrate import advice  # numpy: only for this command
    from calibrate.durations import local_today

    if backtest and task_ids:
        raise click.UsageError("--backtest replays history: give no task ids")
    today_date = today or local_today()
    conn = app.existing_conn()
    if conn is None:
        raise StateError("the database is empty: no open tasks to forecast")
    if backtest:
        scope = advice.Scope.resolve(conn, person, team, everyone, default_person())
        with progress("Backtesting") as update:
            replayed = advice.run_backtest(
                conn, scope, max_blocks=blocks, seed=seed, progress=update
            )
        if csv_output:
            emit_flat(
                [{"method": name, **figures} for name, figures in replayed["methods"].items()]
            )
        else:
            click.echo(to_json(replayed) if json_output else render_backtest(replayed))
        return
    result = advice.run_forecast(
        conn,
        task_ids,
        person,
        team,
        everyone,
        default_person(),
        runs=runs,
        seed=seed,
        today=today_date,
    )
    for warning in result["warnings"]:
        _warn(warning)
    if csv_output:
        emit_flat(result["tasks"])
        return
    if json_output:
        click.echo(to_json(result))
        return
    click.echo(highlight(printable(render_forecast(result), newlines=True)))


# --- words and bars ----------------------------------------------------------------------------


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _weekdays(days: list[str]) -> str:
    """Mon-Fri for a run of consecutive days, else Mon, Wed, Fri."""
    index = [WEEKDAYS.index(d) for d in days if d in WEEKDAYS]
    if len(index) > 2 and index == list(range(index[0], index[0] + len(index))):
        return f"{days[0]}-{days[-1]}"
    return ", ".join(days)


def _bar(share: float) -> str:
    full = "\u2588" if (sys.stdout.encoding or "").lower().startswith("utf") else "#"
    return full * max(1 if share > 0 else 0, round(share * BAR_WIDTH))


def _similar_words(tasks: list) -> list[str]:
    """How many open tasks blend their similar finished tasks into their draws
    (METRICS.md section 7; ``similar_n`` in ``--json``): at most the first
    500 (:data:`calibrate.rules.SIMILAR_FORECAST_TASKS`), and only those
    sharing a word with one. No words when none does."""
    blended = sum(1 for task in tasks if task.get("similar_n"))
    if not blended:
        return []
    if blended == len(tasks):
        return ["each task's draws blend in its similar finished tasks"]
    return [f"{blended:,} of {len(tasks):,} tasks blend in their similar finished tasks"]


def render_forecast(result: ForecastResult) -> str:
    """The forecast for people, at 80 columns."""
    today = date.fromisoformat(result["today"])
    tasks = result["tasks"]
    cal = result["calendar"]
    week = _weekdays(cal["weekmask"].split())
    spent = f", {nice_hours(result['spent_h'])} already spent" if result["spent_h"] > 0 else ""
    lines = [
        f"Forecast for {result['scope']['describe']}: {len(tasks):,} open "
        f"{'task' if len(tasks) == 1 else 'tasks'}, {nice_hours(result['estimate_h'])} estimated"
        f"{spent}",
        f"{result['runs']:,} runs (seed {result['seed']}); {cal['focus_hours']:g} focused hours "
        f"a working day, {week}"
        + (f", {len(cal['holidays'])} holidays" if cal["holidays"] else ""),
        "",
        f"{'':<18}{'P50':<18}{'P80':<18}{'P95'}",
        f"{'Remaining effort':<18}"
        + "".join(f"{nice_hours(result['remaining_h'][k]):<18}" for k in ("p50", "p80", "p95")),
        f"{'Finish':<18}"
        + "".join(f"{day_words(result['finish'][k], today):<18}" for k in ("p50", "p80", "p95")),
    ]
    if len(tasks) <= TASKS_SHOWN:
        lines += [
            "",
            f"{'#':>5}  {'task':<30}{'estimate':>9}{'spent':>7}{'P50':>7}{'P80':>7}  finish P80",
        ]
        for task in tasks:
            lines.append(
                f"{task['id']:>5}  {fit(task['title'], 29)} {nice_hours(task['estimate_h']):>9}"
                f"{(nice_hours(task['spent_h']) if task['spent_h'] else '-'):>7}"
                f"{nice_hours(task['remaining_p50_h']):>7}"
                f"{nice_hours(task['remaining_p80_h']):>7}  {day_words(task['finish_p80'], today)}"
            )
        lines.append("       (P50, P80: effort still to go)")
        lines += [f"       ({words})" for words in _similar_words(tasks)]
    else:
        lines += ["", f"({len(tasks):,} tasks: per-task figures with --json)"]
        lines += [f"({words})" for words in _similar_words(tasks)]
    from calibrate.advice import histogram_rows

    binned, width_days = histogram_rows(result["histogram"])
    units = {1: "date", 7: "week of"}
    unit = units.get(width_days, f"{width_days // 7} weeks from")
    lines += ["", f"{f'Finish ({unit})':<19} share of runs"]  # "2 weeks from": 21 wide
    marks = {date.fromisoformat(result["finish"][k]): k.upper() for k in ("p95", "p80", "p50")}
    starts = [day for day, _ in binned]
    for index, (day, runs) in enumerate(binned):
        share = runs / result["runs"]
        if day is None:
            lines.append(f"  {'later':<18}{_bar(share):<{BAR_WIDTH}} {percent(share):>4}")
            continue
        following = starts[index + 1] if index + 1 < len(starts) else None
        end = following or day + timedelta(days=width_days)
        label = " ".join(v for k, v in sorted(marks.items()) if day <= k < end)
        shown = day_words(day.isoformat(), today)
        if width_days > 1:
            shown = shown.split(" ", 1)[1]  # "30 Nov": the weekday is always Monday
        lines.append(
            f"  {shown:<18}{_bar(share):<{BAR_WIDTH}} {percent(share):>4}  {label}".rstrip()
        )
    promised = [t for t in tasks if t["promise_chance"] is not None]
    if promised:
        lines += ["", "Promises (chance of keeping each)"]
        for task in promised:
            what = []
            if task["promise_h"] is not None:
                what.append(nice_hours(task["promise_h"]))
            if task["due"] is not None:
                what.append(f"by {day_words(task['due'], today)}")
            flag = ""
            if task["due"] is not None and date.fromisoformat(task["due"]) < today:
                flag = "  past due: broken"
            elif task["flagged"]:
                flag = "  under 80%: renegotiate now"
            lines.append(
                f"  #{task['id']:<5}{fit(task['title'], 26)} {' '.join(what):<20}"
                f"{percent(task['promise_chance']):>4}{flag}"
            )
    lines += ["", backtest_line(result["backtest"])]
    return "\n".join(line.rstrip() for line in lines)


def backtest_line(backtest: QuotedBacktest) -> str:
    """The one line every forecast ends with: how far to trust it."""
    if not backtest["blocks"]:
        return (
            f"Backtest: not yet possible ({backtest['tasks']:,} finished tasks here; "
            f"it needs {backtest['needs']}), so this forecast is unchecked."
        )
    return (
        f"Backtest on {backtest['blocks']:,} past blocks: 80% intervals held "
        f"{percent(backtest['coverage_80'])} ({_interval(backtest)}), 50% held "
        f"{percent(backtest['coverage_50'])}, P90 kept {percent(backtest['keep_90'])}."
    )


def _interval(figures) -> str:
    """``90%: 76-85%``: the Wilson interval of a backtest's coverage_80."""
    low, high = figures.get("coverage_80_low"), figures.get("coverage_80_high")
    if low is None or high is None:
        return "-"
    return f"90%: {low * 100:.0f}-{high * 100:.0f}%"


METHOD_WORDS = {
    "own": "own history only, any size (FogBugz-style)",
    "team": "the team's tasks of the same size",
    "mixture": "both, blended by how much is yours (the tool's)",
    "no_estimates": "counting tasks: the last 200 actuals, estimates ignored",
}
#: What a coverage_80 whose interval lies wholly outside the aim says.
VERDICT_WORDS = {"overconfident": "too narrow", "padded": "too wide"}


def render_backtest(result: BacktestResult) -> str:
    """``forecast --backtest`` for people, at 80 columns."""
    from calibrate.stats.backtest import verdict

    blocks = result["blocks"]
    first = result["first_task"]
    assert first is not None  # run_backtest refuses a history without a whole block
    lines = textwrap.wrap(
        f"Backtest for {result['scope']['describe']}: {count(blocks, 'block')} of 10 finished "
        f"tasks (tasks {first + 1:,} to {first + 10 * blocks:,} of {result['tasks']:,}), "
        "each forecast from the history before it.",
        width=80,
    )
    lines += [
        "",
        f"{'method':<13}{'80% held':>9} {'(90% interval)':<16}{'width':>6}{'50% held':>10}"
        f"{'P90 kept':>10}",
    ]
    judged = []
    for name, figures in result["methods"].items():
        width = figures["width_80"]
        lines.append(
            f"{name:<13}{percent(figures['coverage_80']):>9} {'(' + _interval(figures) + ')':<16}"
            f"{'-' if width is None else f'{width:.1f}x':>6}"
            f"{percent(figures['coverage_50']):>10}{percent(figures['keep_90']):>10}"
        )
        said = verdict(figures)
        if said is not None:
            judged.append(f"{name}: {VERDICT_WORDS[said]}")
    lines.append("")
    lines += [f"  {name:<13}{words}" for name, words in METHOD_WORDS.items()]
    verdicts = (
        "Judged against that only where the 90% interval lies wholly outside it: "
        + "; ".join(judged)
        + "."
        if judged
        else "Every method's interval reaches that aim: none is clearly off."
    )
    lines += [
        "",
        textwrap.fill(
            "Calibrated forecasts hold their 80% interval in about 80% of blocks (0.75 to "
            "0.88 is the aim; lower is overconfident, higher is padded), their 50% interval "
            "in about half, and P90, the level to promise at, keeps about 90%. " + verdicts,
            width=80,
        ),
        textwrap.fill(
            "Width: the 80% interval of a block's total, over what the block took (the "
            "median over the blocks): the narrower, the more useful, where it holds.",
            width=80,
        ),
    ]
    worth = worth_line(result["estimates_worth"])
    if worth is not None:
        lines += ["", textwrap.fill(worth, width=80)]
    return "\n".join(lines)
