"""`calibrate forecast` and its backtest: pools, draws, the shared shift, the
calendar, promises, the cached coverage line, bad input, and real data."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from calibrate import advice, durations, rules, store
from calibrate.stats import draws, forecast, hints
from calibrate.stats.backtest import METHODS, backtest, block_starts
from calibrate.stats.draws import draw_log_ratios, mixture
from calibrate.stats.forecast import Calendar, OpenTask
from calibrate.stats.pools import POOL_KINDS, Past, Pools
from tests.support.data import SHARED_DATA, SIP_DATES, requires_shared_data, sip_tasks

NOW = datetime.now(UTC).replace(microsecond=0)
MONDAY = date(2026, 11, 30)


def insert(conn, rows):
    """Tasks straight into the table: (person, team, estimate_h, actual_h or None,
    days ago it was done or created, status)."""
    values = []
    for i, (person, team, estimate, actual, days_ago, status) in enumerate(rows):
        moment = (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
        done = moment if status == "done" else None
        values.append(
            (
                f"t:{i}:{moment}",
                f"task {i}",
                person,
                team,
                estimate,
                actual,
                status,
                moment,
                done,
                moment,
            )
        )
    with store.transaction(conn):
        conn.executemany(
            "INSERT INTO tasks (uid, title, person, team, estimate_h, actual_h, status, "
            "created_at, done_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )


def history_of(ratios, estimates=None, person="alice", team=None) -> list[tuple]:
    estimates = estimates if estimates is not None else [2.0] * len(ratios)
    return [
        (person, team, e, e * r, 400 - i * 0.5, "done")
        for i, (e, r) in enumerate(zip(estimates, ratios, strict=True))
    ]


def open_rows(count, person="alice", team=None, estimate=2.0):
    return [(person, team, estimate, None, 1, "open") for _ in range(count)]


def forecast_json(run, *args) -> dict:
    result = run("forecast", *args, "--json", "--today", MONDAY.isoformat())
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


# --- pools ----------------------------------------------------------------------------------


def make_history(person, team, estimate, ratio) -> Past:
    return Past.from_arrays(
        np.asarray(estimate, float),
        np.asarray(estimate, float) * np.asarray(ratio, float),
        person=person,
        team=team,
    )


def blended(own_n: int, pool_n: int) -> list[float]:
    """The four column weights of METRICS.md section 7 (own, pool, second, reference)."""
    w = own_n / (own_n + rules.OWN_PRIOR)
    b = pool_n / (pool_n + rules.REFERENCE_PRIOR)
    return [w, (1 - w) * b, 0.0, (1 - w) * (1 - b)]


def test_own_weight_and_team_pool_without_the_person():
    people = ["a"] * 10 + ["b"] * 40 + ["c"] * 5
    teams = ["web"] * 50 + ["ops"] * 5
    h = make_history(people, teams, [3.0] * 55, [1.0] * 55)
    pools = Pools(h)
    c = pools.for_task("a", "web", [3.0])
    assert c.own_n[0] == 10 and c.pool_n[0] == 40  # the team without a
    assert c.prob[0].tolist() == pytest.approx(blended(10, 40))
    assert POOL_KINDS[c.pool_kind[0]] == "team"
    ops = pools.for_task("c", "ops", [3.0])  # 0 < 30 in the team's bucket without c: everyone's
    assert POOL_KINDS[ops.pool_kind[0]] == "everyone" and ops.pool_n[0] == 50
    nobody = pools.for_task("zed", None, [3.0])
    assert nobody.own_n[0] == 0 and nobody.prob[0, 0] == 0 and nobody.pool_n[0] == 55
    # the pool used leaves the person out: none of a's values in it
    assert c.length[0, 1] == 40 and c.reference_weight[0] == pytest.approx(blended(10, 40)[3])


def test_the_pool_is_the_most_recent_tasks_of_the_others():
    # a and b alternate in one team; a's pool is b's last 2,000, none of a's
    people = ["a", "b"] * 2_100
    ratios = [1.0, 2.0] * 2_100
    h = make_history(people, ["web"] * 4_200, [3.0] * 4_200, ratios)
    c = Pools(h).for_task("a", "web", [3.0])
    assert c.pool_n[0] == rules.TEAM_POOL and c.own_n[0] == rules.OWN_POOL
    start, length = c.start[0, 1], c.length[0, 1]
    assert set(c.values[start : start + length].tolist()) == {1.0}  # log2(2): b's
    early = Pools(h).components([0], [0], [2], [61])  # a at position 61 knows 30 of b's
    assert early.pool_n[0] == 30 and POOL_KINDS[early.pool_kind[0]] == "team"
    assert Pools(h).components([0], [0], [2], [59]).pool_kind[0] == POOL_KINDS.index("everyone")


def test_empty_buckets_widen_then_fall_back_to_the_reference():
    h = make_history(["a"] * 4, None, [0.5, 0.5, 3.0, 3.0], [1, 1, 2, 2])
    pools = Pools(h)
    # a alone in the database: a's own tasks are the team's, its buckets widen
    c = pools.for_task("a", None, [1.5, 6, 40])
    assert [POOL_KINDS[k] for k in c.pool_kind] == ["yours"] * 3
    assert c.pool_n.tolist() == [4, 2, 4]  # neighbours both sides; one side; all sizes
    # with someone else, the pool leaves a out: b's only
    h = make_history(["a", "a", "b"], None, [0.5, 3.0, 12.0], [1, 2, 2])
    c = Pools(h).for_task("a", None, [0.5, 6])
    assert [POOL_KINDS[k] for k in c.pool_kind] == ["all sizes", "neighbours"]
    assert c.pool_n.tolist() == [1, 1]
    empty = Pools(make_history([], None, [], []))
    c = empty.for_task("a", None, [2.0])
    assert POOL_KINDS[c.pool_kind[0]] == "reference" and c.pool_n[0] == 0
    assert c.reference_weight[0] == 1.0
    values, _ = mixture(c)
    assert values.tolist() == sorted(rules.reference_spread(1))


def own_slice(components):
    start, length = components.start[0, 0], components.length[0, 0]
    return set(components.values[start : start + length].tolist())


def test_pools_only_know_the_history_before_the_cut():
    h = make_history(["a"] * 500, None, [2.0] * 500, [1.0] * 250 + [4.0] * 250)
    pools = Pools(h)
    before = pools.components([0], [-1], [1], [250])
    values, _ = mixture(before)
    own_and_pool = values[np.isin(values, [0.0, 2.0])]
    assert 2.0 not in own_and_pool
    after = pools.components([0], [-1], [1], [500])
    assert after.own_n[0] == rules.OWN_POOL and own_slice(after) == {2.0}
    assert after.pool_n[0] == 500  # alone: everyone's is a's, the 2,000 most recent, here all


def test_draws_follow_the_mixture():
    h = make_history(["a"] * 20 + ["b"] * 180, None, [2.0] * 200, [1.0] * 20 + [4.0] * 180)
    pools = Pools(h)
    c = pools.for_task("a", None, [2.0])
    draws = draw_log_ratios(c, 40_000, np.random.default_rng(0))
    # own weight 20/40 (all 0); the pool used (b's 180 twos) and the reference spread the rest
    weights = blended(20, 180)
    spread = np.array(rules.reference_spread(rules.size_bucket(2.0)))
    expected_zero = weights[0] + weights[3] * np.mean(spread == 0.0)
    assert (draws == 0.0).mean() == pytest.approx(expected_zero, abs=0.01)
    assert (draws == 2.0).mean() == pytest.approx(weights[1], abs=0.01)
    values, cumulative = mixture(c)
    assert cumulative[values == 0.0].max() - cumulative[values < 0].max(initial=0) == (
        pytest.approx(expected_zero)
    )


def test_the_shift_moves_non_exact_draws_only_and_keeps_each_tasks_spread():
    rng = np.random.default_rng(4)
    r = np.where(rng.random(400) < 0.4, 0.0, rng.normal(0.3, 1.0, 400))
    h = make_history(["a"] * 200 + ["b"] * 200, None, [2.0] * 400, np.exp2(r))
    c = Pools(h).for_task("a", None, [2.0])
    tau2 = 0.25
    lam = c.contraction(tau2)
    assert lam[0] == pytest.approx(np.sqrt(1 - tau2 / c.var_ne[0]))
    runs = 20_000
    shift = (np.random.default_rng(1).standard_normal(runs) * np.sqrt(tau2))[:, None]
    draws = draw_log_ratios(c, runs, np.random.default_rng(2), lam=lam, shift=shift)[:, 0]
    plain = draw_log_ratios(c, runs, np.random.default_rng(2))[:, 0]
    exact = np.abs(plain) <= rules.EXACT_LOG2
    assert np.array_equal(draws[exact], plain[exact])  # exact hits do not move
    moved, kept = draws[~exact], np.clip(plain[~exact], -3, 3)
    # the contraction and the shift together keep the task's own spread (no double count)
    assert moved.var() == pytest.approx(kept.var(), rel=0.06)
    assert moved.mean() == pytest.approx(kept.mean(), abs=0.03)


def test_one_predictive_distribution_for_suggest_the_hint_and_forecast():
    rng = np.random.default_rng(6)
    n = 600
    r = np.where(rng.random(n) < 0.3, 0.0, rng.normal(0.2, 0.9, n))
    people = rng.choice(["a", "b", "c"], n)
    h = make_history(people, ["web"] * n, rng.choice([1.5, 3.0, 6.0], n), np.exp2(r))
    pools = Pools(h)
    c = pools.for_task("a", "web", [3.0])
    tau2 = 0.09
    exact_q = draws.predictive_quantiles(c, tau2, rules.ADVICE_QUANTILES)[:, 0]
    # the plain-Python hint gives the same quantiles
    values, weights = draws.mixture_values(c)
    plain = hints.predictive_quantiles(
        list(zip(values.tolist(), weights.tolist(), strict=True)), tau2
    )
    assert plain == pytest.approx(exact_q.tolist(), abs=2e-6)
    # and the forecast's draws for that task land on them (Monte Carlo)
    task = OpenTask(id=1, person="a", team="web", estimate_h=3.0, promise_h=3 * 2 ** exact_q[2])
    result = forecast.simulate(pools, [task], runs=40_000, today=MONDAY, tau2=tau2).figures
    assert result["tasks"][0]["promise_chance"] == pytest.approx(0.90, abs=0.01)


def test_shift_variance_counts_between_weeks_only():
    rng = np.random.default_rng(5)
    weeks = np.repeat(np.arange(300), 8)
    r = rng.normal(0, 1, weeks.size) + rng.normal(0, 0.5, 300)[weeks]
    assert forecast.shift_variance(r, weeks) == pytest.approx(0.25, abs=0.06)
    assert forecast.shift_variance(rng.normal(0, 1, weeks.size), weeks) < 0.02
    # fewer than 4 weeks with 3+ tasks: no shift
    assert forecast.shift_variance([0, 1, 2, 5, 6, 7, 9, 9, 9], [0, 0, 0, 1, 1, 1, 2, 2, 2]) == 0
    # by hand: weekly means 2 and 4 (twice each), within-week variances 1
    r = [1, 2, 3, 3, 4, 5, 1, 2, 3, 3, 4, 5]
    w = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert forecast.shift_variance(r, w) == pytest.approx(4 / 3 - 1 / 3)
    # exact hits (|r| <= 0.01) neither count nor make a week count
    assert forecast.shift_variance([*r, 0, 0, 0.005, 0, 0, 0], [*w, 0, 1, 2, 4, 4, 4]) == (
        pytest.approx(1.0)
    )
    # the plain-Python twin (the hint's) agrees
    weeks = np.repeat(np.arange(60), 5)
    r = np.where(rng.random(300) < 0.3, 0.0, rng.normal(0, 1, 300) + rng.normal(0, 0.6, 60)[weeks])
    assert hints.shift_variance(zip(weeks.tolist(), r.tolist(), strict=True)) == pytest.approx(
        forecast.shift_variance(r, weeks), rel=1e-12
    )


# --- the simulation -----------------------------------------------------------------------------


def steady(people: list[str], estimates: list[float]) -> Past:
    """Histories of 2,000 tasks each person, each size, all exactly on their
    estimate: the reference spread keeps 30 / 2,030 of the pool's weight, so
    runs almost never draw from it."""
    n = 2_000 * len(estimates)
    return make_history(
        [p for p in people for _ in range(n)],
        None,
        estimates * (2_000 * len(people)),
        [1.0] * (n * len(people)),
    )


def test_identical_ratios_collapse_the_forecast():
    # 2,000 identical ratios in each size: the reference spread keeps 0.1% of the weight
    h = make_history(["a"] * 4_000, None, [4.0, 8.0] * 2_000, [1.5] * 4_000)
    tasks = [
        OpenTask(id=1, person="a", team=None, estimate_h=4.0),
        OpenTask(id=2, person="a", team=None, estimate_h=8.0, promise_h=11.0),
    ]
    result = forecast.simulate(Pools(h), tasks, runs=500, today=MONDAY).figures
    assert result["remaining_h"] == pytest.approx({"p50": 18.0, "p80": 18.0, "p95": 18.0})
    assert result["tasks"][0]["remaining_p95_h"] == pytest.approx(6.0)
    assert result["tasks"][1]["promise_chance"] < 0.01 and result["tasks"][1]["flagged"]
    # 18h at 6 focused hours a day: Monday, Tuesday, Wednesday
    assert result["finish"] == {"p50": "2026-12-02", "p80": "2026-12-02", "p95": "2026-12-02"}


def test_the_calendar_skips_weekends_and_holidays():
    cal = Calendar(focus_hours=4.0, holidays=[date(2026, 12, 1)])
    assert str(cal.dates(MONDAY, 0)) == "2026-11-30"
    assert str(cal.dates(MONDAY, 1)) == "2026-12-02"  # Tuesday is a holiday
    assert str(cal.dates(MONDAY, 4)) == "2026-12-07"  # over the weekend
    assert str(cal.dates(date(2026, 12, 5), 0)) == "2026-12-07"  # from a Saturday
    assert int(cal.days_through(MONDAY, date(2026, 12, 4))) == 4
    assert int(cal.days_through(MONDAY, date(2026, 11, 27))) < 1
    h = steady(["a"], [12.0, 1.0])
    tasks = [
        OpenTask(id=1, person="a", team=None, estimate_h=12.0, due=date(2026, 12, 2)),
        OpenTask(id=2, person="a", team=None, estimate_h=1.0, due=date(2026, 12, 8)),
    ]
    result = forecast.simulate(Pools(h), tasks, runs=200, today=MONDAY, calendar=cal).figures
    assert result["finish"]["p50"] == "2026-12-04"  # 13h at 4h a day: Mon, Wed, Thu, Fri
    chances = {t["id"]: t["promise_chance"] for t in result["tasks"]}
    assert chances == {1: 0.0, 2: 1.0}  # 12h cannot be done in 2 working days of 4h


def test_people_work_in_parallel_and_in_due_order():
    h = steady(["a", "b"], [6.0])
    tasks = [
        OpenTask(id=1, person="a", team=None, estimate_h=6.0),
        OpenTask(id=2, person="b", team=None, estimate_h=6.0),
        OpenTask(id=3, person="a", team=None, estimate_h=6.0, due=MONDAY),
    ]
    result = forecast.simulate(Pools(h), tasks, runs=100, today=MONDAY).figures
    assert result["finish"]["p95"] == "2026-12-01"  # a: two days; b: one, at the same time
    by_id = {t["id"]: t for t in result["tasks"]}
    assert by_id[3]["promise_chance"] == 1.0  # due today: worked first
    assert by_id[1]["finish_p80"] == "2026-12-01"


def test_started_tasks_are_drawn_above_the_time_spent():
    ratios = np.exp2(np.random.default_rng(2).normal(0, 1, 200))
    h = make_history(["a"] * 200, None, [4.0] * 200, ratios)  # own pool = team pool
    started = OpenTask(id=1, person="a", team=None, estimate_h=4.0, spent_h=10.0, started=True)
    result = forecast.simulate(Pools(h), [started], runs=5000, today=MONDAY).figures
    task = result["tasks"][0]
    assert 0 < task["remaining_p50_h"] < task["remaining_p95_h"]
    # given that it took more than 10h (2.5x), the rest is drawn from the tail only
    tail = 4.0 * ratios[ratios > 2.5] - 10.0
    assert task["remaining_p50_h"] == pytest.approx(np.median(tail), rel=0.15)


def test_seeded_runs_are_identical():
    ratios = np.exp2(np.random.default_rng(3).normal(0, 1, 100))
    h = make_history(["a"] * 100, None, [2.0] * 100, ratios)
    tasks = [OpenTask(id=i, person="a", team=None, estimate_h=3.0) for i in range(5)]
    one = forecast.simulate(Pools(h), tasks, runs=1000, seed=7, today=MONDAY, tau2=0.1)
    two = forecast.simulate(Pools(h), tasks, runs=1000, seed=7, today=MONDAY, tau2=0.1)
    other = forecast.simulate(Pools(h), tasks, runs=1000, seed=8, today=MONDAY, tau2=0.1)
    assert np.array_equal(one.totals, two.totals)
    assert not np.array_equal(one.finish_day, other.finish_day) or (
        one.figures["remaining_h"] != other.figures["remaining_h"]
    )
    assert one.figures == two.figures


def test_chunks_of_tasks_give_identical_forecasts():
    rng = np.random.default_rng(8)
    n = 900
    r = np.where(rng.random(n) < 0.3, 0.0, rng.normal(0.2, 0.9, n))
    people = [f"p{i}" for i in rng.integers(0, 9, n)]
    teams = ["web" if int(p[1:]) < 5 else "ops" for p in people]
    h = make_history(people, teams, rng.choice([0.5, 1.5, 3.0, 6.0, 20.0], n), np.exp2(r))
    tasks = []
    for i in range(40):
        person = f"p{i % 11}"  # two of them without any history
        started = i % 3 == 0
        tasks.append(
            OpenTask(
                id=i,
                person=person,
                team="web" if i % 11 < 5 else "ops",
                estimate_h=float(rng.choice([1.0, 3.0, 8.0])),
                spent_h=float(rng.random() * 6) if started else 0.0,
                promise_h=5.0 if i % 4 == 0 else None,
                due=MONDAY + timedelta(days=int(i % 9)) if i % 5 == 0 else None,
                started=started,
            )
        )
    pools = Pools(h)
    runs = [
        forecast.simulate(pools, tasks, runs=700, seed=3, today=MONDAY, tau2=0.07, chunk_tasks=k)
        for k in (1, 7, 40)
    ]
    for other in runs[1:]:
        assert np.array_equal(runs[0].totals, other.totals)
        assert np.array_equal(runs[0].finish_day, other.finish_day)
        assert runs[0].figures == other.figures


# --- the backtest ------------------------------------------------------------------------------


def synthetic(n=2100, tau=0.0, seed=1) -> Past:
    """A person whose log ratios are drawn from a known distribution: N(0.2, 0.8^2),
    plus a shared shift per week of ten tasks ~ N(0, tau^2)."""
    rng = np.random.default_rng(seed)
    estimate = rng.choice([0.5, 1, 2, 3, 5, 8, 13, 20], size=n)
    week = np.arange(n) // 10
    r = rng.normal(0.2, 0.8, n) + rng.normal(0, tau, week.max() + 1)[week]
    return Past.from_arrays(estimate, estimate * np.exp2(r), week=week)


def test_backtest_coverage_is_near_nominal_on_a_known_distribution():
    result = backtest(synthetic())
    assert result["blocks"] == 200
    for method in METHODS:
        figures = result["methods"][method]
        assert 0.72 <= figures["coverage_80"] <= 0.88, (method, figures)
        assert 0.38 <= figures["coverage_50"] <= 0.62, (method, figures)
        assert 0.87 <= figures["keep_90"] <= 0.93, (method, figures)


def test_the_shared_shift_keeps_coverage_when_tasks_overrun_together():
    result = backtest(synthetic(tau=0.4))
    own, mixture = result["methods"]["own"], result["methods"]["mixture"]
    assert own["coverage_80"] < 0.7  # no shift: too narrow for correlated overruns
    assert 0.72 <= mixture["coverage_80"] <= 0.88


def test_backtest_protocol_blocks():
    assert block_starts(109).size == 0
    assert block_starts(110).tolist() == [100]
    assert block_starts(135).tolist() == [100, 110, 120]
    assert block_starts(135, max_blocks=2).tolist() == [110, 120]
    empty = backtest(synthetic(n=105))
    assert empty["methods"]["mixture"] == {
        "coverage_50": None,
        "coverage_80": None,
        "coverage_80_low": None,
        "coverage_80_high": None,
        "width_80": None,
        "keep_90": None,
        "blocks": 0,
    }


# --- the command -------------------------------------------------------------------------------


def test_the_finish_histogram_heading_keeps_a_space_before_its_bars(run, conn, monkeypatch):
    """Found in the demo: bins of two weeks made the heading 'Finish (2 weeks
    from)share of runs'."""
    from calibrate import advice

    insert(conn, history_of([1.0, 1.5, 2.0] * 40) + open_rows(3))
    real = advice.histogram_rows
    monkeypatch.setattr(advice, "histogram_rows", lambda histogram: (real(histogram)[0], 14))
    text = run("forecast", "--today", MONDAY.isoformat()).stdout
    assert "\nFinish (2 weeks from) share of runs\n" in text


