"""The timer's commands (start, stop) and what ``done`` and ``add --start``
share with them: asking about a sitting that ran long or through the night.

A sitting closed by a typed command after more than 12 hours, or through
02:00-05:00 local time (:mod:`calibrate.store.timers`), is asked about on a
terminal ("keep 92h33m, or trim to ...?"); in a pipe the command is refused
with the options that decide, ``--keep`` and ``--trim-to DURATION|TIME``
(exit 2). Standard library and click only.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

import click

from calibrate.cli.options import (
    App,
    Command,
    ParsedValue,
    complete_task_ids,
    pass_app,
    person_option,
    say,
    task_id_arg,
    task_id_type,
    when_option,
)
from calibrate.clock import local_moment, local_zone
from calibrate.durations import format_duration, from_iso, parse_duration, parse_when, to_iso
from calibrate.errors import InputError
from calibrate.identity import default_person
from calibrate.store import tasks as tasklog
from calibrate.store.timers import LongSitting, Review, Sitting, trimmed_stop
from calibrate.store.undo import recording

T = TypeVar("T")
_CLOCK = r"^(\d{1,2}):(\d{2})$"


class Trim:
    """What ``--trim-to`` (or the answer to the question) says: a length
    (``2h30m``) or when the sitting ended (``18:00``: the first 18:00 after it
    started; or a date and time)."""

    def __init__(self, text: str):
        raw = text.strip()
        self.hours: float | None = None
        self.clock: time | None = None
        self.moment: str | None = None
        clock = re.match(_CLOCK, raw)
        if clock:
            hour, minute = int(clock.group(1)), int(clock.group(2))
            if hour > 23 or minute > 59:
                raise InputError(f"not a time of day: {raw!r}")
            self.clock = time(hour, minute)
        elif "T" in raw or re.match(r"^\d{4}-\d\d-\d\d", raw):
            self.moment = to_iso(parse_when(raw))
        else:
            try:
                self.hours = parse_duration(raw)
            except InputError:
                raise InputError(
                    f"not a duration or a time: {raw!r} (use e.g. 2h30m, or 18:00)"
                ) from None

    def stop_for(self, sitting: Sitting) -> str:
        """The trimmed stop time of ``sitting`` (UTC ISO text)."""
        if self.clock is not None:
            start = from_iso(sitting.started_at)
            day = start.astimezone(local_zone()).date()
            moment = local_moment(datetime.combine(day, self.clock), strict=False)
            if moment <= start:
                moment = local_moment(
                    datetime.combine(day + timedelta(days=1), self.clock), strict=False
                )
            return trimmed_stop(sitting, until=to_iso(moment))
        return trimmed_stop(sitting, hours=self.hours, until=self.moment)


class TrimTo(ParsedValue):
    name = "trim"

    def parse(self, text: str, ctx: click.Context | None) -> Trim:
        return Trim(text)


def review_options(fn: Callable) -> Callable:
    """``--keep`` and ``--trim-to``: what to do with a sitting that ran long
    or through the night (asked on a terminal otherwise)."""
    fn = click.option(
        "--trim-to",
        type=TrimTo(),
        metavar="DURATION|TIME",
        help="Trim such a sitting: to this length (2h30m), or to end at this time (18:00).",
    )(fn)
    return click.option(
        "--keep",
        is_flag=True,
        help="Keep a sitting that ran over 12 hours or through the night (02:00-05:00) as "
        "it is, without asking.",
    )(fn)


def interactive() -> bool:
    """Whether a question can be asked (a terminal on stdin and stderr)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def reviewed(
    action: Callable[[Review], T],
    *,
    keep: bool = False,
    trim_to: Trim | None = None,
    decide: str | None = None,
) -> T:
    """Run ``action(review)``: a long or overnight sitting it closes is kept
    (``keep``), trimmed (``trim_to``), asked about on a terminal (and the
    action run again, nothing having been written the first time), or
    refused (:class:`LongSitting`, whose message ``decide`` may word)."""
    if keep and trim_to is not None:
        raise click.UsageError("--keep and --trim-to exclude each other")
    answers: dict[str, str | None] = {}

    def review(sitting: Sitting) -> str | None:
        if sitting.uid in answers:
            return answers[sitting.uid]
        if keep:
            return None
        if trim_to is not None:
            return trim_to.stop_for(sitting)
        raise LongSitting(sitting, decide)

    while True:
        try:
            return action(review)
        except LongSitting as asked:
            if not interactive() or asked.sitting.uid in answers:
                raise
            answers[asked.sitting.uid] = _ask(asked.sitting)


def _ask(sitting: Sitting) -> str | None:
    say(f"Task #{sitting.task_id}'s timer ran {sitting.words()}, {sitting.why}.", err=True)

    def answer(text: str) -> str | None:
        if text.strip().lower() in ("keep", "k", "y", "yes"):
            return None
        try:
            return Trim(text).stop_for(sitting)
        except InputError as error:  # asked again
            raise click.UsageError(str(error)) from None

    value: Any = click.prompt(
        f"Keep {format_duration(sitting.hours)}, or trim to (a duration such as 2h, or a time "
        "such as 18:00)?",
        default="keep",
        err=True,
        value_proc=answer,
    )
    return value


@click.command(cls=Command)
@task_id_arg
@when_option("When you started: 14:30, '20m ago', 2026-11-30T09:00 [default: now].")
@review_options
@pass_app
def start(app: App, task_id: int, at, keep: bool, trim_to: Trim | None) -> None:
    """Start a task's timer (stopping any other timer of yours)."""

    def action(review: Review) -> list[tuple[int, float]]:
        with recording(app.conn, f"start #{task_id}") as change:
            change.watch([task_id])
            change.watch_running()
            return tasklog.start_task(app.conn, task_id, at, review)

    for other, hours in reviewed(action, keep=keep, trim_to=trim_to):
        say(f"Stopped #{other} ({format_duration(hours)})")
    say(f"Started #{task_id}: {tasklog.get_task(app.conn, task_id)['title']}")


@click.command(cls=Command)
@click.argument(
    "task_id",
    metavar="[ID]",
    type=task_id_type(),
    required=False,
    shell_complete=complete_task_ids,
)
@when_option("When you stopped [default: now].")
@person_option("Whose timers to stop, without an ID [default: you].")
@review_options
@pass_app
def stop(
    app: App, task_id: int | None, at, person: str | None, keep: bool, trim_to: Trim | None
) -> None:
    """Stop a task's timer (without ID: your running timer)."""
    who = None if task_id is not None else (person or default_person())

    def action(review: Review) -> list[tuple[int, float]]:
        with recording(app.conn, "stop" + (f" #{task_id}" if task_id else "")) as change:
            change.watch_running()
            return tasklog.stop_timer(app.conn, task_id, person=who, at=at, review=review)

    for stopped_id, hours in reviewed(action, keep=keep, trim_to=trim_to):
        total = tasklog.timer_total(app.conn, stopped_id)
        say(
            f"Stopped #{stopped_id} after {format_duration(hours)} "
            f"({format_duration(total)} in all)"
        )
