"""Similar finished tasks by their words: a full-text index (SQLite FTS5, bm25).

The outside view of issue 16: when a task is estimated, the finished tasks
most like it (by title, tags and project) are named with what they took
(the receipts, :mod:`calibrate.receipts`). The reference-class blend of
their log ratios into the advice's numbers (:mod:`calibrate.stats.similar`)
is replayed by ``scripts/replay_similar.py`` and is in the product's
numbers (``suggest``, ``add``'s hint, ``forecast``).

**The index.** One FTS5 table over the counted tasks (estimate and actual
above zero, not dropped), rowid = the task's id::

    task_fts(body, person, team)

``body`` is :func:`task_text` (tags, project, title); ``person`` and ``team``
hold one token each (:func:`person_token`, :func:`team_token`: the name's
UTF-8 bytes in hex, so any name is one token and no name can be confused with
another), so that "this person's tasks" and "the team's without them" are
column filters FTS5 resolves from its index. Their bm25 weight is 0: they
restrict, never score.

**Kept by the code that writes tasks** (:func:`changed`, called with the ids
a write touched, inside its transaction: ``add``, ``done``, ``edit``, ``rm``,
imports, merges...), never by triggers: a trigger naming an FTS5 table
would break every write where the sqlite3 build lacks FTS5. Where FTS5 is
missing (:func:`available`, probed once per process), a write marks the
index stale (and a deletion empties it, so that no deleted title lingers);
advice then falls back to the size buckets, and the next reader with FTS5
rebuilds it (:func:`ready`). The ``similar_state`` row (migration m009)
says whether the index is current and holds the stop list.

**The query** (:func:`neighbours`): the text's distinct tokens (lower case,
letters and digits, diacritics removed: the ``unicode61`` tokenizer's rule),
OR-ed; the person's own tasks first (every name they go by), then the
team's without the person (everyone's but theirs without a team), never an
opted-out person's; ranked by bm25, ties to the newest id. FTS5 hands over
the candidates newest first (the :data:`CANDIDATES` newest holding any
searched token, the person's own and then the team's), and their bm25 is
computed here as FTS5 computes it (:func:`bm25`), from the index's totals
and each token's count of tasks (``similar_terms``, kept with the stop
list): FTS5's own bm25 counts, for each token, every task holding it, which
cost ``add`` as much as the rest of its work together. Tokens in more
than :data:`calibrate.rules.SIMILAR_STOP_SHARE` of the indexed tasks (the
stop list, made again on a rebuild and whenever a tenth as many tasks as it
was made from, at most :data:`STOP_REFRESH`, have been indexed since) are
left out of the MATCH: they cost the most and rank the least (none below
:data:`STOP_MIN_TASKS` indexed tasks). A
neighbour's similarity is the share of the query's tokens (all of them) its
body holds.

Standard library only: ``add`` asks for the closest task.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from calibrate import rules

TABLE = "task_fts"
VOCAB = "task_fts_vocab"
#: Each body token's count of indexed tasks holding it (bm25's document
#: frequency), made with the stop list: a plain table, built beside the index.
TERMS = "similar_terms"
#: FTS5's own tables behind :data:`TABLE` (emptied where FTS5 is missing and a
#: task is deleted: they are plain tables to a build without the module).
SHADOWS = ("task_fts_data", "task_fts_idx", "task_fts_content", "task_fts_docsize", TERMS)
#: Rows of FTS5's data table that hold no words (its averages and its
#: structure record): kept when the index is emptied without FTS5, so that a
#: build with FTS5 can still open the table to drop it.
_KEPT = {"task_fts_data": " WHERE id NOT IN (1, 10)"}
#: The stop list is recomputed once the tasks indexed since it was made reach a
#: tenth of those it was made from, or this many.
STOP_REFRESH = 1_000
#: Below this many indexed tasks there is no stop list: every query is fast,
#: and in a small database most words are in a tenth of the tasks.
STOP_MIN_TASKS = 1_000
#: bm25 over (body, person, team): the filter columns never score. The
#: ranking computes it itself (:func:`bm25`); the tests hold the two equal.
BM25 = f"bm25({TABLE}, 1.0, 0.0, 0.0)"
#: FTS5's bm25 constants.
BM25_K1, BM25_B = 1.2, 0.75
#: The tasks holding any searched token that a query ranks: the newest so many
#: (FTS5 hands them over newest first and stops), so that its cost is bounded
#: whatever the index's size.
CANDIDATES = 100
SCHEMA = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
    "body, person, team, tokenize = 'unicode61 remove_diacritics 2')",
    f"CREATE VIRTUAL TABLE {VOCAB} USING fts5vocab({TABLE}, 'col')",
    f"CREATE TABLE IF NOT EXISTS {TERMS} (term TEXT PRIMARY KEY, doc INTEGER NOT NULL) "
    "WITHOUT ROWID",
)
#: The index's state (migration m009): current or stale, and its stop list.
STATE_TABLE = """
    CREATE TABLE similar_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        status TEXT NOT NULL CHECK (status IN ('current', 'stale')),
        since_stop INTEGER NOT NULL DEFAULT 0,
        stop_total INTEGER NOT NULL DEFAULT 0,
        stop TEXT NOT NULL DEFAULT ''
    )
