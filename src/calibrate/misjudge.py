"""Where you misjudge: ``calibrate score --by tag|project|size|weekday``.

For one scope and window (the score's), the counted tasks and the promises due
are split into groups: each tag (a task with several is in each of their
groups), each project, each size bucket of the estimate, or the weekday the
task was created on (in the user's time zone). Per group with
:data:`~calibrate.rules.GROUP_MIN_TASKS` or more counted tasks: the bias (the
median ratio, with its distribution-free 90% interval from the binomial order
statistics) against the rest's, and the typical miss with the score's 90%
interval (section 2's, raw, with the scope's drift); per group with
:data:`~calibrate.rules.GROUP_MIN_PROMISES` or more promises due: the keep
rate with section 4's interval (its prior the scope's promises outside the
group). "Clearly different from your usual" is a permutation test within ISO
weeks, Benjamini-Hochberg corrected across the groups shown
(:mod:`calibrate.stats.groups`). :func:`build_groups` returns it JSON-ready
(:class:`GroupsResult`); :func:`render_groups` puts it in words. A ratio says
how far off an estimate was, never how fast the work went: the words never
say faster or slower.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date
from typing import Literal, TypedDict

import numpy as np
import pandas as pd

from calibrate import panel, rules, teams
from calibrate.durations import local_today
from calibrate.selection import Selection
from calibrate.stats import metrics
from calibrate.stats.groups import benjamini_hochberg, median_interval, permutation_test
from calibrate.stats.promises import keep_posterior
from calibrate.store import load, settings
from calibrate.text import factor, fit, percent

Kind = Literal["tag", "project", "size", "weekday"]
KINDS: tuple[Kind, ...] = ("tag", "project", "size", "weekday")
#: The fields of a task a grouping reads, besides the counted columns.
GROUP_FIELDS = ("tags", "project", "created_at")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class GroupRow(TypedDict):
    """One group's figures (``None`` where it has too few tasks or promises):
    its median ratio (``bias_factor``, with the 90% interval of the median)
    against the rest's, the difference in median log2 ratio, the permutation
    p-value, its Benjamini-Hochberg adjustment and whether it survives at q;
    the typical miss with its 90% interval; the keep rate with its 90%
    interval against the rest's."""

    group: str
    n: int
    rest_n: int
    bias: float | None
    bias_factor: float | None
    bias_factor_low: float | None
    bias_factor_high: float | None
    rest_bias_factor: float | None
    typical_miss: float | None
    typical_miss_low: float | None
    typical_miss_high: float | None
    due: int
    kept: int
    keep_rate: float | None
    keep_rate_low: float | None
    keep_rate_high: float | None
    rest_keep_rate: float | None
    difference: float | None
    p_value: float | None
    p_adjusted: float | None
    different: bool


class GroupsResult(TypedDict):
    """``calibrate score --by KIND --json``: the scope, its window, the test's
    settings and a row per group shown; ``left_out``, the groups with fewer
    than 10 counted tasks and 10 promises due; ``not_in_summaries``, the people
    of the scope counted from imported team summaries (law 6), which carry no
    tags, projects or single tasks: in none of the groups."""

    by: Kind
    scope: Literal["person", "team", "everyone"]
    name: str | None
    window: panel.Window
    today: str
    n: int
    due: int
    bias_factor: float | None
    shuffles: int
    q: float
    tested: int
    different: int
    groups: list[GroupRow]
    left_out: list[str]
    not_in_summaries: int


# --- groups ---------------------------------------------------------------------------


def _tags(texts) -> list[list[str]]:
    """Each task's tags from the stored JSON text (none for NULL or bad text)."""
    out: list[list[str]] = []
    for text in texts:
        try:
            found = json.loads(text) if isinstance(text, str) else []
        except ValueError:
            found = []
        out.append(sorted({str(tag) for tag in found}) if isinstance(found, list) else [])
    return out


