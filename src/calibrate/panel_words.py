"""The score panel in words, at 80 columns: what ``calibrate score`` prints.

:func:`render_panel` turns :func:`calibrate.panel.build_panel`'s dict into
labelled lines: the score with the interval of the long-run score and the raw
one, the place among real developers, bias and miss, ranges and the widen
factor, promises, and the trend. Every number is the dict's, rounded as its
interval supports.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from calibrate import reference as real_developers
from calibrate import rules
from calibrate.identity import default_person
from calibrate.panel import ScorePanel
from calibrate.text import count, factor, percent

#: Rolling scores shown in the trend line of the text panel.
TREND_SHOWN_WEEKS = 8
LABEL_WIDTH = 13


def _pct_range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "-"
    return f"{low * 100:.0f}-{high * 100:.0f}%"


class _Lines:
    """Labelled lines wrapped to the width, continuations indented under the text."""

    def __init__(self, width: int):
        self.width = width
        self.lines: list[str] = []

    def add(self, label: str, text: str, indent: str = "") -> None:
        head = f"{indent}{label}".ljust(LABEL_WIDTH)
        if len(head) > LABEL_WIDTH:
            head += " "
        body = textwrap.wrap(text, self.width - len(head), break_on_hyphens=False) or [""]
        self.lines.append((head + body[0]).rstrip())
        self.lines.extend((" " * len(head) + more).rstrip() for more in body[1:])

    def blank(self) -> None:
        self.lines.append("")


def _title(panel: ScorePanel, width: int) -> str:
    name = panel["name"]
    if panel["scope"] == "person" and name is not None:
        who = name
        if panel["reference"].startswith("team "):
            who += f" ({panel['reference']})"
    elif panel["scope"] == "team":
        who = f"team {name}"
    else:
        who = "everyone"
    window = panel["window"]
    weeks = window["weeks"]
    if window["since"] is None or weeks is None:
        when = "all history"
    else:
        when = f"{count(weeks, 'week')} from {window['since']}"
        if window["until"]:
            when += f" to {window['until']}"
    head, tail = "Calibration of ", f", {when}"
    room = width - len(head) - len(tail)
    if len(who) > room:
        who = who[: max(room - 1, 8)] + "…"
    return f"{head}{who}{tail}"


def render_panel(panel: ScorePanel, width: int = 80) -> str:
    """The panel in words, no line wider than ``width``: what the terminal shows."""
    out = _Lines(width)
    out.lines.append(_title(panel, width))
    absent = _render_summaries(out, panel)
    _render_point(out, panel)
    out.blank()
    if "ranges" in absent:
        out.add("Ranges", f"{NOT_IN_SUMMARIES} (range calibration: the tasks here only)")
    else:
        _render_ranges(out, panel["ranges"])
    out.blank()
    _render_promises(out, panel["promises"], panel["reference"], absent)
    out.blank()
    if "trend" in absent:
        out.add("Trend", NOT_IN_SUMMARIES)
    else:
        _render_trend(out, panel["trend"])
    advice = advice_line(panel)
    if advice is not None:
        out.blank()
        out.add("Advice", advice)
    return "\n".join(out.lines)


NOT_IN_SUMMARIES = "not in summaries"


def _render_summaries(out: _Lines, panel: ScorePanel) -> list[str]:
    """One line when imported team summaries count in the panel (law 6);
    returns the figures they cannot give."""
    brought = panel.get("summaries")
    if not brought:
        return []
    out.add(
        "Summaries",
        f"{count(brought['people'], 'person', 'people')} counted from imported team summaries "
        f"({count(brought['tasks'], 'finished task')}), as 'calibrate rank' counts them; "
        f"what a summary cannot give says '{NOT_IN_SUMMARIES}'",
    )
    return brought["not_in_summaries"]


def advice_line(panel: ScorePanel) -> str | None:
    """How calibrate's own advice held (METRICS.md section 8): "calibrate's
    advice for you: P90 held 89% of 64 tasks (90%: 81-94%)"; ``None`` before
    any advised task is done."""
    record = panel["advice_record"]
    if not record["n"]:
        return None
    name = panel["name"]
    whom = (
        "you"
        if panel["scope"] == "person" and name == default_person()
        else name
        if panel["scope"] == "person"
        else f"team {name}"
        if panel["scope"] == "team"
        else "everyone"
    )
    held = f"P90 held {percent(record['held_90'])} of {count(record['n'], 'task')}"
    return (
        f"calibrate's advice for {whom}: {held} "
        f"(90%: {_pct_range(record['held_90_low'], record['held_90_high'])}); "
        f"P80 {percent(record['held_80'])}, P50 {percent(record['held_50'])}."
    )


def _interval(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"{low:.0f}-{high:.0f}"


def _render_point(out: _Lines, panel: ScorePanel) -> None:
    n = panel["n"]
    if n == 0:
        out.add("Score", "not enough data: no finished tasks in this window.")
        return
    tasks = count(n, "finished task")
    if panel["score"] is None:
        out.add("Score", f"not enough data: {tasks}, a score needs {rules.MIN_SCORE_N}.")
    else:
        status = ", provisional" if panel["score_status"] == "provisional" else ""
        source = f"from only {tasks}" if n < rules.RANKED_N else f"from {tasks}"
        text = (
            f"{panel['score']:.0f} (90%: {_interval(panel['score_low'], panel['score_high'])})"
            f"{status}, {source}"
        )
        raw = (
            f"raw {panel['score_raw']:.0f} "
            f"(90%: {_interval(panel['score_raw_low'], panel['score_raw_high'])})"
        )
        if panel["reference"] == "itself":
            out.add("Score", text)
        else:
            group = panel["reference"]
            if panel["scope"] == "person" and group.startswith("team "):
                toward = f"the rest of {group}"
            else:
                toward = f"{group} else"
            if panel["prior_from"] == "reference":
                toward = f"real developers' median ({toward}: under {rules.PRIOR_MIN_N} tasks)"
            out.add("Score", f"{text}; shrunk toward {toward}")
            note = ", as 'rank --teams' shows" if panel["scope"] == "team" else ""
            out.add("", f"{raw}: the long-run score, unshrunk{note}")
        population = panel.get("population")
        if "population" in panel.get("summaries", {}).get("not_in_summaries", []):
            out.add("Real devs", f"{NOT_IN_SUMMARIES} (an older summary carries no task sizes)")
        if population:
            out.add(
                "Real devs",
                f"{real_developers.describe(population)}, matched to your task sizes "
                f"({population['source']})",
            )
            if population["claim"] is None:
                out.add("", "no claim yet: the range is wider than the top half ('calibrate rank')")
    whose = "your estimate" if panel["scope"] == "person" else "the estimate"
    out.add("Bias", f"tasks take {factor(panel['bias_factor'])} {whose} (median)")
    out.add(
        "Miss",
        f"typically off by {factor(panel['typical_miss'])}; "
        f"{percent(panel['within_25'])} within 25%",
    )
    out.add(
        "Split",
        f"over {percent(panel['over'])}, exact {percent(panel['exact'])}, "
        f"under {percent(panel['under'])}",
    )
    for line in flag_sentences(panel):
        out.add("Flag", line)


def flag_sentences(panel: Mapping) -> list[str]:
    """Section 2's flags of a person's panel in words, one sentence each (the
    ``score`` panel's Flag lines, the report's headline)."""
    flags = panel["flags"]
    prior = panel["reference"]
    if flags is None:
        return []
    lines = []
    exact = flags["exact_hits"]
    if exact["flag"]:
        lines.append(
            f"{percent(exact['share'])} of your tasks end exactly at the estimate "
            f"({prior}: {percent(exact['team'])}): are actuals written to match?"
        )
    early = flags["early"]
    if early["flag"]:
        # alone in the group, the early share is judged against real developers
        against = prior if exact["team"] is not None else "real developers' median"
        lines.append(
            f"{percent(early['share'])} of your tasks finish under the estimate "
            f"({against}: {percent(early['team'])}): padding scores as badly as optimism."
        )
    return lines


def _render_ranges(out: _Lines, figures: Mapping) -> None:
    n = figures["n"]
    if n == 0:
        out.add(
            "Ranges",
            "not enough data: no finished task with a range (log one with --range 2h..6h).",
        )
        return
    verdict = figures["verdict"]
    out.add(
        "Ranges",
        f"{percent(figures['hit_rate'])} of {n:,} held the actual (90%: "
        f"{_pct_range(figures['hit_low'], figures['hit_high'])}) against "
        f"{percent(figures['nominal'])} nominal: {verdict}",
    )
    widen = figures["widen_factor"]
    if widen is None:
        out.add("", "widen factor: not enough ranges to say")
    elif verdict == "calibrated":
        out.add("", f"widen factor {widen:.1f}: keep them as they are")
    else:
        out.add(
            "",
            f"make your ranges {widen:.1f} times as wide (on a log scale) around the same "
            "centre to be calibrated",
        )
    out.add("", f"misses: {figures['below']:,} below, {figures['above']:,} above")


_GAUGE_WORDS = {
    "in band": "on target",
    "below": "below target",
    "above": "above target",
    "flag": "flagged",
}


def _render_promises(out: _Lines, figures: Mapping, prior: str, absent=()) -> None:
    due = figures["due"]
    if figures["logged"] == 0 and due == 0:
        out.add("Promises", "not enough data: no tasks logged and no promises due in this window.")
        return
    out.add("Promises", "make few, keep most, exceed a few")
    gauges = figures["gauges"]
    rate, keep, exceed = gauges["promise_rate"], gauges["keep_rate"], gauges["exceed_rate"]
    band = _pct_range(rate["min"], rate["max"])
    if "promises.promise_rate" in absent:
        out.add("few", f"promise rate {NOT_IN_SUMMARIES}", indent="  ")
    elif rate["value"] is None:
        out.add("few", "no tasks logged in this window", indent="  ")
    else:
        out.add(
            "few",
            f"{percent(rate['value'])} of {count(figures['logged'], 'task')} logged carry a "
            f"promise; target {band}: {_GAUGE_WORDS[rate['status']]}",
            indent="  ",
        )
    if keep["value"] is None:
        out.add("kept", "not enough data: no promises due yet", indent="  ")
        return
    status = _GAUGE_WORDS[keep["status"]]
    if keep["status"] == "flag":
        status += f" (under {percent(keep['flag'])})"
    out.add(
        "kept",
        f"{percent(keep['value'])} of {due:,} due (90%: "
        f"{_pct_range(figures['keep_low'], figures['keep_high'])}); target >= "
        f"{percent(keep['min'])}: {status}",
        indent="  ",
    )
    out.add(
        "exceeded",
        f"{percent(exceed['value'])} of {due:,} due; target >= {percent(exceed['min'])}: "
        f"{_GAUGE_WORDS[exceed['status']]}",
        indent="  ",
    )
    kept_words = f"kept {figures['kept']:,} of {due:,} ({percent(figures['keep_rate_raw'])})"
    if figures["keep_prior"] == "team":
        others = f"the rest of {prior}" if prior.startswith("team ") else f"{prior} else"
        out.add(
            "",
            f"{kept_words}, with a prior worth {rules.KEEP_PRIOR_WEIGHT:.0f} promises at "
            f"the rate of {others} ({percent(figures['team_keep_rate'])})",
        )
    else:
        out.add("", f"{kept_words}; too few promises due elsewhere to lean on")
    for line in figures["advice"]:
        out.add("", line)


def _render_trend(out: _Lines, trend: Mapping) -> None:
    verdict = trend["verdict"]
    if verdict is None:
        used = trend["weeks_used"]
        out.add(
            "Trend",
            f"not enough data: {count(used, 'week')} with finished tasks, a trend needs "
            f"{rules.MIN_TREND_WEEKS}.",
        )
        return
    slope, low, high = trend["slope"], trend["low"], trend["high"]
    if verdict == "improving":
        text = f"improving by {-slope:.3f} log2 a week (90%: {-high:.3f} to {-low:.3f})"
    elif verdict == "worsening":
        text = f"worsening by {slope:.3f} log2 a week (90%: {low:.3f} to {high:.3f})"
    else:
        text = f"no clear change (slope {slope:+.3f} log2 a week, 90%: {low:+.3f} to {high:+.3f})"
    out.add("Trend", text)
    recent = [w for w in trend["weeks"] if w["score_raw"] is not None][-TREND_SHOWN_WEEKS:]
    if recent:
        shown = " ".join(
            f"({w['score_raw']:.0f})" if w["faded"] else f"{w['score_raw']:.0f}" for w in recent
        )
        out.add("", f"rolling {trend['window_weeks']}-week score, last weeks: {shown}")
        if any(w["faded"] for w in recent):
            out.add("", f"(in brackets: under {rules.TREND_FADED_BELOW} tasks in the window)")