def test_forecast_command_text_and_json(run, conn):
    insert(conn, history_of([1.0, 1.5, 2.0] * 40) + open_rows(3))
    conn.execute("UPDATE tasks SET promise_h = 2.5, due = '2026-12-31' WHERE id = 121")
    result = run("forecast", "--today", MONDAY.isoformat())
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("Forecast for alice: 3 open tasks, 6h estimated\n")
    assert "Remaining effort" in text and "Finish (date)" in text
    assert "#121" in text and "2.5h by Thu 31 Dec" in text
    assert text.rstrip().splitlines()[-1].startswith("Backtest on 2 past blocks: 80% intervals")
    assert max(len(line) for line in text.splitlines()) <= 100
    data = forecast_json(run)
    assert [t["id"] for t in data["tasks"]] == [121, 122, 123]
    assert data["runs"] == 10_000 and data["seed"] == 0
    assert set(data["remaining_h"]) == {"p50", "p80", "p95"}
    assert data["backtest"]["blocks"] == 2 and data["backtest"]["cached"] is True
    assert sum(row["runs"] for row in data["histogram"]) == 10_000
    assert data["tasks"][0]["promise_chance"] is not None


def test_forecast_is_reproducible_and_seeded(run, conn):
    insert(conn, history_of(list(np.exp2(np.linspace(-1, 1.5, 60)))) + open_rows(4))
    first, second = forecast_json(run), forecast_json(run)
    assert (first["backtest"].pop("cached"), second["backtest"].pop("cached")) == (False, True)
    assert first == second
    today = ("--today", MONDAY.isoformat())
    assert run("forecast", *today).stdout == run("forecast", *today).stdout
    assert forecast_json(run, "--seed", "3")["remaining_h"] != forecast_json(run)["remaining_h"]