def memberships(kind: Kind, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Group name -> which rows of ``frame`` (with ``estimate_h`` and the
    :data:`GROUP_FIELDS`) belong to it, in the order groups are shown."""
    n = len(frame)
    if kind == "tag":  # each distinct tags text parsed once (a million tasks share a few)
        codes, texts = pd.factorize(frame["tags"].to_numpy(dtype=object))  # NULL: -1
        tags = _tags(texts)
        names = sorted({tag for row in tags for tag in row})
        index = {name: i for i, name in enumerate(names)}
        table = np.zeros((len(tags) + 1, len(names)), dtype=bool)  # the last row: no tags
        for code, found in enumerate(tags):
            for tag in found:
                table[code, index[tag]] = True
        member = table[codes].T
        return {name: member[i] for i, name in enumerate(names)}
    if kind == "project":
        projects = frame["project"].to_numpy(dtype=object)
        names = sorted({p for p in projects if isinstance(p, str) and p})
        return {name: projects == name for name in names}
    if kind == "size":
        buckets = rules.size_buckets(frame["estimate_h"].to_numpy(dtype=float))
        return {label: buckets == b for b, label in enumerate(rules.SIZE_LABELS) if n}
    days = load.local_dates(frame["created_at"].to_numpy(dtype=object)).astype(np.int64)
    known = frame["created_at"].notna().to_numpy() & (days > np.iinfo(np.int64).min)
    weekday = np.where(known, (days + 3) % 7, -1)  # 1970-01-01 was a Thursday
    return {name: weekday == d for d, name in enumerate(WEEKDAYS) if n}


def _ordered(names: list[str], counts: dict[str, int], kind: Kind) -> list[str]:
    if kind in ("size", "weekday"):
        return names
    return sorted(names, key=lambda name: (-counts[name], name))


# --- building ----------------------------------------------------------------------------


def build_groups(
    conn: sqlite3.Connection | None,
    selection: Selection,
    by: Kind,
    *,
    today: date | None = None,
    shuffles: int = rules.GROUP_SHUFFLES,
    seed: int = 0,
) -> GroupsResult:
    """Where the scope misjudges, group by group (see the module doc)."""
    return build_kinds(conn, selection, (by,), today=today, shuffles=shuffles, seed=seed)[by]


def build_kinds(
    conn: sqlite3.Connection | None,
    selection: Selection,
    kinds: Sequence[Kind] = KINDS,
    *,
    today: date | None = None,
    shuffles: int = rules.GROUP_SHUFFLES,
    seed: int = 0,
) -> dict[Kind, GroupsResult]:
    """:func:`build_groups` for each of ``kinds``, from one read of the
    scope's tasks and promises (the report shows all four kinds: reading them
    once a kind took a quarter of a 1,000,000-task report)."""
    today = today or local_today()
    if conn is not None:
        selection = load.resolve_person(conn, selection)
        tasks = load.counted_tasks(conn, selection, with_people=True, extra=GROUP_FIELDS)
        values = settings.read_all(conn)
        outcomes = panel.promise_outcomes(
            conn, selection, today, values, extra=(*GROUP_FIELDS, "estimate_h")
        )
    else:
        tasks = pd.DataFrame(
            {col: [] for col in ("estimate_h", "actual_h", "week", "person", "team")}
            | {field: np.array([], dtype=object) for field in GROUP_FIELDS}
        )
        outcomes = pd.DataFrame(
            {"resolved": np.array([], dtype=bool), "kept": np.array([], dtype=bool)}
            | {field: np.array([], dtype=object) for field in GROUP_FIELDS}
            | {"estimate_h": np.array([], dtype=float)}
        )
    part = teams.summary_part(conn, selection) if conn is not None else None
    return {
        by: assemble_groups(
            selection,
            by,
            tasks,
            outcomes,
            today=today,
            shuffles=shuffles,
            seed=seed,
            not_in_summaries=part.people if part is not None else 0,
        )
        for by in kinds
    }


def assemble_groups(
    selection: Selection,
    by: Kind,
    tasks: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    today: date,
    shuffles: int = rules.GROUP_SHUFFLES,
    seed: int = 0,
    not_in_summaries: int = 0,
) -> GroupsResult:
    """:func:`build_groups` from data in hand: ``tasks`` as
    :func:`load.counted_tasks` gives them (with people and the
    :data:`GROUP_FIELDS`), ``outcomes`` as :func:`panel.promise_outcomes`
    (with the :data:`GROUP_FIELDS` and ``estimate_h``)."""
    r = metrics.log_ratio(
        tasks["estimate_h"].to_numpy(dtype=float), tasks["actual_h"].to_numpy(dtype=float)
    )
    n = int(r.size)
    task_groups = memberships(by, tasks)
    resolved = outcomes["resolved"].to_numpy(dtype=bool)
    kept = outcomes["kept"].to_numpy(dtype=bool) & resolved
    promise_groups = memberships(by, outcomes)
    names = sorted(set(task_groups) | set(promise_groups))
    counts = {g: int(task_groups[g].sum()) if g in task_groups else 0 for g in names}
    dues = {
        g: int((promise_groups[g] & resolved).sum()) if g in promise_groups else 0 for g in names
    }
    if by in ("size", "weekday"):
        order = [g for g in (rules.SIZE_LABELS if by == "size" else WEEKDAYS) if g in names]
    else:
        order = _ordered(names, counts, by)
    shown = [
        g
        for g in order
        if counts[g] >= rules.GROUP_MIN_TASKS or dues[g] >= rules.GROUP_MIN_PROMISES
    ]
    left_out = [g for g in order if g not in shown and (counts[g] or dues[g])]
    # The test: groups with enough tasks, inside and outside, among the newest
    # GROUP_TEST_TASKS of the scope (its cost grows with the tasks), corrected together.
    weeks = tasks["week"].to_numpy(dtype=np.int64)
    sample = np.sort(np.argsort(weeks, kind="stable")[-rules.GROUP_TEST_TASKS :])
    in_sample = {g: int(task_groups[g][sample].sum()) for g in task_groups}
    tested = [
        g
        for g in shown
        if in_sample.get(g, 0) >= rules.GROUP_MIN_TASKS
        and sample.size - in_sample.get(g, 0) >= rules.GROUP_MIN_TASKS
    ]
    p_values = np.full(len(shown), np.nan)
    differences = np.full(len(shown), np.nan)
    if tested:
        members = np.stack([task_groups[g][sample] for g in tested])
        diff, p = permutation_test(r[sample], members, weeks[sample], shuffles=shuffles, seed=seed)
        for g, d, value in zip(tested, diff, p, strict=True):
            differences[shown.index(g)] = d
            p_values[shown.index(g)] = value
    adjusted, rejected = benjamini_hochberg(p_values, rules.GROUP_FDR_Q)
    scope, name = panel._scope(selection)
    rows = []
    for i, g in enumerate(shown):
        inside = task_groups.get(g, np.zeros(n, dtype=bool))
        row = _bias_row(g, r, inside, tasks, selection, counts[g] >= rules.GROUP_MIN_TASKS)
        row |= _keep_row(promise_groups.get(g), resolved, kept, dues[g])
        row |= {
            "difference": _number(differences[i]),
            "p_value": _number(p_values[i]),
            "p_adjusted": _number(adjusted[i]),
            "different": bool(rejected[i]),
        }
        rows.append(row)
    return panel.clean(
        {
            "by": by,
            "scope": scope,
            "name": name,
            "window": panel._window(selection, today),
            "today": today.isoformat(),
            "n": n,
            "due": int(resolved.sum()),
            "bias_factor": float(2.0 ** np.median(r)) if n else None,
            "shuffles": shuffles,
            "q": rules.GROUP_FDR_Q,
            "tested": len(tested),
            "different": int(rejected.sum()),
            "groups": rows,
            "left_out": left_out,
            "not_in_summaries": not_in_summaries,
        }
    )


def _number(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _bias_row(group, r, inside, tasks, selection, enough) -> dict:
    """A group's bias, its interval and the rest's, and its typical miss."""
    mine, rest = r[inside], r[~inside]
    row: dict = {
        "group": group,
        "n": int(inside.sum()),
        "rest_n": int(rest.size),
        "bias": None,
        "bias_factor": None,
        "bias_factor_low": None,
        "bias_factor_high": None,
        "rest_bias_factor": float(2.0 ** np.median(rest)) if rest.size else None,
        "typical_miss": None,
        "typical_miss_low": None,
        "typical_miss_high": None,
    }
    if not enough:
        return row
    bias = float(np.median(mine))
    interval = median_interval(mine)
    absolute = metrics.clipped_abs(mine)
    drift_var = panel.scope_drift(selection, tasks[inside])
    m, m_low, m_high = metrics.interval_m(
        mine.size, absolute.sum(), np.square(absolute).sum(), drift=drift_var
    )
    with np.errstate(over="ignore"):  # a high end of inf (no spread, little data): None
        high = float(2.0**m_high)
    row |= {
        "bias": bias,
        "bias_factor": 2.0**bias,
        "bias_factor_low": 2.0 ** interval[0] if interval else None,
        "bias_factor_high": 2.0 ** interval[1] if interval else None,
        "typical_miss": float(2.0**m),
        "typical_miss_low": float(2.0 ** max(float(m_low), 0.0)),
        "typical_miss_high": high,
    }
    return row


def _keep_row(member, resolved, kept, due) -> dict:
    """A group's keep rate (section 4's posterior, the rest's promises its prior)."""
    if member is None:
        member = np.zeros(resolved.shape, dtype=bool)
    mine, rest = member & resolved, ~member & resolved
    k, rest_k, rest_due = int(kept[mine].sum()), int(kept[rest].sum()), int(rest.sum())
    row: dict = {
        "due": due,
        "kept": k,
        "keep_rate": None,
        "keep_rate_low": None,
        "keep_rate_high": None,
        "rest_keep_rate": rest_k / rest_due if rest_due else None,
    }
    if due >= rules.GROUP_MIN_PROMISES:
        mean, low, high = keep_posterior(k, due, rest_k, rest_due)
        row |= {"keep_rate": mean, "keep_rate_low": low, "keep_rate_high": high}
    return row


