"""The reference-class blend in the numbers (issue 16): ``suggest``, the
hint of ``add`` and ``forecast`` blend a task's similar finished tasks into
the size-bucket mixture (weight S / (S + 10)) where its words match, and
give exactly the size buckets' numbers where they do not, or where this
sqlite3 has no FTS5."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from calibrate import rules
from calibrate.stats import draws, hints
from calibrate.stats.pools import Past, Pools
from calibrate.stats.similar import with_neighbours
from calibrate.store import similar
from calibrate.store.tasks import NewTask, add_task

NOW = datetime.now(UTC)
pytestmark = pytest.mark.skipif(not similar.available(), reason="this sqlite3 has no FTS5")


@pytest.fixture
def available(monkeypatch):
    def switch(on: bool) -> None:
        monkeypatch.setattr(similar, "_AVAILABLE", [on])

    return switch


def history(conn) -> None:
    """alice: 30 report tasks that take their estimate, and 8 login tasks
    that take four times it; bob: 30 of each kind, as alice's."""
    rng = np.random.default_rng(3)
    tasks = []
    for person in ("alice", "bob"):
        for i in range(30):
            tasks.append((f"Write weekly report {i}", 2.0, 2.0 * 2 ** rng.normal(0, 0.2), person))
        for i in range(8 if person == "alice" else 30):
            tasks.append((f"Fix login timeout {i}", 2.0, 8.0 * 2 ** rng.normal(0, 0.2), person))
    for day, (title, estimate, actual, person) in enumerate(tasks):
        task = NewTask(title=title, estimate_h=estimate, person=person, team=None)
        add_task(conn, task, actual_h=actual, at=NOW - timedelta(days=200 - day))