def test_forecast_ids_and_scopes(run, conn):
    alice = history_of([1.2] * 40, team="web") + open_rows(2, team="web")
    bob = history_of([2.0] * 40, person="bob", team="web")
    insert(conn, alice[:40] + bob + alice[40:] + open_rows(1, person="bob", team="web"))
    team = forecast_json(run, "--team", "web")
    assert len(team["tasks"]) == 3 and team["people"] == 2
    assert team["scope"]["team"] == "web"
    bob = forecast_json(run, "--person", "bob")
    assert [t["id"] for t in bob["tasks"]] == [83]
    chosen = forecast_json(run, "81", "83")
    assert [t["id"] for t in chosen["tasks"]] == [81, 83] and chosen["scope"]["team"] == "web"


def test_the_quoted_backtest_is_cached_until_history_changes(run, conn):
    insert(conn, history_of([1.0, 1.5, 2.0] * 40) + open_rows(2))
    assert forecast_json(run)["backtest"]["cached"] is False
    assert forecast_json(run)["backtest"]["cached"] is True
    assert run("done", "121", "--actual", "3h").exit_code == 0
    again = forecast_json(run)
    assert again["backtest"]["cached"] is False and len(again["tasks"]) == 1


def test_backtest_command(run, conn):
    ratios = np.exp2(np.random.default_rng(4).normal(0, 0.8, 260))
    insert(conn, history_of(list(ratios)))
    result = run("forecast", "--backtest", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["methods"]) == {"own", "team", "mixture", "no_estimates"}
    for figures in data["methods"].values():
        assert set(figures) == {
            "coverage_50",
            "coverage_80",
            "coverage_80_low",
            "coverage_80_high",
            "width_80",
            "keep_90",
            "blocks",
        }
        assert figures["blocks"] == 16
        assert all(0 <= figures[k] <= 1 for k in ("coverage_50", "coverage_80", "keep_90"))
    text = run("forecast", "--backtest").stdout
    assert text.startswith("Backtest for alice: 16 blocks of 10 finished tasks (tasks 101 to 260")
    assert "mixture" in text and "FogBugz" in text
    limited = json.loads(run("forecast", "--backtest", "--json", "--blocks", "5").stdout)
    assert limited["blocks"] == 5 and limited["first_task"] == 210


