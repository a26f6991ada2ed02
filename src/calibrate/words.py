"""Hours, days and hints as people say them: the words of ``add``, ``suggest``
and ``forecast`` (and the report's open work).

Standard library only: ``add`` prints :func:`hint_line`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from calibrate.stats.hints import THIN_OWN, THIN_REFERENCE_SHARE, Hint, promise_hours


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


def worth_line(worth: Mapping[str, Any]) -> str | None:
    """Whether estimates are worth making, in one line (the backtest's
    :func:`calibrate.stats.backtest.estimates_worth`), or ``None`` without
    blocks to judge by."""
    said = worth["verdict"]
    if said == "tighter":
        return (
            f"Your estimates make forecasts {worth['tighter'] * 100:.0f}% tighter than "
            "counting tasks would."
        )
    if said == "no_better":
        return (
            "Counting tasks forecasts as well as your estimates: estimate less, or "
            "estimate differently."
        )
    if said == "unknown":
        return None
    aim = "the aim is 75-88%"
    ours = _held(worth["coverage_80"])
    theirs = _held(worth["counting_coverage_80"])
    if said == "estimates_miscalibrated":
        why = f"forecasts from your estimates are miscalibrated ({ours}; {aim})"
    elif said == "counting_miscalibrated":
        why = f"forecasts from counting tasks are miscalibrated ({theirs}; {aim})"
    else:
        why = f"both are miscalibrated (from estimates {ours}, counting tasks {theirs}; {aim})"
    return f"Estimates against counting tasks: widths not compared, {why}."


def _held(share: float) -> str:
    """``80% intervals held 62% of blocks, too narrow``."""
    side = "too narrow" if share < 0.75 else "too wide"
    return f"80% intervals held {share * 100:.0f}% of blocks, {side}"


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
    """What a hint rests on, in words: "23 of your tasks and 410 of team X's";
    "only 3 of your tasks and 12 of team X's" with few of the person's own
    tasks, and ", widened toward real developers' spread" while that spread
    carries a tenth or more of the advice."""
    whose = "your" if you else f"{hint.person}'s"
    if not hint.has_history:
        return "real developers' spread alone: no finished task here yet"
    if hint.pool == "yours":  # nobody else here: the pool is the person's own tasks
        size = "" if hint.own_n else " of other sizes"
        words = f"{hint.pool_n:,} of {whose} tasks{size}"
    else:
        parts = [f"{hint.own_n:,} of {whose} tasks" if hint.own_n else f"none of {whose} tasks"]
        if hint.pool_n:
            parts.append(_pool_words(hint))
        words = " and ".join(parts)
    if hint.own_n < THIN_OWN and (hint.own_n or hint.pool == "yours"):
        words = f"only {words}"
    if hint.reference_weight >= THIN_REFERENCE_SHARE:
        words += ", widened toward real developers' spread"
    return words


def hint_sentence(hint: Hint, estimate_h: float, *, you: bool = True) -> str:
    """The sentence ``suggest`` answers with."""
    p50, p80, p90 = hint.hours(estimate_h)
    subject = "you estimate" if you else f"{hint.person} estimates"
    return (
        f"Tasks {subject} at {nice_hours(estimate_h)} take {nice_hours(p50)} (median); "
        f"80% take under {nice_hours(p80)}; 90% under {nice_hours(p90)} "
        f"(from {hint_sources(hint, you=you)}{similar_words(hint)}). "
        f"Promise {nice_hours(promise_hours(p90))}."
    )


def similar_words(hint: Hint) -> str:
    """What the similar tasks blended into a hint weigh, in words ("; 40%
    from 20 similar tasks"), or nothing without them."""
    if not hint.similar_n:
        return ""
    tasks = "similar task" if hint.similar_n == 1 else "similar tasks"
    return f"; {hint.similar_weight:.0%} from {hint.similar_n} {tasks}"


def hint_line(hint: Hint, estimate_h: float, *, closest: str | None = None) -> str:
    """The one line ``add`` prints on stderr (with what it rests on when that
    is thin, and the ``closest`` finished task, in words, when there is one)."""
    p50, p80, p90 = hint.hours(estimate_h)
    rests = f" (from {hint_sources(hint)})" if hint.thin else ""
    # the similar tasks blended in ("20 similar"), then the closest of them
    parts = [part for part in (f"{hint.similar_n} similar" * bool(hint.similar_n), closest) if part]
    ending = f"; {', '.join(parts)}" if parts else ""
    return (
        f"Hint: tasks you estimate at {nice_hours(estimate_h)} take {nice_hours(p50)} "
        f"(median), 80% under {nice_hours(p80)}, 90% under {nice_hours(p90)}; "
        f"promise {nice_hours(promise_hours(p90))}{rests}{ending}."
    )
