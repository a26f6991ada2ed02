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
The same query gives the task's reference-class pool
(:class:`SimilarPool`: its :data:`calibrate.rules.SIMILAR_K` most similar
finished tasks), which the advice's numbers blend in
(:func:`calibrate.hinting.blended_hint`, and ``forecast``). Where this
sqlite3 has no FTS5 there are no receipts (``None``) and the advice is the
size buckets' alone.

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

#: A similar finished task (``suggest --json``'s ``similar``): its id,
#: title and person, whose it is to the person asking (``own`` or
#: ``team``), its estimate, actual and A/E, and its similarity (the share
#: of the asked words it holds).
#: (The call form: no type texts for typing to compile when ``add`` starts.)
Receipt = TypedDict(  # noqa: UP013 (the call form, said above)
    "Receipt",
    {
        "id": int,
        "title": str,
        "person": str,
        "whose": str,
        "estimate_h": float,
        "actual_h": float,
        "ratio": float,
        "similarity": float,
    },
)


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


class SimilarPool:
    """What one query of the index found for a task: its neighbours as
    receipts (the person's own first, up to :data:`calibrate.rules.SIMILAR_K`),
    how many of the query's tokens each holds (``found``) and the query's
    token count (``query_n``): the reference-class pool of
    :func:`calibrate.stats.hints.blend`. ``receipts[:SIMILAR_RECEIPTS]`` are
    the ones shown. A plain class: ``add`` imports this module."""

    __slots__ = ("found", "query_n", "receipts")

    def __init__(self, receipts: list[Receipt], found: list[int], query_n: int):
        self.receipts, self.found, self.query_n = receipts, found, query_n

    @property
    def log_ratios(self) -> list[float]:
        """log2(A/E) of each neighbour."""
        return [math.log2(receipt["ratio"]) for receipt in self.receipts]

    @property
    def shown(self) -> list[Receipt]:
        """The receipts ``suggest`` names (the first, ``add``'s closest)."""
        return self.receipts[: rules.SIMILAR_RECEIPTS]


class _Asker:
    """Asks the index for many tasks of one database: each person's names,
    team and the opted-out names they must not see, looked up once."""

    def __init__(self, conn: sqlite3.Connection, stop: dict[str, int]):
        self.conn, self.stop = conn, stop
        self._people: dict[str, tuple[list[str], str | None, list[str]]] = {}

    def person(self, person: str) -> tuple[list[str], str | None, list[str]]:
        known = self._people.get(person)
        if known is None:
            names = names_of(self.conn, person)
            known = (names, team_of(self.conn, names[0]), opted_out_names(self.conn, names))
            self._people[person] = known
        return known

    def ask(self, person: str, text: str, exclude: Sequence[int], k: int) -> SimilarPool:
        names, team, left_out = self.person(person)
        query_n = len(similar.tokens(text)[: rules.SIMILAR_MAX_TOKENS])
        found = similar.neighbours(
            self.conn,
            text,
            names,
            team,
            k,
            stop=self.stop,
            left_out=left_out,
            exclude_ids=exclude,
            window=rules.SIMILAR_TEAM_WINDOW,
        )
        if not found:
            return SimilarPool([], [], query_n)
        marks = ", ".join("?" * len(found))
        rows = {
            row[0]: row
            for row in self.conn.execute(
                f"SELECT id, title, person, estimate_h, actual_h FROM tasks WHERE id IN ({marks})",  # noqa: S608 (marks)
                [n.task_id for n in found],
            )
        }
        receipts: list[Receipt] = []
        counts: list[int] = []
        for neighbour in found:
            row = rows.get(neighbour.task_id)
            if row is None:
                continue
            _, task_title, task_person, estimate, actual = row
            receipts.append(
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
            counts.append(neighbour.found)
        return SimilarPool(receipts, counts, query_n)


def similar_pool(
    conn: sqlite3.Connection,
    person: str,
    title: str | None,
    tags: Sequence[str] = (),
    project: str | None = None,
    *,
    exclude: Sequence[int] = (),
    k: int = rules.SIMILAR_K,
) -> SimilarPool | None:
    """The ``k`` finished tasks most like one of ``person``'s with these
    words (one query of the index), the person's own first (under any of
    their names), then the team's; ``exclude``: the task asked about.
    ``None`` where the index cannot be asked (no FTS5 here, or a stale index
    on a read-only file)."""
    stop = similar.ready(conn)
    if stop is None:
        return None
    return _Asker(conn, stop).ask(person, similar.task_text(title, tags, project), exclude, k)


def similar_pools(
    conn: sqlite3.Connection,
    tasks: Iterable[tuple[int, str, str | None, Sequence[str], str | None]],
    k: int = rules.SIMILAR_K,
) -> dict[int, SimilarPool] | None:
    """:func:`similar_pool` for many tasks (id, person, title, tags,
    project), each leaving itself out: one query of the index each, every
    person's names looked up once. ``None`` where the index cannot be asked."""
    stop = similar.ready(conn)
    if stop is None:
        return None
    asker = _Asker(conn, stop)
    out: dict[int, SimilarPool] = {}
    for task_id, person, title, tags, project in tasks:
        text = similar.task_text(title, tags, project)
        out[task_id] = asker.ask(person, text, [task_id], k)
    return out


def open_task_pools(
    conn: sqlite3.Connection,
    tasks: Sequence[tuple[int, str]],
    limit: int | None = None,
) -> dict[int, tuple[tuple[float, ...], tuple[int, ...], int]]:
    """The similar finished tasks of open ``tasks`` (id, person), the first
    ``limit`` of them (:data:`calibrate.rules.SIMILAR_FORECAST_TASKS`
    unless given; ``forecast`` gives them in the order people work
    them), by their stored title, tags and project, as ``forecast`` blends
    them in (:attr:`calibrate.stats.forecast.OpenTask.similar`: their log
    ratios, tokens found, the query's token count); only the tasks with a
    similar one; empty without FTS5."""
    import json

    chosen = list(tasks)[: rules.SIMILAR_FORECAST_TASKS if limit is None else limit]
    if not chosen:
        return {}
    words: dict[int, tuple] = {}
    ids = [task_id for task_id, _ in chosen]
    for first in range(0, len(ids), 500):
        part = ids[first : first + 500]
        marks = ", ".join("?" * len(part))
        for task_id, title, tags, project in conn.execute(
            f"SELECT id, title, tags, project FROM tasks WHERE id IN ({marks})",  # noqa: S608 (marks)
            part,
        ):
            words[task_id] = (title, json.loads(tags or "[]"), project)
    asked = [(task_id, person, *words[task_id]) for task_id, person in chosen if task_id in words]
    return {
        task_id: (tuple(pool.log_ratios), tuple(pool.found), pool.query_n)
        for task_id, pool in (similar_pools(conn, asked) or {}).items()
        if any(pool.found)
    }


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
    words (:func:`similar_pool`'s receipts). ``None`` where the index cannot
    be asked."""
    pool = similar_pool(conn, person, title, tags, project, exclude=exclude, k=k)
    return None if pool is None else pool.receipts


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