# --- bad input ---------------------------------------------------------------------------------


def test_no_history_warns_and_uses_the_reference(run, conn):
    insert(conn, open_rows(2))
    result = run("forecast", "--today", MONDAY.isoformat())
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Warning: no finished tasks here yet")
    assert "Backtest: not yet possible (0 finished tasks here" in result.stdout
    data = forecast_json(run)
    assert data["tasks"][0]["pool"] == "reference"


def test_bad_input_is_one_clear_line_and_writes_nothing(run, conn, db_path):
    insert(conn, history_of([1.0] * 5) + open_rows(1))
    conn.execute("UPDATE tasks SET status = 'dropped' WHERE id = 2")
    cases = {
        ("forecast", "--person", "bbo"): "Error: nobody called 'bbo' has tasks here (known: alice)",
        ("forecast", "--team", "web"): "Error: no team 'web' has tasks here (no task has a team)",
        ("forecast", "1"): "Error: task #1 is done: forecast covers open tasks only",
        ("forecast", "2"): "Error: task #2 is dropped: forecast covers open tasks only",
        ("forecast", "99"): "Error: no task #99",
        ("forecast", "--backtest"): "Error: not enough history to backtest alice: 4 finished "
        "tasks; the backtest predicts blocks of 10 from task 100 on, so it needs 110",
    }
    conn.execute("UPDATE tasks SET status = 'done' WHERE id = 6")  # no open task, no actual
    before = conn.execute("SELECT count(*) FROM advice_cache").fetchone()[0]
    for args, message in cases.items():
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert error_line(result) == message
    nothing = run("forecast")
    assert error_line(nothing) == "Error: no open tasks for alice: nothing to forecast"
    assert conn.execute("SELECT count(*) FROM advice_cache").fetchone()[0] == before
    assert run("forecast", "--runs", "5").exit_code == 2
    assert run("forecast", "--backtest", "--blocks", "none").exit_code == 2
    assert run("forecast", "--person", "a", "--team", "b").exit_code == 2


