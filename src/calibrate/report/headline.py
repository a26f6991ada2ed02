"""The headline at the top of a report: the panel's figures in words.

Period, tasks, people, the score with its interval, bias and typical miss, the
promises kept, a person's flags, the trend, and the change since the previous
period. Numbers are the panel's own (the template shows them rounded and keeps
the exact value in ``data-value``).
"""

from __future__ import annotations

from datetime import date, timedelta

from calibrate import reference as real_developers
from calibrate import rules
from calibrate.panel import ScorePanel
from calibrate.panel_words import flag_sentences
from calibrate.report.data import ReportData
from calibrate.report.model import trend_words
from calibrate.text import count, factor, percent


def headline(data: ReportData) -> dict:
    """What the template's headline shows, as a dict."""
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
            f"not enough data: {count(n, 'finished task')}, a score needs {rules.MIN_SCORE_N}"
        )
    else:
        shrunk = (
            f"; raw {panel['score_raw']:.0f}, shrunk toward {panel['reference']}"
            if panel["reference"] != "itself"
            else ""
        )
        provisional = (
            f" Provisional: from only {count(n, 'finished task')}."
            if out["status"] == "provisional"
            else ""
        )
        out["score_words"] = (
            f"90% interval of the long-run score {panel['score_low']:.0f}-"
            f"{panel['score_high']:.0f}{shrunk}.{provisional}"
        )
        place = real_developers.describe(panel.get("population"))
        if place is not None:
            out["score_words"] += f" Among real developers: {place}."
    promises = panel["promises"]
    out["keep_rate"] = promises["keep_rate"]
    out["promises_due"] = promises["due"]
    out["kept"] = promises["kept"]
    out.update(keep_words(panel))
    out["flags"] = flag_sentences(panel)
    out["trend_words"] = trend_words(panel["trend"])
    out["change"] = change_words(data)
    return out


def keep_words(panel: ScorePanel) -> dict:
    """The promises card: the count kept (``keep_count``, what happened), the
    raw share in words (``keep_words``), and the estimated long-run keep rate
    labelled as such (``keep_estimate_words`` around the figure: section 4's
    posterior, which leans on the rest of the team), so that "55%" is never
    read as the share of "14 due" that were kept."""
    promises = panel["promises"]
    due, kept = promises["due"], promises["kept"]
    if not due or promises["keep_rate"] is None:
        return {
            "keep_count": "–",
            "keep_words": "no promises due in this window",
            "keep_estimate_before": None,
            "keep_estimate_after": None,
        }
    if promises["keep_prior"] == "team" and promises["team_keep_rate"] is not None:
        prior = panel["reference"]
        others = f"the rest of {prior}" if prior.startswith("team ") else f"{prior} else"
        leaning = (
            f", leaning on {others} ({percent(promises['team_keep_rate'])}) with a prior worth "
            f"{rules.KEEP_PRIOR_WEIGHT:.0f} promises"
        )
    else:
        leaning = ""
    interval = ""
    if promises["keep_low"] is not None and promises["keep_high"] is not None:
        low, high = promises["keep_low"] * 100, promises["keep_high"] * 100
        interval = f" (90%: {low:.0f}-{high:.0f}%)"
    gauge = promises["gauges"]["keep_rate"]
    flagged = f" Flagged: under {percent(gauge['flag'])}." if gauge["status"] == "flag" else ""
    return {
        "keep_count": f"{kept:,} of {due:,}",
        "keep_words": f"{count(due, 'promise')} due, {kept:,} kept ({percent(kept / due)}).",
        "keep_estimate_before": "Estimated long-run keep rate:",
        "keep_estimate_after": f"{interval}{leaning}.{flagged}",
    }


def scope_label(panel: ScorePanel) -> str:
    name = panel["name"]
    if panel["scope"] == "person" and name is not None:
        return name
    if panel["scope"] == "team":
        return f"team {panel['name']}"
    return "everyone"


def period_words(panel: ScorePanel, span: tuple[date, date] | None = None) -> str:
    """ "2026-06-01 to 2026-11-30 (27 weeks)", or the ``span`` of all history."""
    window = panel["window"]
    weeks = window["weeks"]
    if window["since"] is None or weeks is None:
        if span is None:
            return "all history"
        return f"all history: {span[0].isoformat()} to {span[1].isoformat()}"
    until = window["until"]
    last = (date.fromisoformat(until) - timedelta(days=1)).isoformat() if until else panel["today"]
    return f"{window['since']} to {last} ({count(weeks, 'week')})"


def change_words(data: ReportData) -> dict:
    """The change since the previous period of the same length: ``text`` in
    words and ``delta`` (score points, ``None`` when either score is missing)."""
    previous = data.previous
    if previous is None:
        return {"text": "No earlier period to compare: the window is all history.", "delta": None}
    window = previous["window"]
    until, weeks = window["until"], window["weeks"]
    assert until is not None and weeks is not None  # the window before a window has both ends
    last = (date.fromisoformat(until) - timedelta(days=1)).isoformat()
    when = f"the previous {count(weeks, 'week')} ({window['since']} to {last})"
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