# --- words ----------------------------------------------------------------------------------


def group_words(by: Kind, group: str) -> str:
    """``Tasks tagged `db```, ``Tasks in project `web```, ``Tasks estimated at
    1-2h``, ``Tasks created on a Monday``."""
    if by == "tag":
        return f"Tasks tagged `{group}`"
    if by == "project":
        return f"Tasks in project `{group}`"
    if by == "size":
        if group.startswith("<="):
            return f"Tasks estimated at {group[2:]} or less"
        if group.startswith(">"):
            return f"Tasks estimated at over {group[1:]}"
        return f"Tasks estimated at {group}"
    return f"Tasks created on a {group}"


def _range(low: float | None, high: float | None, form=factor) -> str:
    return "" if low is None or high is None else f"{form(low).rstrip('x%')}-{form(high)}"


def row_sentence(by: Kind, row: GroupRow, *, person: bool = True) -> str:
    """The plain words of one group: "Tasks tagged `db` take 1.8x your
    estimate (90%: 1.4-2.3x), against 1.1x for the rest." """
    whose = "your" if person else "their"
    interval = _range(row["bias_factor_low"], row["bias_factor_high"])
    return (
        f"{group_words(by, row['group'])} take {factor(row['bias_factor'])} {whose} estimate "
        f"(90%: {interval}), against {factor(row['rest_bias_factor'])} for the rest."
    )