def test_a_calendar_without_hours_is_refused(run, conn):
    insert(conn, history_of([1.0] * 5) + open_rows(1))
    conn.execute("INSERT INTO settings (key, value) VALUES ('focus-hours', '0')")
    result = run("forecast")
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: the working calendar has zero focused hours a day: set one with "
        "'calibrate config focus-hours 6'"
    )


def test_forecast_without_a_database_creates_none(run, db_path):
    result = run("forecast")
    assert result.exit_code == 1
    assert error_line(result) == "Error: the database is empty: no open tasks to forecast"
    assert not db_path.exists()


# --- real data ---------------------------------------------------------------------------------


def _sip_history() -> Past:
    """SiP as `calibrate import` reads it: one row per task (the developer who
    logged most of its hours), done on CompletedOn, oldest first."""
    import pandas as pd

    dates = pd.read_csv(SIP_DATES, encoding="cp1252")
    dates = dates.drop_duplicates("TaskNumber")  # one row per developer, dates repeated
    rows = sip_tasks().merge(dates, on="TaskNumber", how="left")
    rows = rows[(rows.HoursEstimate > 0) & (rows.HoursActual > 0)]
    done = pd.to_datetime(rows.CompletedOn, format="%d-%b-%y", errors="coerce")
    rows = rows.assign(done=done).sort_values(["done", "TaskNumber"], kind="stable")
    week = durations.week_index(rows.done.to_numpy().astype("datetime64[D]"))
    return Past.from_arrays(
        rows.HoursEstimate.to_numpy(float),
        rows.HoursActual.to_numpy(float),
        person=rows.DeveloperID.astype(str).to_numpy(),
        week=week,
    )