"""
_COUNTED = rules.counted_sql()
_ALL_SQL = f"SELECT id, title, tags, project, person, team FROM tasks WHERE {_COUNTED}"  # noqa: S608
_ROWS_SQL = f"{_ALL_SQL} AND id IN "

_AVAILABLE: list[bool] = []


def available(conn: sqlite3.Connection | None = None) -> bool:
    """Whether this process's sqlite3 has FTS5, once per process: the build's
    compile options, read on ``conn`` when given (30 microseconds), else (or
    when they do not say) a probe in a throwaway in-memory database (0.4 ms)."""
    if not _AVAILABLE and conn is not None:
        try:
            if conn.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0]:
                _AVAILABLE.append(True)
        except sqlite3.Error:
            pass
    if not _AVAILABLE:
        try:
            probe = sqlite3.connect(":memory:")
            try:
                probe.execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
            finally:
                probe.close()
            _AVAILABLE.append(True)
        except sqlite3.Error:
            _AVAILABLE.append(False)
    return _AVAILABLE[0]


# --- text --------------------------------------------------------------------------------


#: Every ASCII character that is not a letter or a digit, as a space.
_ASCII_SPACES = {code: " " for code in range(128) if not chr(code).isalnum()}


def words(text: str | None) -> list[str]:
    """The tokens of ``text``, repeats and all, as FTS5's ``unicode61``
    tokenizer (``remove_diacritics 2``) sees them, near enough: lower case
    runs of letters and digits, accents removed."""
    if not text:
        return []
    if not text.isascii():
        import unicodedata

        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return "".join(ch if ch.isalnum() else " " for ch in text.lower()).split()
    return text.lower().translate(_ASCII_SPACES).split()  # no re: add's start-up


def tokens(text: str | None) -> list[str]:
    """The distinct tokens of ``text`` (:func:`words`) in order of first appearance."""
    return list(dict.fromkeys(words(text)))


def task_text(title: str | None, tags: Iterable[str] = (), project: str | None = None) -> str:
    """The indexed body of a task (and a query's text): its tags (sorted), its
    project and its title, separated by spaces. bm25 ignores the order; it
    decides only which tokens a long query keeps (tags and project first)."""
    parts = [*sorted(tags or ()), project or "", title or ""]
    return " ".join(part for part in parts if part)


def person_token(name: str) -> str:
    """The one token naming a (stored) person in the ``person`` column."""
    return "p" + name.encode("utf-8", "surrogatepass").hex()


def team_token(team: str | None) -> str:
    """The one token naming a team (``''`` without one)."""
    return "t" + team.encode("utf-8", "surrogatepass").hex() if team else ""


def similarity(query: Sequence[str], body: str) -> tuple[int, float]:
    """(how many of the query's tokens ``body`` holds, that share of them)."""
    if not query:
        return 0, 0.0
    have = set(tokens(body))
    found = sum(token in have for token in query)
    return found, found / len(query)


# --- the state, and keeping the index ------------------------------------------------------


def _state(conn: sqlite3.Connection) -> tuple[str, int, str, int] | None:
    """(status, tasks indexed since the stop list, the stop list, the tasks
    indexed when it was made), or ``None`` in a database without the state row."""
    try:
        return conn.execute(
            "SELECT status, since_stop, stop, stop_total FROM similar_state WHERE id = 1"
        ).fetchone()
    except sqlite3.OperationalError:
        return None


#: The tasks each connection's bulk write (:func:`deferred`) has written so
#: far, by ``id(connection)``.
_DEFERRED: dict[int, set[int]] = {}


@contextmanager
def deferred(conn: sqlite3.Connection) -> Iterator[None]:
    """Keep the index once for a whole bulk write (an import, a merge), inside
    its transaction: :func:`changed` only notes the tasks it is told of until
    the block ends, then indexes them all at once. Batch by batch, each call
    refreshed the stop list from the whole vocabulary: an import of 100,000
    rows into a new database spent half its time there. An error leaves the
    noted tasks alone (the transaction is rolled back); a block inside
    another is part of it."""
    key = id(conn)
    if key in _DEFERRED:
        yield
        return
    noted: set[int] = set()
    _DEFERRED[key] = noted
    try:
        yield
    finally:
        del _DEFERRED[key]
    changed(conn, noted)


def changed(conn: sqlite3.Connection, task_ids: Iterable[int]) -> None:
    """Keep the index for tasks just written (added, finished, edited,
    reopened, dropped, deleted, imported, merged): each is removed and, if it
    counts, indexed again. Call it inside the write's transaction (within a
    :func:`deferred` block, it notes them for the block's end). Where
    FTS5 is missing the index is marked stale instead (and emptied if any of
    the tasks is gone); a stale index is left to :func:`ready`."""
    noted = _DEFERRED.get(id(conn))
    if noted is not None:
        noted.update(int(task_id) for task_id in task_ids)
        return
    ids = sorted({int(task_id) for task_id in task_ids})
    if not ids:
        return
    state = _state(conn)
    if state is None:
        return
    if state[0] != "current" or not available(conn):
        gone = _missing(conn, ids)
        if gone:  # a deleted task's words must not linger, even in a stale index
            forget_index(conn)
        elif state[0] == "current":
            mark_stale(conn)
        return
    indexed, removed = 0, False
    delta: dict[str, int] = {}  # each word's change in its count of tasks
    for first in range(0, len(ids), 500):
        chunk = ids[first : first + 500]
        marks = ", ".join("?" * len(chunk))
        for (body,) in conn.execute(f"SELECT body FROM {TABLE} WHERE rowid IN ({marks})", chunk):  # noqa: S608 (marks)
            for token in tokens(body):
                delta[token] = delta.get(token, 0) - 1
        conn.execute(f"DELETE FROM {TABLE} WHERE rowid IN ({marks})", chunk)  # noqa: S608 (marks)
        texts = list(_rows_text(conn.execute(f"{_ROWS_SQL}({marks})", chunk).fetchall()))
        for _, body, _, _ in texts:
            for token in tokens(body):
                delta[token] = delta.get(token, 0) + 1
        conn.executemany(
            f"INSERT INTO {TABLE} (rowid, body, person, team) VALUES (?, ?, ?, ?)",  # noqa: S608 (fixed)
            texts,
        )
        indexed += len(texts)
        removed = removed or _missing(conn, chunk)
    if removed:  # a task deleted outright: none of its words may stay in the file
        purge(conn)
        return
    since = state[1] + indexed
    if since >= min(STOP_REFRESH, max(1, state[3] // 10)):
        _refresh_stop(conn)
        return
    _count_terms(conn, delta)
    if indexed:
        conn.execute("UPDATE similar_state SET since_stop = ? WHERE id = 1", (since,))


def _count_terms(conn: sqlite3.Connection, delta: dict[str, int]) -> None:
    """Each word's count of tasks (:data:`TERMS`) moved by ``delta``, between
    two recounts (:func:`_refresh_stop`), so that bm25's counts follow the
    index as tasks come, change and go."""
    changes = [(term, change) for term, change in delta.items() if change]
    if not changes:
        return
    try:
        conn.executemany(
            f"INSERT INTO {TERMS} (term, doc) VALUES (?, ?) "  # noqa: S608 (fixed)
            "ON CONFLICT (term) DO UPDATE SET doc = doc + excluded.doc",
            changes,
        )
    except sqlite3.OperationalError:  # an index made before the table was: count afresh
        _refresh_stop(conn)
        return
    fewer = [term for term, change in changes if change < 0]
    if fewer:
        marks = ", ".join("?" * len(fewer))
        conn.execute(f"DELETE FROM {TERMS} WHERE doc <= 0 AND term IN ({marks})", fewer)  # noqa: S608 (marks)


def changed_uids(conn: sqlite3.Connection, uids: Iterable[str]) -> None:
    """:func:`changed` for tasks known by their uids (an import's, a merge's)."""
    uids = list(dict.fromkeys(uids))
    if not uids or _state(conn) is None:
        return
    ids: list[int] = []
    for first in range(0, len(uids), 500):
        chunk = uids[first : first + 500]
        marks = ", ".join("?" * len(chunk))
        ids += [
            row[0]
            for row in conn.execute(f"SELECT id FROM tasks WHERE uid IN ({marks})", chunk)  # noqa: S608 (marks)
        ]
    changed(conn, ids)


def _missing(conn: sqlite3.Connection, ids: list[int]) -> bool:
    for first in range(0, len(ids), 500):
        chunk = ids[first : first + 500]
        marks = ", ".join("?" * len(chunk))
        found = conn.execute(
            f"SELECT count(*) FROM tasks WHERE id IN ({marks})",  # noqa: S608 (marks)
            chunk,
        ).fetchone()[0]
        if found < len(chunk):
            return True
    return False


def mark_stale(conn: sqlite3.Connection, *, forget: bool = False) -> None:
    """Mark the index stale (rebuilt by the next reader with FTS5). With
    ``forget``, empty it too, even without FTS5 (its tables are then plain
    ones): a deleted task's words must not linger in the file."""
    if _state(conn) is None:
        return
    conn.execute("UPDATE similar_state SET status = 'stale', since_stop = 0 WHERE id = 1")
    if forget:
        forget_index(conn)


def forget_index(conn: sqlite3.Connection) -> None:
    """Empty the index (dropped with FTS5; without, its tables are emptied as
    the plain tables they then are) and mark it stale: rebuilt when next read."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if available(conn):
        conn.execute(f"DROP TABLE IF EXISTS {VOCAB}")
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"DROP TABLE IF EXISTS {TERMS}")
    else:
        for table in SHADOWS:
            if table in names:
                conn.execute(f"DELETE FROM {table}{_KEPT.get(table, '')}")  # noqa: S608 (fixed names)
    if "similar_state" in names:
        conn.execute("UPDATE similar_state SET status = 'stale', since_stop = 0 WHERE id = 1")


def _rows_text(rows: Iterable[Sequence]) -> Iterable[tuple]:
    """(id, body, person token, team token) of task rows (id, title, tags
    JSON, project, person, team)."""
    import json

    for task_id, title, tags, project, person, team in rows:
        try:
            tag_list = json.loads(tags) if tags else []
        except ValueError:
            tag_list = []
        if not isinstance(tag_list, list):
            tag_list = []
        body = task_text(title, [str(tag) for tag in tag_list], project)
        yield task_id, body, person_token(person), team_token(team)


def _insert(conn: sqlite3.Connection, rows: list) -> int:
    conn.executemany(
        f"INSERT INTO {TABLE} (rowid, body, person, team) VALUES (?, ?, ?, ?)",  # noqa: S608 (fixed)
        _rows_text(rows),
    )
    return len(rows)


def rebuild(conn: sqlite3.Connection) -> None:
    """Drop the index and fill it again from every counted task, in the
    caller's transaction (FTS5 must be there); then merge its b-trees and
    compute the stop list."""
    conn.execute(f"DROP TABLE IF EXISTS {VOCAB}")
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.execute(f"DROP TABLE IF EXISTS {TERMS}")
    for statement in SCHEMA:
        conn.execute(statement)
    cursor = conn.execute(_ALL_SQL)
    while rows := cursor.fetchmany(10_000):
        _insert(conn, rows)
    conn.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('optimize')")  # noqa: S608 (fixed)
    conn.execute(
        "INSERT OR REPLACE INTO similar_state (id, status, since_stop, stop) "
        "VALUES (1, 'current', 0, '')"
    )
    _refresh_stop(conn)


def _refresh_stop(conn: sqlite3.Connection) -> None:
    """The stop list (body tokens in more than the stop share of the indexed
    tasks, kept as ``token:count`` words: no JSON, ``add`` reads it) and each
    body token's count of tasks (:data:`TERMS`), from one read of FTS5's
    vocabulary."""
    total = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]  # noqa: S608 (fixed)
    counts = conn.execute(
        f"SELECT term, doc FROM {VOCAB} WHERE col = 'body' ORDER BY term"  # noqa: S608 (fixed)
    ).fetchall()
    conn.execute(SCHEMA[2])  # (an index made before the table was)
    conn.execute(f"DELETE FROM {TERMS}")  # noqa: S608 (fixed)
    conn.executemany(f"INSERT INTO {TERMS} VALUES (?, ?)", counts)  # noqa: S608 (fixed)
    common = []
    if total >= STOP_MIN_TASKS:
        common = [(term, doc) for term, doc in counts if doc > rules.SIMILAR_STOP_SHARE * total]
    stop = " ".join(f"{term}:{doc}" for term, doc in common)
    conn.execute(
        "UPDATE similar_state SET since_stop = 0, stop_total = ?, stop = ? WHERE id = 1",
        (total, stop),
    )


def ready(conn: sqlite3.Connection) -> dict[str, int] | None:
    """The stop list (token -> tasks holding it) when the index can be asked,
    else ``None`` (no FTS5, or a stale index that could not be rebuilt: a
    read-only or locked file). A stale index is rebuilt here, in a
    transaction of its own, when FTS5 is there."""
    state = _state(conn)
    if state is None or not available(conn):
        return None
    if state[0] != "current":
        try:  # (inside another transaction, this fails too: no rebuild there)
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return None
        try:
            state = _state(conn)
            if state is not None and state[0] != "current":
                rebuild(conn)
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return None
        state = _state(conn)
        if state is None:
            return None
    return _stop_list(state[2])


def _stop_list(text: str) -> dict[str, int]:
    out = {}
    for word in (text or "").split():
        token, _, doc = word.rpartition(":")
        out[token] = int(doc) if doc.isdigit() else 0
    return out


# --- the query ------------------------------------------------------------------------------


class Neighbour:
    """A similar counted task: its id, whose it is (``own`` or ``team``),
    its bm25 (negative: lower is closer), how many of the query's tokens it
    holds and that share (its similarity), and its body."""

    __slots__ = ("bm25", "body", "found", "similarity", "task_id", "whose")

    def __init__(
        self, task_id: int, whose: str, bm25: float, found: int, similarity: float, body: str
    ):
        self.task_id, self.whose, self.bm25 = task_id, whose, bm25
        self.found, self.similarity, self.body = found, similarity, body

    def __repr__(self) -> str:
        return f"Neighbour(#{self.task_id}, {self.whose}, {self.similarity:.2f})"


def prune(query: Sequence[str], stop: dict[str, int]) -> list[str]:
    """The query's tokens not in the stop list; if that leaves none, the rarest one."""
    kept = [token for token in query if token not in stop]
    if kept or not query:
        return kept
    return [min(query, key=lambda token: stop.get(token, 0))]


def _any(column: str, values: Iterable[str]) -> str:
    quoted = " OR ".join(f'"{value}"' for value in values)
    return f"{column} : ({quoted})"


def match_expressions(
    searched: Sequence[str],
    names: Sequence[str],
    team: str | None,
    left_out: Sequence[str] = (),
) -> tuple[str, str]:
    """The two MATCH texts: the person's own tasks (any of their stored
    ``names``), and the team's without them and without the ``left_out``
    names (everyone's but theirs when ``team`` is ``None``)."""
    body = _any("body", searched)
    own = f"{_any('person', map(person_token, names))} AND {body}"
    excluded = _any("person", map(person_token, [*names, *left_out]))
    if team:
        rest = f'(team : "{team_token(team)}" NOT {excluded}) AND {body}'
    else:
        rest = f"{body} NOT {excluded}"
    return own, rest


def _varints(blob: bytes) -> list[int]:
    """SQLite's varints (big-endian, seven bits a byte, the ninth byte whole)."""
    out, i = [], 0
    while i < len(blob):
        value = 0
        for j in range(9):
            byte = blob[i]
            i += 1
            if j == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        out.append(value)
    return out


class Totals:
    """What bm25 needs of the whole index: the tasks indexed, their mean
    length in tokens (every column: FTS5's rule), and the tasks holding each
    searched token (:data:`TERMS`, as of the last stop list)."""

    __slots__ = ("docs_with", "mean_length", "rows")

    def __init__(self, conn: sqlite3.Connection, searched: Sequence[str]):
        record = conn.execute("SELECT block FROM task_fts_data WHERE id = 1").fetchone()
        counts = _varints(record[0]) if record and record[0] else []
        self.rows = counts[0] if counts else 0
        self.mean_length = sum(counts[1:]) / self.rows if self.rows else 1.0
        marks = ", ".join("?" * len(searched))
        try:
            found = conn.execute(
                f"SELECT term, doc FROM {TERMS} WHERE term IN ({marks})",  # noqa: S608 (marks)
                list(searched),
            ).fetchall()
        except sqlite3.OperationalError:  # an index made before the table was: made again later
            found = []
        self.docs_with = dict(found)


def bm25(searched: Sequence[str], body: str, team: str, totals: Totals) -> float:
    """FTS5's ``bm25(task_fts, 1.0, 0.0, 0.0)`` of a task holding ``body``
    (and ``team``'s token, if any, beside its person's): negative, lower is
    closer. FTS5's formula (k1 1.2, b 0.75; an idf of at most zero counts
    as 1e-6), with each token's task count from :data:`TERMS`."""
    import math

    held = words(body)
    length = len(held) + 1 + (1 if team else 0)  # the person's token, the team's
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / totals.mean_length)
    score = 0.0
    for token in searched:
        frequency = held.count(token)
        if not frequency:
            continue
        hits = min(max(totals.docs_with.get(token, 0), 0), totals.rows)
        idf = math.log((totals.rows - hits + 0.5) / (hits + 0.5))
        score += max(idf, 1e-6) * frequency * (BM25_K1 + 1) / (frequency + norm)
    return -score


def neighbours(
    conn: sqlite3.Connection,
    text: str,
    names: Sequence[str],
    team: str | None,
    k: int,
    *,
    stop: dict[str, int] | None = None,
    left_out: Sequence[str] = (),
    exclude_ids: Sequence[int] = (),
    window: int | None = None,
) -> list[Neighbour]:
    """Up to ``k`` most similar indexed tasks to ``text``: the person's own
    (tasks stored under any of ``names``) first, best bm25 first (ties: the
    newest), then the team's without them (everyone's but theirs when
    ``team`` is ``None``; with ``window``, among the ``window`` highest task
    ids indexed: the most recent, and a bounded cost where the person has few
    matches of their own), never a task of the ``left_out`` names (opted-out
    people) nor one of ``exclude_ids`` (the task asked about). Ranked among
    the :data:`CANDIDATES` newest tasks holding any searched token, on each
    side. ``stop``: the stop list (:func:`ready`). The index must be ready."""
    query = tokens(text)[: rules.SIMILAR_MAX_TOKENS]
    if not query or k <= 0 or not names:
        return []
    searched = prune(query, stop or {})
    any_of = match_expressions(searched, names, team, left_out)
    skip = set(exclude_ids)
    totals: Totals | None = None
    out: list[Neighbour] = []
    for side, whose in enumerate(("own", "team")):
        need = k - len(out)
        if need <= 0:
            break
        since = 0
        if whose == "team" and window is not None:
            top = conn.execute(f"SELECT max(rowid) FROM {TABLE}").fetchone()[0]  # noqa: S608 (fixed)
            since = max(0, (top or 0) - window)
        candidates: dict[int, tuple[str, str]] = {}
        for task_id, body, task_team in conn.execute(
            f"SELECT rowid, body, team FROM {TABLE} WHERE {TABLE} MATCH ? AND rowid > ? "  # noqa: S608 (fixed)
            "ORDER BY rowid DESC LIMIT ?",
            (any_of[side], since, CANDIDATES + len(skip)),
        ):
            if task_id not in skip:
                candidates[task_id] = (body, task_team)
        if not candidates:
            continue
        totals = totals or Totals(conn, searched)
        ranked = sorted(
            (bm25(searched, body, task_team, totals), -task_id, body)
            for task_id, (body, task_team) in candidates.items()
        )
        for score, negative_id, body in ranked[:need]:
            found, share = similarity(query, body)
            out.append(Neighbour(-negative_id, whose, score, found, share, body))
    return out


def purge(conn: sqlite3.Connection) -> None:
    """After deleting a person's tasks (``rm --person``): merge the index's
    segments, which drops what deleted rows left in them (FTS5 keeps a
    deletion as a marker until its segments merge); without FTS5, empty it."""
    state = _state(conn)
    if state is None:
        return
    if state[0] == "current" and available(conn):
        conn.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('optimize')")  # noqa: S608 (fixed)
        _refresh_stop(conn)  # the word counts: none of the deleted tasks' words stays
    else:
        forget_index(conn)