KIND_WORDS = {"tag": "tag", "project": "project", "size": "size", "weekday": "weekday created"}


def render_groups(result: GroupsResult) -> str:
    """``score --by`` for people, at 80 columns: the clear differences in
    plain words first, then a row per group, then how to read it."""
    import textwrap

    by, rows = result["by"], result["groups"]
    person = result["scope"] == "person"
    who = result["name"] or "everyone"
    lines = textwrap.wrap(
        f"Where {'you' if person else who} misjudge{'' if person else 's'}, by "
        f"{KIND_WORDS[by]} ({who}: {result['n']:,} finished tasks, "
        f"{result['due']:,} promises due)",
        width=80,
    )
    if result["not_in_summaries"]:
        people = result["not_in_summaries"]
        lines += textwrap.wrap(
            f"Not in summaries: {people} {'person' if people == 1 else 'people'} of this "
            "scope counted from imported team summaries, which carry no tags, projects or "
            "single tasks, are in none of these groups.",
            width=80,
        )
    lines.append("")
    usual = "your usual" if person else "the usual"
    found = [row for row in rows if row["different"]]
    for row in found:
        sentence = row_sentence(by, row, person=person)
        lines += textwrap.wrap(f"{sentence[:-1]}: clearly different from {usual}.", width=80)
    if not rows:
        lines.append(
            f"No {KIND_WORDS[by]} has {rules.GROUP_MIN_TASKS} finished tasks or "
            f"{rules.GROUP_MIN_PROMISES} promises due yet in this window."
        )
        return "\n".join(lines)
    if not found:
        lines += textwrap.wrap(
            f"No {KIND_WORDS[by]} is clearly different from {usual} ({result['tested']} tested).",
            width=80,
        )
    lines += [
        "",
        f"{KIND_WORDS[by].split()[0]:<12}{'tasks':>6} {'ratio':>6} {'90%':<10}{'rest':>5}"
        f" {'miss':>5} {'90%':<10}{'due':>4} {'kept':>5} 90%",
    ]
    for row in rows:
        mark = " *" if row["different"] else ""
        lines.append(
            f"{fit(row['group'], 11):<12}{row['n']:>6} {factor(row['bias_factor']):>6} "
            f"{_range(row['bias_factor_low'], row['bias_factor_high']):<10}"
            f"{factor(row['rest_bias_factor']):>5} {factor(row['typical_miss']):>5} "
            f"{_range(row['typical_miss_low'], row['typical_miss_high']):<10}"
            f"{row['due']:>4} {percent(row['keep_rate']):>5} "
            f"{_range(row['keep_rate_low'], row['keep_rate_high'], percent):<8}{mark}".rstrip()
        )
    if result["left_out"]:
        lines.append("")
        lines += textwrap.wrap(
            f"Left out (under {rules.GROUP_MIN_TASKS} tasks and {rules.GROUP_MIN_PROMISES} "
            f"promises due): {', '.join(result['left_out'])}.",
            width=80,
        )
    lines.append("")
    lines += textwrap.wrap(
        "ratio: actual / estimate, the group's median, with its 90% interval; rest: the "
        "median of the other tasks; miss: the typical miss; kept: the keep rate of the "
        f"promises due. * clearly different from {usual}: the group's median stands out "
        f"from the rest's in a test against {result['shuffles']:,} shuffles of tasks within "
        f"their weeks, corrected for the {result['tested']} groups tested (false "
        f"discovery rate {result['q']:.2f}). A ratio says how far off an estimate was, "
        "not how fast the work went.",
        width=80,
    )
    return "\n".join(lines)