@pytest.mark.realdata
@requires_shared_data("sip/Sip-task-info.csv", "sip/est-act-dates.csv")
def test_sip_backtest_mixture_covers_at_least_as_well_as_own_history():
    history = _sip_history()
    assert len(history) == 10_266
    result = backtest(history)
    own, mixture = result["methods"]["own"], result["methods"]["mixture"]
    print(
        "\nSiP backtest (everyone, "
        f"{result['blocks']} blocks): "
        + "; ".join(
            f"{name} coverage_80 {m['coverage_80']:.3f} coverage_50 {m['coverage_50']:.3f} "
            f"keep_90 {m['keep_90']:.3f}"
            for name, m in result["methods"].items()
        )
    )
    assert mixture["coverage_80"] >= own["coverage_80"]
    assert 0.75 <= mixture["coverage_80"] <= 0.88
    assert 0.86 <= mixture["keep_90"] <= 0.95


@pytest.mark.realdata
@requires_shared_data("cesaw/CESAW_task_fact.csv.xz")
def test_cesaw_backtest_is_calibrated():
    import pandas as pd

    rows = pd.read_csv(
        SHARED_DATA / "cesaw" / "CESAW_task_fact.csv.xz",
        na_values=["\\N"],
        usecols=[
            "person_key",
            "team_key",
            "task_actual_complete_date",
            "task_actual_time_minutes",
            "task_plan_time_minutes",
        ],
    )
    rows = rows[(rows.task_plan_time_minutes > 0) & (rows.task_actual_time_minutes > 0)]
    done = pd.to_datetime(rows.task_actual_complete_date, format="%m/%d/%Y %H:%M", errors="coerce")
    rows = rows.assign(done=done).sort_values("done", kind="stable", na_position="first")
    history = Past.from_arrays(
        rows.task_plan_time_minutes.to_numpy(float) / 60,
        rows.task_actual_time_minutes.to_numpy(float) / 60,
        person=rows.person_key.astype(str).to_numpy(),
        team=rows.team_key.astype(str).to_numpy(),
        week=durations.week_index(rows.done.to_numpy().astype("datetime64[D]")),
    )
    result = backtest(history, max_blocks=1000)
    own, mixture = result["methods"]["own"], result["methods"]["mixture"]
    print(
        "\nCESAW backtest (everyone, last 1000 blocks): "
        + "; ".join(
            f"{name} coverage_80 {m['coverage_80']:.3f} keep_90 {m['keep_90']:.3f}"
            for name, m in result["methods"].items()
        )
    )
    assert mixture["coverage_80"] >= own["coverage_80"]
    assert 0.75 <= mixture["coverage_80"] <= 0.88
    assert 0.86 <= mixture["keep_90"] <= 0.95


