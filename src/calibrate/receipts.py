"""Similar past tasks, with receipts (issue 16): what the finished tasks most
like a new one took.

``suggest 3h --title "Fix login timeout"`` and ``suggest --task ID`` name up
to :data:`calibrate.rules.SIMILAR_RECEIPTS` of them, the person's own first,
then their team's (everyone's but theirs without a team; among the
:data:`calibrate.rules.SIMILAR_TEAM_WINDOW` most recently added finished
tasks, which bounds the cost of ``add`` for a newcomer), never an
opted-out person's (the person's own tasks are theirs to see); the hint
after ``add`` names the closest one. Similarity is by words over title,
tags and project (:mod:`calibrate.store.similar`: SQLite FTS5, bm25).
Where this sqlite3 has no FTS5 there are no receipts (``None``): the advice
is the size buckets' alone, as it is anyway (METRICS.md section 7; the
reference-class blend that would move the numbers is not on:
:data:`calibrate.rules.SIMILAR_BLEND`).

Standard library only: ``add`` imports it.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TypedDict

from calibrate import rules
from calibrate.store import similar
from calibrate.store.names import alias_map, names_of
from calibrate.store.tasks import team_of
from calibrate.text import clip, display_width, factor
from calibrate.words import nice_hours


class Receipt(TypedDict):
    """A similar finished task (``suggest --json``'s ``similar``): its id,
    title and person, whose it is to the person asking (``own`` or
    ``team``), its estimate, actual and A/E, and its similarity (the share
    of the asked words it holds)."""

    id: int
    title: str
    person: str
    whose: str
    estimate_h: float
    actual_h: float
    ratio: float
    similarity: float


def opted_out_names(conn: sqlite3.Connection, keep: Iterable[str] = ()) -> list[str]:
    """Every stored name of the people who opted out (here, or in an imported
    summary), but ``keep`` (the person asking: their own tasks are theirs)."""
    rows = conn.execute(
        "SELECT name FROM people WHERE opt_out = 1 "
        "UNION SELECT person FROM summary_people WHERE opt_out = 1"
    ).fetchall()
    if not rows:
        return []
    aliases = alias_map(conn)
    kept = {aliases.resolve(name) for name in keep}
    out: list[str] = []
    for (name,) in rows:
        person = aliases.resolve(name)
        if person not in kept:
            out += aliases.names_of(person)
    return list(dict.fromkeys(out))


def similar_tasks(
    conn: sqlite3.Connection,
    person: str,
    title: str | None,
    tags: Sequence[str] = (),
    project: str | None = None,
    *,
    exclude: Sequence[int] = (),
    k: int = rules.SIMILAR_RECEIPTS,
) -> list[Receipt] | None:
    """Up to ``k`` finished tasks most like one of ``person``'s with these
    words, the person's own first (under any of their names), then the
    team's; ``exclude``: the task asked about. ``None`` where the index
    cannot be asked (no FTS5 here, or a stale index on a read-only file)."""
    stop = similar.ready(conn)
    if stop is None:
        return None
    names = names_of(conn, person)
    text = similar.task_text(title, tags, project)
    found = similar.neighbours(
        conn,
        text,
        names,
        team_of(conn, names[0]),
        k,
        stop=stop,
        left_out=opted_out_names(conn, names),
        exclude_ids=exclude,
        window=rules.SIMILAR_TEAM_WINDOW,
    )
    if not found:
        return []
    marks = ", ".join("?" * len(found))
    rows = {
        row[0]: row
        for row in conn.execute(
            f"SELECT id, title, person, estimate_h, actual_h FROM tasks WHERE id IN ({marks})",  # noqa: S608 (marks)
            [n.task_id for n in found],
        )
    }
    out: list[Receipt] = []
    for neighbour in found:
        row = rows.get(neighbour.task_id)
        if row is None:
            continue
        _, task_title, task_person, estimate, actual = row
        out.append(
            {
                "id": neighbour.task_id,
                "title": task_title,
                "person": task_person,
                "whose": neighbour.whose,
                "estimate_h": estimate,
                "actual_h": actual,
                "ratio": actual / estimate,
                "similarity": round(neighbour.similarity, 4),
            }
        )
    return out


# --- words ------------------------------------------------------------------------------------


def _title(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal columns (at least 12)."""
    return clip(text, max(width, 12))


def _ratio(ratio: float) -> str:
    """A/E as people read it: 1.5x, 0.8x; two decimals below 0.1x."""
    if not math.isfinite(ratio):
        return "?"
    return f"{ratio:.2f}x" if ratio < 0.095 else factor(ratio)


def receipt_words(receipt: Receipt, *, you: bool = True, width: int = 80) -> str:
    """One receipt as people read it, indented by two spaces: '#12 "Fix login
    redirect" (yours): 3h estimated, took 5.5h (1.8x)', its figures on a
    second line when the first would pass ``width`` (a long title shortened)."""
    whose = "yours" if receipt["whose"] == "own" and you else clip(receipt["person"], 24) + "'s"
    head, tail = f"  #{receipt['id']} ", f" ({whose}):"
    title = _title(receipt["title"], width - len(head) - display_width(tail) - 2)
    figures = (
        f"{nice_hours(receipt['estimate_h'])} estimated, "
        f"took {nice_hours(receipt['actual_h'])} ({_ratio(receipt['ratio'])})"
    )
    first = f'{head}"{title}"{tail}'
    if display_width(first) + 1 + len(figures) <= width:
        return f"{first} {figures}"
    return f"{first}\n{' ' * len(head)}{figures}"


def closest_words(receipt: Receipt) -> str:
    """The closest task, as the end of ``add``'s one-line hint."""
    return (
        f'closest: #{receipt["id"]} "{_title(receipt["title"], 28)}", '
        f"{nice_hours(receipt['estimate_h'])} took {nice_hours(receipt['actual_h'])} "
        f"({_ratio(receipt['ratio'])})"
    )