def suggestion(run, *args):
    result = run("suggest", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- known answers: the plain blend, and its numpy twin -----------------------------------------


def test_the_blend_on_a_known_answer():
    # the mixture: r = 0 and 1, half each; two neighbours holding 2 and 1 of 3 tokens
    pairs, w = hints.blend([(0.0, 0.5), (1.0, 0.5)], [2.0, 3.0], [2, 1], 3)
    assert w == pytest.approx(1 / 11)  # S = 3 / 3 = 1: w = 1 / (1 + 10)
    assert [r for r, _ in pairs] == [0.0, 1.0, 2.0, 3.0]
    assert [w for _, w in pairs] == pytest.approx([5 / 11, 5 / 11, 2 / 33, 1 / 33])
    assert hints.predictive_quantiles(pairs, 0.0, (0.1, 0.5, 0.9, 0.95, 0.99)) == [0, 1, 1, 2, 3]
    # a neighbour holding no token is no neighbour; none: the mixture as it was
    assert hints.blend([(0.0, 1.0)], [5.0], [0], 3) == ([(0.0, 1.0)], 0.0)


@pytest.mark.parametrize("tau2", [0.0, 0.05])
def test_the_plain_and_numpy_blends_agree_with_the_shift(tau2):
    rng = np.random.default_rng(16)
    r = np.round(rng.normal(0.3, 0.8, 300), 2)
    r[::7] = 0.0  # exact hits stay where they are
    past = Past.from_arrays(
        np.ones(300),
        np.exp2(r),
        person=np.array(["a"] * 150 + ["b"] * 150),
        team=np.array(["t"] * 300),
    )
    components = Pools(past).components(
        np.array([0, 1]), np.array([0, 0]), past.bucket[:2], np.array([300, 300])
    )
    neighbour_r = [r[:5], r[10:13]]
    found = [[3, 2, 2, 1, 1], [1, 1, 0]]
    query_n = [4, 2]
    blended = with_neighbours(components, neighbour_r, found, np.array(query_n))
    numpy_q = draws.predictive_quantiles(blended, np.array([tau2, tau2]), rules.ADVICE_QUANTILES)
    for task in range(2):
        values, weights = draws.mixture_values(components, task)
        pairs = [(float(v), float(w)) for v, w in zip(values, weights, strict=True)]
        plain, w = hints.blend(pairs, list(neighbour_r[task]), found[task], query_n[task])
        assert w == pytest.approx(blended.prob[task, 4])
        plain_q = hints.predictive_quantiles(plain, tau2)
        assert plain_q == pytest.approx(numpy_q[:, task], abs=1e-6)


# --- suggest and add ------------------------------------------------------------------------------


def test_suggest_blends_the_similar_tasks_only_where_words_match(run, conn, available):
    history(conn)
    plain = suggestion(run, "2h")
    login = suggestion(run, "2h", "--title", "Fix login timeout")
    other = suggestion(run, "2h", "--title", "Paint the bikeshed")
    assert plain["similar_n"] == 0 and other["similar_n"] == 0
    assert login["similar_n"] == rules.SIMILAR_K
    # the login tasks took four times their estimate: the blend moves the numbers up
    assert login["p90_h"] > plain["p90_h"] and login["p50_h"] > plain["p50_h"]
    assert "% from 20 similar tasks" in login["advice"]
    assert 0 < login["similar_weight"] < 1
    figures = ("p50_h", "p80_h", "p90_h", "promise_h")
    assert [other[k] for k in figures] == [plain[k] for k in figures]
    available(False)
    without = suggestion(run, "2h", "--title", "Fix login timeout")
    assert without["similar"] is None and without["similar_n"] == 0
    assert [without[k] for k in figures] == [plain[k] for k in figures]


def test_suggest_task_and_adds_hint_give_and_keep_the_blended_advice(run, conn):
    history(conn)
    added = run("add", "Fix login timeout again", "-e", "2h")
    assert added.exit_code == 0
    hint = added.stderr.strip()
    assert len(hint.splitlines()) == 1 and "; 20 similar, closest: #" in hint
    task = int(added.stdout.split("#")[1].split(":")[0])
    asked = suggestion(run, "--task", str(task))
    assert asked["similar_n"] == rules.SIMILAR_K
    kept = conn.execute("SELECT p50_h, p80_h, p90_h, version FROM advice_ledger").fetchall()
    assert len(kept) == 1 and kept[0][3] == rules.ADVICE_VERSION
    assert kept[0][:3] == pytest.approx((asked["p50_h"], asked["p80_h"], asked["p90_h"]))
    plain = suggestion(run, "2h")
    assert asked["p90_h"] > plain["p90_h"]
    assert f"90% under {asked['advice'].split('90% under ')[1].split(' ')[0]}" in hint


def test_adds_hint_without_matching_words_or_fts5_is_the_size_buckets(run, conn, available):
    history(conn)
    plain = suggestion(run, "2h")
    other = run("add", "Paint the bikeshed", "-e", "2h")
    assert "similar" not in other.stderr and "closest" not in other.stderr
    available(False)
    without = run("add", "Fix login timeout again", "-e", "2h")
    assert "similar" not in without.stderr
    kept = conn.execute("SELECT p90_h FROM advice_ledger ORDER BY id").fetchall()
    assert [row[0] for row in kept] == pytest.approx([plain["p90_h"]] * 2)


# --- forecast -----------------------------------------------------------------------------------


def forecast_tasks(run, *args):
    result = run("forecast", "--person", "alice", "--json", *args)
    assert result.exit_code == 0, result.output
    return {task["id"]: task for task in json.loads(result.stdout)["tasks"]}


def test_forecast_draws_from_the_blended_pool_the_promise_of_suggest(run, conn, available):
    history(conn)
    login = int(run("add", "Fix login timeout again", "-e", "2h", "-q").stdout)
    other = int(run("add", "Paint the bikeshed", "-e", "2h", "-q").stdout)
    p90 = suggestion(run, "--task", str(login))["p90_h"]
    assert run("edit", str(login), "--promise", f"{p90}h").exit_code == 0
    tasks = forecast_tasks(run)
    assert tasks[login]["similar_n"] == rules.SIMILAR_K and tasks[other]["similar_n"] == 0
    # the P90 suggest gives is the one forecast draws: a ~90% chance
    assert tasks[login]["promise_chance"] == pytest.approx(0.9, abs=0.02)
    text = run("forecast", "--person", "alice").stdout  # which tasks blend, in words
    assert "       (1 of 2 tasks blend in their similar finished tasks)\n" in text
    available(False)
    without = forecast_tasks(run)
    assert without[login]["similar_n"] == 0
    assert without[login]["remaining_p80_h"] < tasks[login]["remaining_p80_h"]
    assert without[other]["remaining_p80_h"] == tasks[other]["remaining_p80_h"]
    assert "similar" not in run("forecast", "--person", "alice").stdout


def test_forecast_asks_the_index_for_a_bounded_number_of_tasks(run, conn, monkeypatch):
    history(conn)
    first = int(run("add", "Fix login timeout again", "-e", "2h", "-q").stdout)
    second = int(run("add", "Fix login timeout once more", "-e", "2h", "-q").stdout)
    monkeypatch.setattr(rules, "SIMILAR_FORECAST_TASKS", 1)
    tasks = forecast_tasks(run)  # the first in work order (by id here)
    assert [tasks[first]["similar_n"], tasks[second]["similar_n"]] == [rules.SIMILAR_K, 0]
    assert run("edit", str(second), "--promise", "3h").exit_code == 0
    tasks = forecast_tasks(run)  # a promised task first
    assert [tasks[first]["similar_n"], tasks[second]["similar_n"]] == [0, rules.SIMILAR_K]


def test_the_similar_tasks_are_asked_for_promised_tasks_then_each_persons_next():
    from datetime import date

    from calibrate.stats.forecast import OpenTask, similar_order

    tasks = [
        OpenTask(1, "ann", None, 1.0),
        OpenTask(2, "ann", None, 1.0),
        OpenTask(3, "bob", None, 1.0),
        OpenTask(4, "bob", None, 1.0, due=date(2026, 1, 5)),
        OpenTask(5, "cy", None, 1.0, promise_h=2.0),
    ]
    # promised (4, 5), then ann's next (1; bob works 4, due, before 3), then the seconds
    assert [tasks[i].id for i in similar_order(tasks)] == [4, 5, 1, 2, 3]


@pytest.mark.parametrize("tau2", [0.0, 0.05])
def test_a_merged_mixture_is_the_same_distribution(tau2):
    rng = np.random.default_rng(7)
    own = list(np.round(rng.normal(0.2, 0.5, 40), 1))
    pool = list(np.round(rng.normal(0.0, 0.7, 600), 1))
    spread = rules.reference_spread(2)
    plain = hints.mixture(own, pool, spread)
    merged = hints.mixture(own, pool, spread, merged=True)
    assert len(merged) < len(plain) and sum(w for _, w in merged) == pytest.approx(1.0)
    for pairs in (
        (plain, merged),
        (hints.blend(plain, [1.0], [1], 2)[0], hints.blend(merged, [1.0], [1], 2)[0]),
    ):
        assert hints.predictive_quantiles(pairs[1], tau2) == pytest.approx(
            hints.predictive_quantiles(pairs[0], tau2), abs=1e-9
        )


def test_the_backtest_blends_the_similar_tasks_into_its_mixture_only():
    from calibrate.stats import backtest

    rng = np.random.default_rng(5)
    n = 260
    r = rng.normal(0.2, 0.6, n)
    past = Past.from_arrays(
        np.full(n, 2.0),
        2.0 * np.exp2(r),
        person=np.array(["a", "b"] * (n // 2)),
        week=np.arange(n) // 5,
    )
    k = 3
    none = (np.full((n, k), -1), np.zeros((n, k), dtype=np.int64), np.full(n, 2))
    methods = ("own", "mixture")
    plain = backtest.backtest(past, methods=methods, seed=1)
    assert backtest.backtest(past, methods=methods, seed=1, similar=none) == plain
    # every task's similar ones: the three tasks just before its block, holding both words
    starts = backtest.block_starts(n)
    positions = np.full((n, k), -1)
    for start in starts.tolist():
        positions[start : start + backtest.BLOCK] = np.arange(start - k, start)
    near = (positions, np.full((n, k), 2), np.full(n, 2))
    blended = backtest.backtest(past, methods=methods, seed=1, similar=near)
    assert blended["methods"]["own"] == plain["methods"]["own"]
    assert blended["methods"]["mixture"] != plain["methods"]["mixture"]


def test_the_blend_is_the_same_from_the_kept_mixture_and_from_the_database(run, conn):
    history(conn)
    kept = suggestion(run, "2h", "--title", "Fix login timeout")
    assert conn.execute(
        "SELECT count(*) FROM advice_cache WHERE key LIKE 'hint-pools:%'"
    ).fetchone()[0]
    conn.execute("DELETE FROM advice_cache")
    conn.commit()
    again = suggestion(run, "2h", "--title", "Fix login timeout")
    assert again == kept
