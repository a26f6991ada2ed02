"""Hours, days and hints as people say them: the words of ``add``, ``suggest``
and ``forecast`` (and the report's open work).

Standard library only: ``add`` prints :func:`hint_line`.
"""

from __future__ import annotations

from calibrate.stats.hints import Hint, promise_hours


def nice_hours(hours: float) -> str:
    """Hours as people say them: 45m, 4.1h, 12h."""
    minutes = round(hours * 60)
    if minutes >= 10:
        minutes = 5 * round(minutes / 5)
    if minutes < 60:
        return f"{max(minutes, 1)}m"
    if hours < 10:
        return f"{hours:.1f}".rstrip("0").rstrip(".") + "h"
    return f"{hours:.0f}h"


def day_words(iso_day: str, today) -> str:
    """A date as people read it in a plan: "Wed 2 Dec" (with the year when it
    is not this year's)."""
    from datetime import date

    day = date.fromisoformat(iso_day)
    shown = f"{day:%a} {day.day} {day:%b}"
    return shown if day.year == today.year else f"{shown} {day.year}"


def _pool_words(hint: Hint) -> str:
    n = f"{hint.pool_n:,}"
    if hint.pool == "team":
        return f"{n} of team {hint.team}'s"
    if hint.pool == "everyone":
        return f"{n} of everyone's"
    if hint.pool == "neighbours":
        return f"{n} of everyone's of neighbouring sizes"
    return f"{n} of everyone's, of all sizes"


def hint_sources(hint: Hint, *, you: bool = True) -> str:
    """Where a hint comes from, in words: "23 of your tasks and 410 of team X's"."""
    whose = "your" if you else f"{hint.person}'s"
    if hint.pool == "reference":
        return "the reference population's spread: no finished task here yet"
    own = f"{hint.own_n:,} of {whose} tasks" if hint.own_n else f"none of {whose} tasks"
    return f"{own} and {_pool_words(hint)}"


def hint_sentence(hint: Hint, estimate_h: float, *, you: bool = True) -> str:
    """The sentence ``suggest`` answers with."""
    p50, p80, p90 = hint.hours(estimate_h)
    subject = "you estimate" if you else f"{hint.person} estimates"
    return (
        f"Tasks {subject} at {nice_hours(estimate_h)} take {nice_hours(p50)} (median); "
        f"80% take under {nice_hours(p80)}; 90% under {nice_hours(p90)} "
        f"(from {hint_sources(hint, you=you)}). Promise {nice_hours(promise_hours(p90))}."
    )


def hint_line(hint: Hint, estimate_h: float) -> str:
    """The one line ``add`` prints on stderr."""
    p50, p80, p90 = hint.hours(estimate_h)
    return (
        f"Hint: tasks you estimate at {nice_hours(estimate_h)} take {nice_hours(p50)} "
        f"(median), 80% under {nice_hours(p80)}, 90% under {nice_hours(p90)}; "
        f"promise {nice_hours(promise_hours(p90))}."
    )