def test_forecasting_loads_history_in_done_order(conn):
    rows = [
        ("a", None, 1.0, 2.0, 5, "done"),
        ("b", "web", 1.0, 4.0, 9, "done"),
        ("a", None, 1.0, 1.0, 1, "dropped"),
        ("a", None, 2.0, None, 1, "open"),
    ]
    insert(conn, rows)
    history = advice.load_past(conn)
    assert history.log_ratio.tolist() == [2.0, 1.0]
    assert history.people == ("a", "b") and history.teams == ("web",)
    assert history.team.tolist() == [0, -1]


@pytest.mark.parametrize("unixepoch", [True, False], ids=["unixepoch", "strftime"])
def test_history_loads_the_same_both_ways_with_local_weeks(conn, monkeypatch, unixepoch):
    """The one-string read (``fetch_columns(at_once=True)``) and the chunks it
    falls back to give the same past; so does an SQLite without
    ``unixepoch()`` (before 3.38), read with ``strftime('%s')``."""
    from calibrate import demo
    from calibrate.store import fetch
    from calibrate.store import load as history

    demo.generate(conn, people=4, teams=2, weeks=30, seed=2)
    conn.execute("UPDATE tasks SET done_at = NULL WHERE id IN (5, 9)")  # undated: oldest
    conn.execute("UPDATE tasks SET done_at = 'garbled' WHERE id = 11")  # unreadable: oldest too
    fast = advice.load_past(conn)
    chunks = []

    def no_strings(*args):
        chunks.append(args[1])
        return None  # the strings cannot be trusted: read in chunks

    monkeypatch.setattr(fetch, "_at_once", no_strings)
    if not unixepoch:

        def missing(_):
            raise sqlite3.OperationalError("no such function: unixepoch")

        conn.create_function("unixepoch", 1, missing)  # shadows the built-in one
    slow = advice.load_past(conn)
    assert "unixepoch(done_at)" in chunks[0]
    assert len(chunks) == 1 if unixepoch else "strftime('%s', done_at)" in chunks[1]
    for name in ("estimate_h", "actual_h", "person", "team", "week"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name
    assert fast.people == slow.people and fast.teams == slow.teams
    done = [
        r[0]
        for r in conn.execute(
            "SELECT done_at FROM tasks WHERE estimate_h > 0 AND actual_h > 0 "
            "AND status != 'dropped' ORDER BY julianday(done_at) IS NOT NULL, done_at, id"
        )
    ]
    expected = durations.week_index(history.local_dates(done))
    assert np.array_equal(fast.week, expected)
    assert fast.week[:4].tolist() == [-1, -1, -1, expected[3]] and expected[3] >= 0


def test_finish_dates_a_century_away_stay_on_the_calendar(run, conn):
    insert(conn, history_of([1.0, 2.0] * 20) + open_rows(150))
    conn.execute("UPDATE tasks SET estimate_h = 100000 WHERE status != 'done'")
    result = run("forecast", "--today", MONDAY.isoformat())
    assert result.exit_code == 0, result.output
    assert "Finish" in result.stdout
    report = run(
        "report",
        "-o",
        str(Path(conn.execute("PRAGMA database_list").fetchone()[2]).parent / "r.html"),
    )
    assert report.exit_code == 0, report.output


def test_a_person_with_an_alias_gets_the_same_advice_from_either_name(run, conn):
    """PRODUCT.md law 7: ``--person jdoe`` acts on exactly the tasks the name
    mapping gives: forecast's history, scope and open tasks, and suggest, are
    those of the person jdoe stands for, under every name she goes by."""
    jane = history_of([1.5, 2.0, 2.5] * 14, person="Jane Doe", team="web")[:40]
    jdoe = history_of([3.0, 1.0] * 20, person="jdoe", team="web")
    bob = history_of([1.0] * 40, person="bob", team="web")
    open_work = open_rows(1, person="jdoe", team="web") + open_rows(
        1, person="Jane Doe", team="web"
    )
    insert(conn, jane + jdoe + bob + open_work)
    assert run("alias", "jdoe", "Jane Doe").exit_code == 0
    by_alias, by_name = (
        forecast_json(run, "--person", "jdoe"),
        forecast_json(run, "--person", "Jane Doe"),
    )
    by_alias["backtest"].pop("cached"), by_name["backtest"].pop("cached")
    assert by_alias == by_name
    assert by_name["scope"]["person"] == "Jane Doe"
    assert [t["id"] for t in by_name["tasks"]] == [121, 122]  # both open tasks, either name
    assert by_name["backtest"]["tasks"] == 80  # her 80 finished tasks, under both names
    # the past knows her as one person: her own pool holds the tasks of both names
    past = advice.load_past(conn)
    assert set(past.people) == {"Jane Doe", "bob"}
    both = forecast_json(run, "121", "122")  # one task under each name: one person's
    assert both["scope"]["person"] == "Jane Doe" and both["people"] == 1
    suggested = [
        json.loads(run("suggest", "2h", "--person", name, "--json").stdout)
        for name in ("jdoe", "Jane Doe")
    ]
    assert suggested[0] == suggested[1] and suggested[0]["own_n"] == 80


def test_a_new_alias_is_a_new_past_for_the_forecast(run, conn):
    insert(conn, history_of([1.5] * 40, person="Jane Doe") + history_of([3.0] * 40, person="jdoe"))
    insert(conn, open_rows(1, person="Jane Doe"))
    before = forecast_json(run, "--person", "Jane Doe")
    assert before["backtest"]["tasks"] == 40
    assert run("alias", "jdoe", "Jane Doe").exit_code == 0
    after = forecast_json(run, "--person", "Jane Doe")  # the cached past is not reused
    assert after["backtest"]["tasks"] == 80 and after["backtest"]["cached"] is False
