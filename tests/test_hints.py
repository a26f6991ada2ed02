"""Hints: `suggest` and the one-line hint after `add`.

The hints are computed in pure Python (no numpy on `add`'s path) and kept in
the `hints` table; these tests check them against hand-computed mixtures,
against the numpy pools of `forecast` (the same rule), and that they stay
fresh as the history changes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from calibrate import demo, hinting, rules, store, words
from calibrate.stats import draws, forecast, hints
from calibrate.stats.pools import POOL_KINDS, Pools
from calibrate.store import caches
from calibrate.store.tasks import NewTask, add_task, team_of

NOW = datetime.now(UTC)


def log(conn, estimate, actual=None, *, person="alice", team=None, days_ago=1.0):
    """A task finished (with an actual) ``days_ago`` days ago, or open."""
    task = NewTask(title="task", estimate_h=estimate, person=person, team=team)
    return add_task(conn, task, actual_h=actual, at=NOW - timedelta(days=days_ago))


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


# --- the rules, by hand ------------------------------------------------------------------


def test_mixture_of_a_pool_alone_is_its_empirical_quantiles():
    assert hints.mixture_quantiles([], [-1.0, 0.0, 1.0, 2.0]) == [0.0, 2.0, 2.0]


def test_own_tasks_weigh_n_over_n_plus_20():
    # one own task (weight 1/21) far above 20 pool tasks (20/21 together)
    pool = [0.0] * 20
    assert hints.mixture_quantiles([10.0], pool, probs=(0.5, 0.95)) == [0.0, 0.0]
    assert hints.mixture_quantiles([10.0], pool, probs=(0.96,)) == [10.0]
    # 180 own tasks weigh 0.9: the median is the own median
    own = [1.0] * 180
    assert hints.mixture_quantiles(own, [-5.0] * 50, probs=(0.5, 0.11)) == [1.0, 1.0]
    assert hints.mixture_quantiles(own, [-5.0] * 50, probs=(0.09,)) == [-5.0]


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (0.1, "6m"),
        (0.33, "20m"),
        (0.99, "1h"),
        (1.0, "1h"),
        (4.12, "4.1h"),
        (8.0, "8h"),
        (9.97, "10h"),
        (41.3, "41h"),
    ],
)
def test_hours_read_as_people_say_them(hours, text):
    assert words.nice_hours(hours) == text


def test_promises_round_up_to_a_step():
    assert hints.promise_hours(0.6) == 0.75
    assert hints.promise_hours(3.1) == 3.5
    assert hints.promise_hours(6.0) == 6.0
    assert hints.promise_hours(12.2) == 13.0


# --- pools from the database --------------------------------------------------------------


def test_pools_follow_metrics_section_7(conn):
    for i in range(5):
        log(conn, 3, 3 * 2 ** (i / 10), person="alice", team="web", days_ago=50 - i)
    for i in range(40):
        log(conn, 3, 6, person="bob", team="web", days_ago=40 - i / 2)
    log(conn, 0.5, 1, person="carol", team="ops", days_ago=3)
    own, pool, kind = caches.hint_pools(conn, "alice", "web", 2)
    assert len(own) == 5 and kind == "team" and pool == [1.0] * 40  # the team without alice
    # a team with fewer than 30 tasks in the bucket without carol: everyone's but carol's
    _, pool, kind = caches.hint_pools(conn, "carol", "ops", 2)
    assert kind == "everyone" and len(pool) == 45
    # an empty bucket widens to its neighbours (4-8h: 2-4h and 8-16h), without alice...
    _, pool, kind = caches.hint_pools(conn, "alice", "web", 3)
    assert kind == "neighbours" and pool == [1.0] * 40
    # ...then to all sizes
    _, pool, kind = caches.hint_pools(conn, "alice", "web", 5)
    assert kind == "all sizes" and len(pool) == 41


def test_alone_in_the_database_your_own_tasks_are_the_pool(conn):
    for i in range(250):
        log(conn, 3, 6 if i < 50 else 3, days_ago=300 - i)
    own, pool, kind = caches.hint_pools(conn, "alice", None, 2)
    assert len(own) == rules.OWN_POOL and len(pool) == 250 and kind == "yours"
    _, pool, kind = caches.hint_pools(conn, "alice", None, 3)  # other sizes of yours
    assert kind == "yours" and len(pool) == 250


def test_pools_take_the_most_recent_tasks(conn):
    for i in range(rules.OWN_POOL + 10):
        log(conn, 1, 2 if i >= 10 else 1, days_ago=300 - i)  # the 10 oldest were exact
    own, _, _ = caches.hint_pools(conn, "alice", None, 0)
    assert len(own) == rules.OWN_POOL and set(own) == {1.0}


def test_no_history_gives_the_reference_spread(conn):
    log(conn, 2)  # open: no history
    hint = hinting.compute_hint(conn, "alice", rules.size_bucket(2))
    assert hint.pool == "reference" and not hint.has_history
    spread = rules.reference_spread(rules.size_bucket(2))  # quantiles at 0.01, ..., 0.99
    assert (hint.p50, hint.p90) == pytest.approx((2 ** spread[49], 2 ** spread[89]))
    assert hint.reference_weight == 1.0


def test_hints_equal_the_forecast_mixture_on_a_team_history(conn):
    demo.generate(conn, people=6, teams=2, weeks=30, seed=3)
    from calibrate import advice

    pools = Pools(advice.load_past(conn))
    people = [r[0] for r in conn.execute("SELECT DISTINCT person FROM tasks ORDER BY person")]
    past = pools.past
    for person in people[:4]:
        team = team_of(conn, person)
        mine = past.person == past.person_code(person)
        tau2 = forecast.shift_variance(past.log_ratio[mine], past.week[mine])
        assert tau2 == pytest.approx(hinting.person_shift_variance(conn, person), rel=1e-9)
        for estimate in (0.5, 1.5, 3, 6, 12, 30):
            hint = hinting.compute_hint(conn, person, rules.size_bucket(estimate))
            components = pools.for_task(person, team, [estimate])
            expected = np.exp2(draws.predictive_quantiles(components, tau2, rules.ADVICE_QUANTILES))
            assert [hint.p50, hint.p80, hint.p90] == pytest.approx(expected[:, 0], rel=1e-5)
            assert hint.own_n == components.own_n[0]
            assert hint.pool_n == components.pool_n[0]
            assert hint.pool == POOL_KINDS[components.pool_kind[0]]
            assert hint.reference_weight == pytest.approx(components.reference_weight[0])


# --- freshness -------------------------------------------------------------------------------


def test_the_stamp_follows_changes_to_the_history(run, db_path):
    run("add", "a", "-e", "2h", "--actual", "3h")
    conn = store.connect(db_path)

    def stamp():
        return caches.history_stamp(conn)

    first = stamp()
    for quiet in (
        ["add", "open one", "-e", "1h"],
        ["start", "2"],
        ["stop"],
        ["reestimate", "2", "3h"],
    ):
        assert run(*quiet).exit_code == 0
        assert stamp() == first, quiet
    changes = [
        ["done", "2", "--actual", "2h"],
        ["edit", "1", "--actual", "4h"],
        ["edit", "1", "-e", "3h"],
        ["edit", "1", "--person", "bob"],
        ["add", "b", "-e", "1h", "--actual", "1h"],
        ["rm", "3", "--yes"],
    ]
    for change in changes:
        before = stamp()
        result = run(*change)
        assert result.exit_code == 0, result.output
        assert stamp() != before, change
    conn.close()


def test_done_refreshes_the_hint_and_suggest_recomputes_a_stale_one(run, db_path, conn):
    for i in range(10):
        log(conn, 2, 2, days_ago=20 - i)
    assert hinting.current_hint(conn, "alice", 2).p50 == pytest.approx(1.0)
    run("add", "slow one", "-e", "2h")
    run("done", "11", "--actual", "8h")
    stored = hinting.lookup_hint(conn, "alice", 2)
    assert stored.own_n == 11 and stored.stamp == caches.advice_stamp(conn)
    assert stored.pool == "yours" and stored.pool_n == 11  # nobody else yet
    log(conn, 2, 8, person="bob")  # someone else's history: alice's row goes stale
    assert hinting.lookup_hint(conn, "alice", 2).stamp != caches.advice_stamp(conn)
    fresh = hinting.current_hint(conn, "alice", 2)
    assert fresh.pool == "everyone" and fresh.pool_n == 1  # everyone's but alice's
    assert fresh.stamp == caches.advice_stamp(conn)


def test_a_hint_of_an_older_rule_is_never_served(run, conn):
    for i in range(10):
        log(conn, 2, 2, days_ago=20 - i)
    hint = hinting.current_hint(conn, "alice", 2)
    old = {name: getattr(hint, name) for name in caches.HINT_COLUMNS}
    old.update(p50=9.0, p80=9.0, p90=9.0, stamp=caches.history_stamp(conn))  # version 1's
    caches.store_hint(conn, old)
    assert hinting.lookup_hint(conn, "alice", 2).p50 == 9.0
    assert hinting.hint_for_add(conn, "alice", 2).p50 == pytest.approx(1.0)
    assert hinting.lookup_hint(conn, "alice", 2).stamp == caches.advice_stamp(conn)


# --- add --------------------------------------------------------------------------------------


def test_add_prints_the_hint_on_stderr_only(run, conn):
    for i in range(30):
        log(conn, 3, 4.5, days_ago=40 - i)
    for i in range(2_000):
        log(conn, 3, 4.5, person="bob", days_ago=40 - i / 100)
    result = run("add", "Fix login", "-e", "3h")
    assert result.exit_code == 0
    assert result.stdout == "Added #2031: Fix login\n"
    assert result.stderr == (
        "Hint: tasks you estimate at 3h take 4.5h (median), 80% under 4.5h, 90% under 4.5h; "
        "promise 4.5h.\n"
    )
    quiet = run("add", "Fix logout", "-e", "3h", "-q")
    assert (quiet.stdout, quiet.stderr) == ("2032\n", "")


def test_add_without_history_prints_no_hint_until_there_is_some(run, db_path):
    result = run("add", "first ever", "-e", "3h")
    assert result.exit_code == 0
    assert result.stderr == (  # the first add says where the database is, and no hint
        f"Created a new database: {db_path} (--db PATH or $CALIBRATE_DB uses another)\n"
    )
    done = run("add", "logged done", "-e", "3h", "--actual", "2h")
    assert done.stderr == ""
    later = run("add", "second", "-e", "3h")
    assert later.stderr.startswith("Hint: tasks you estimate at 3h take ")
    # one finished task: the advice is as wide as real developers' and says so
    assert later.stderr.endswith(
        "(from only 1 of your tasks, widened toward real developers' spread).\n"
    )


def test_add_and_suggest_never_import_numpy(tmp_path):
    db = tmp_path / "speed.db"
    store.connect(db).close()  # creating the schema needs sqlite-utils, which loads pandas
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from calibrate.cli import cli\n"
        f"db = {str(db)!r}\n"
        "for args in (['add', 'a', '-e', '1h', '--actual', '2h'], ['add', 'b', '-e', '1h'],\n"
        "             ['suggest', '1h'], ['suggest', '1h', '--json'], ['done', '2', '--actual',\n"
        "             '1h']):\n"
        "    result = CliRunner().invoke(cli, ['--db', db, *args])\n"
        "    assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'sqlite_utils') if m in sys.modules))\n"
    )
    env = {"CALIBRATE_PERSON": "alice", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


# --- suggest ----------------------------------------------------------------------------------


def test_suggest_says_what_tasks_take_and_what_to_promise(run, conn):
    ratios = [1.0, 1.25, 1.5, 2.0, 3.0] * 6
    for i, ratio in enumerate(ratios):
        log(conn, 3, 3 * ratio, days_ago=40 - i)
    for i, ratio in enumerate(ratios * 80):
        log(conn, 3, 3 * ratio, person="bob", days_ago=40 - i / 100)
    result = run("suggest", "3h")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Tasks you estimate at 3h take 4.5h (median); 80% take under 6h; 90% under 9h\n"
        "(from 30 of your tasks and 2,000 of everyone's). Promise 9h.\n"
    )
    data = json.loads(run("suggest", "3h", "--json").stdout)
    assert data["p50_h"] == pytest.approx(4.5) and data["p90_h"] == pytest.approx(9.0)
    assert data["own_n"] == 30 and data["own_weight"] == pytest.approx(30 / 50)
    assert data["pool"] == "everyone" and data["promise_h"] == 9.0 and data["pool_n"] == 2_000
    assert data["reference_weight"] == pytest.approx(0.4 * 30 / 2_030) and not data["thin"]
    assert data["bucket"] == "2-4h" and data["task"] is None and data["title"] is None


def test_suggest_from_few_tasks_says_so_and_is_wide(run, conn):
    log(conn, 2, 2.5)  # the case: one finished 2h -> 2.5h task
    data = json.loads(run("suggest", "2h", "--json").stdout)
    assert data["own_n"] == 1 and data["thin"] and data["reference_weight"] > 0.9
    # wider than the one task: as wide as real developers' tasks of that size
    assert data["p80_h"] > 2.5 and data["p90_h"] > 2 * 2.5 * 0.8
    assert "from only 1 of your tasks, widened toward real developers' spread" in data["advice"]


def test_suggest_about_a_logged_task_or_with_a_title(run, conn):
    for i in range(12):
        log(conn, 2, 3, days_ago=20 - i)
    task = log(conn, 2, person="bob")  # open, someone else's
    result = run("suggest", "--task", str(task), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["task"], data["title"], data["person"]) == (task, "task", "bob")
    assert data["estimate_h"] == 2.0 and "Tasks bob estimates at 2h" in data["advice"]
    titled = json.loads(run("suggest", "2h", "--title", "Fix the login", "--json").stdout)
    assert titled["title"] == "Fix the login" and titled["task"] is None
    assert run("suggest", "2h", "--title", "Fix the login").stdout.startswith("Tasks you")
    both = run("suggest", "2h", "--task", str(task))
    assert both.exit_code == 2 and "give no DURATION or --person" in both.stderr
    neither = run("suggest")
    assert neither.exit_code == 2 and "give a DURATION" in neither.stderr
    missing = run("suggest", "--task", "999")
    assert (missing.exit_code, missing.stderr) == (1, "Error: no task #999\n")


def test_suggest_for_someone_else_and_with_a_team(run, conn):
    for i in range(40):
        log(conn, 1, 2, person="bob", team="web", days_ago=40 - i)
        log(conn, 1, 2, person="carol", team="web", days_ago=40 - i)
    result = run("suggest", "1h", "--person", "bob")
    assert result.exit_code == 0
    assert "Tasks bob estimates at 1h take 2h (median)" in result.stdout
    assert "40 of bob's tasks and 40 of team web's" in result.stdout.replace("\n", " ")


def test_suggest_with_no_history_warns_and_uses_the_reference(run, db_path):
    result = run("suggest", "2h")
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: no finished tasks here yet")
    assert "real developers' spread alone" in result.stdout.replace("\n", " ")
    assert not db_path.exists()  # nothing written


def test_suggest_bad_input(run, conn):
    log(conn, 1, 1, person="alice")
    unknown = run("suggest", "2h", "--person", "bbo")
    assert unknown.exit_code == 1
    assert error_line(unknown) == "Error: nobody called 'bbo' has tasks here (known: alice)"
    zero = run("suggest", "0h")
    assert (zero.exit_code, zero.stderr) == (
        2,
        "Error: Invalid value for 'DURATION': zero duration '0h': effort must be more than zero "
        "(see 'calibrate suggest --help')\n",
    )
    soon = run("suggest", "soon")
    assert (soon.exit_code, soon.stderr) == (
        2,
        "Error: Invalid value for 'DURATION': not a duration: 'soon' (use e.g. 90m, 1.5h, "
        "1h30m, 1:30, PT2H, 2d or 1w) (see 'calibrate suggest --help')\n",
    )


def test_suggest_resolves_aliases(run, conn):
    for i in range(12):
        log(conn, 2, 3, person="Jane Doe", days_ago=20 - i)
    conn.execute("INSERT INTO aliases (alias, person) VALUES ('jdoe', 'Jane Doe')")
    result = run("suggest", "2h", "--person", "jdoe", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["person"] == "Jane Doe"
    assert math.isclose(json.loads(result.stdout)["p50_h"], 3.0)


def test_deleting_a_persons_tasks_forgets_what_was_derived_from_them(run, conn):
    for i in range(12):
        log(conn, 2, 3, person="bob", days_ago=20 - i)
    log(conn, 2, 2, person="alice")
    assert run("suggest", "2h", "--person", "bob").exit_code == 0
    conn.execute("INSERT INTO advice_cache (key, stamp, value) VALUES ('history', 'x', x'00')")
    assert conn.execute("SELECT count(*) FROM hints WHERE person = 'bob'").fetchone()[0] == 1
    conn.execute("DELETE FROM tasks WHERE person = 'bob'")
    assert conn.execute("SELECT count(*) FROM hints WHERE person = 'bob'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM advice_cache").fetchone()[0] == 0
