"""Where you misjudge (``score --by``): the median's interval from the binomial
order statistics, the Benjamini-Hochberg step (known answers), the within-week
permutation test (against brute force), and the command in words, JSON and
CSV. Twenty tags on null data: tests/validation/test_null_groups.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from calibrate import rules, store
from calibrate.misjudge import row_sentence
from calibrate.stats.binomial import median_ranks
from calibrate.stats.groups import benjamini_hochberg, median_interval, permutation_test

# --- the median's interval -----------------------------------------------------------------


def test_median_ranks_known_answers():
    # Hand-computed: B ~ Binomial(10, 1/2), P(B <= 1) = 11/1024 <= 0.05 < P(B <= 2) = 56/1024.
    assert median_ranks(10) == (2, 9)
    assert median_ranks(5) == (1, 5)  # P(B = 0) = 1/32 = 0.031
    assert median_ranks(4) is None  # 1/16 > 0.05: no 90% interval from 4 values
    assert median_ranks(0) is None
    assert median_ranks(20) == (6, 15)  # P(B <= 5) = 0.0207, P(B <= 6) = 0.0577


def test_median_ranks_hold_at_least_their_level():
    scipy_stats = pytest.importorskip("scipy.stats")
    for n in range(5, 400, 7):
        low, high = median_ranks(n)
        coverage = scipy_stats.binom.cdf(high - 1, n, 0.5) - scipy_stats.binom.cdf(low - 1, n, 0.5)
        assert coverage >= 0.90 - 1e-12
        # and the next ranks in would not: l is the largest that holds
        tighter = scipy_stats.binom.cdf(high - 2, n, 0.5) - scipy_stats.binom.cdf(low, n, 0.5)
        assert tighter < 0.90


def test_median_interval_is_distribution_free():
    rng = np.random.default_rng(0)
    held = 0
    for _ in range(2000):
        r = rng.standard_exponential(15) - np.log(2)  # skewed, true median 0
        low, high = median_interval(r)
        held += low <= 0 <= high
    assert 0.90 <= held / 2000 <= 0.99  # 15 values: the interval holds 96.5%
    assert median_interval([1.0, 2.0, np.nan]) is None


# --- Benjamini-Hochberg -------------------------------------------------------------------


def test_benjamini_hochberg_known_answers():
    # Hand-computed: sorted 0.005, 0.01, 0.03, 0.04, 0.2; m p / i = 0.025, 0.025,
    # 0.05, 0.05, 0.2; the running minimum from the top leaves them as they are.
    p = [0.01, 0.04, 0.03, 0.005, 0.2]
    adjusted, rejected = benjamini_hochberg(p, q=0.10)
    assert np.allclose(adjusted, [0.025, 0.05, 0.05, 0.025, 0.2])
    assert rejected.tolist() == [True, True, True, True, False]
    # The step-up: 0.04 at rank 4 passes 4/5 q = 0.04 at q = 0.05, so 0.03 passes too.
    assert benjamini_hochberg(p, q=0.05)[1].tolist() == [True, True, True, True, False]
    assert benjamini_hochberg(p, q=0.02)[1].tolist() == [False, False, False, False, False]
    # A larger p-value later lowers an earlier adjusted one (the running minimum).
    adjusted, _ = benjamini_hochberg([0.02, 0.021, 0.022, 0.9], q=0.1)
    assert np.allclose(adjusted, [0.022 * 4 / 3] * 3 + [0.9])
    # Untested groups (NaN) are neither counted nor rejected.
    adjusted, rejected = benjamini_hochberg([0.01, np.nan, 0.03], q=0.1)
    assert np.allclose(adjusted[[0, 2]], [0.02, 0.03]) and np.isnan(adjusted[1])
    assert rejected.tolist() == [True, False, True]
    assert benjamini_hochberg([])[0].size == 0


def test_benjamini_hochberg_agrees_with_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for size in (1, 2, 5, 20, 100):
        p = np.concatenate([rng.uniform(0, 1, size), rng.uniform(0, 0.01, size // 3)])
        p[rng.integers(0, p.size, 2)] = 1.0  # ties
        adjusted, rejected = benjamini_hochberg(p, q=0.1)
        expected = scipy_stats.false_discovery_control(p, method="bh")
        assert np.allclose(adjusted, expected, rtol=0, atol=1e-12)
        assert rejected.tolist() == (expected <= 0.1).tolist()


# --- the permutation test -----------------------------------------------------------------


def test_medians_from_ranks_equal_numpy_s():
    rng = np.random.default_rng(2)
    r = np.round(rng.normal(0, 1, 301), 1)  # ties, and exact zeros
    members = rng.random((6, r.size)) < np.array([0.02, 0.1, 0.3, 0.5, 0.9, 0.97])[:, None]
    diff, _ = permutation_test(r, members, np.zeros(r.size, dtype=int), shuffles=10)
    for g in range(6):
        m = members[g]
        assert diff[g] == pytest.approx(np.median(r[m]) - np.median(r[~m]), abs=1e-12)


def test_permutation_p_value_matches_brute_force_within_weeks():
    rng = np.random.default_rng(3)
    n, weeks = 60, 6
    r = rng.normal(0, 1, n) + np.repeat(rng.normal(0, 1, weeks), n // weeks)
    week = np.repeat(np.arange(weeks), n // weeks)
    member = rng.random(n) < 0.4
    member[:5] = True  # a group that leans to the first week
    _, p = permutation_test(r, member[None, :], week, shuffles=4000, seed=5)
    observed = np.median(r[member]) - np.median(r[~member])
    beyond = 0
    for _ in range(4000):
        shuffled = member.copy()
        for w in range(weeks):
            block = slice(w * 10, w * 10 + 10)
            shuffled[block] = rng.permutation(member[block])
        d = np.median(r[shuffled]) - np.median(r[~shuffled])
        beyond += abs(d) >= abs(observed) - 1e-12
    assert p[0] == pytest.approx((1 + beyond) / 4001, abs=0.03)
    again = permutation_test(r, member[None, :], week, shuffles=4000, seed=5)[1]
    assert again[0] == p[0]  # seeded


def test_a_group_with_nothing_outside_is_not_tested():
    diff, p = permutation_test([0.1, 0.2, 0.3], [[True, True, True]], [0, 0, 0], shuffles=10)
    assert np.isnan(diff[0]) and np.isnan(p[0])


def null_history(rng, n=400, weeks=40, tags=20):
    """A person with drift over weeks, weeks full of exact hits, and 20 tags
    that say nothing about the ratio; half of them used more in later weeks."""
    week = np.sort(rng.integers(0, weeks, n))
    drift = np.cumsum(rng.normal(0, 0.15, weeks))[week]
    exact_week = rng.random(weeks) < 0.3
    r = np.where(exact_week[week] & (rng.random(n) < 0.8), 0.0, rng.normal(0.1, 0.7, n) + drift)
    share = np.where(np.arange(tags)[:, None] % 2 == 0, 0.12, 0.05 + 0.2 * week[None, :] / weeks)
    members = rng.random((tags, n)) < share
    return r, members, week


def test_a_real_difference_is_found():
    rng = np.random.default_rng(7)
    r, members, week = null_history(rng)
    r = np.where(members[0], r + 1.0, r)  # tag 0 takes twice as long as estimated
    _, p = permutation_test(r, members, week)
    rejected = benjamini_hochberg(p)[1]
    assert rejected[0]
    assert rejected[1:].sum() <= 1


# --- the command ----------------------------------------------------------------------------

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def add_tasks(conn, rows):
    """(tags, project, estimate, actual, days ago done, created ISO or None, promise_h)."""
    values = []
    for i, (tags, project, estimate, actual, days_ago, created, promise) in enumerate(rows):
        done = (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
        values.append(
            (
                f"m:{i}",
                f"task {i}",
                "alice",
                project,
                estimate,
                actual,
                "done",
                created or done,
                done,
                done,
                json.dumps(tags),
                promise,
            )
        )
    with store.transaction(conn):
        conn.executemany(
            "INSERT INTO tasks (uid, title, person, project, estimate_h, actual_h, status, "
            "created_at, done_at, updated_at, tags, promise_h) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )


def db_history(seed=11):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(160):
        db = i % 4 == 0
        ratio = float(np.exp2(rng.normal(0.85 if db else 0.1, 0.3)))
        tags = ["db"] if db else (["ui"] if i % 4 == 1 else [])
        rows.append((tags, "web" if i % 2 else None, 2.0, 2.0 * ratio, 1 + i, None, 5.0))
    return rows


def test_score_by_tag_in_words(run, conn, monkeypatch):
    monkeypatch.setenv("CALIBRATE_PERSON", "alice")
    add_tasks(conn, db_history())
    result = run("score", "--by", "tag", "--since", "all")
    assert result.exit_code == 0, result.output
    text = result.stdout
    first = text.split("\n\n")[1].replace("\n", " ")
    assert first.startswith("Tasks tagged `db` take 1.8x your estimate (90%: ")
    assert "x), against 1.1x for the rest: clearly different from your usual." in first
    assert all(len(line) <= 80 for line in text.splitlines())
    for word in ("faster", "slower", "quicker"):
        assert word not in text.lower()
    data = json.loads(run("score", "--by", "tag", "--since", "all", "--json").stdout)
    rows = {row["group"]: row for row in data["groups"]}
    assert set(rows) == {"db", "ui"} and data["tested"] == 2
    db = rows["db"]
    assert db["different"] and db["n"] == 40 and db["rest_n"] == 120
    assert db["bias_factor_low"] <= db["bias_factor"] <= db["bias_factor_high"]
    assert db["typical_miss_low"] <= db["typical_miss"] <= db["typical_miss_high"]
    assert db["due"] == 40 and db["keep_rate_low"] <= db["keep_rate"] <= db["keep_rate_high"]
    assert db["p_value"] < 0.01 and db["p_adjusted"] <= rules.GROUP_FDR_Q
    # ui (1.1x) is tested against the rest, db's tasks included (1.2x): it differs too.
    table = list(
        csv.DictReader(io.StringIO(run("score", "--by", "tag", "--since", "all", "--csv").stdout))
    )
    assert [row["group"] for row in table] == ["db", "ui"]
    assert table[0]["by"] == "tag" and float(table[0]["bias_factor"]) == pytest.approx(
        db["bias_factor"]
    )


def test_tag_memberships_parse_each_distinct_text_once():
    import pandas as pd

    from calibrate.misjudge import memberships

    texts = ['["db","ui"]', None, "not json", '["db"]', '["ui","db"]', '["db"]', "{}"]
    groups = memberships("tag", pd.DataFrame({"tags": texts}))
    assert list(groups) == ["db", "ui"]
    assert groups["db"].tolist() == [True, False, False, True, True, True, False]
    assert groups["ui"].tolist() == [True, False, False, False, True, False, False]


def test_the_test_looks_at_the_newest_tasks_of_a_large_scope(run, conn, monkeypatch):
    """Found by the report benchmark: a whole 100,000-task database spent 24 s
    of its report shuffling. The test (difference and p-value) looks at the
    scope's newest rules.GROUP_TEST_TASKS tasks; a group's figures come from
    all: a group only among older tasks is shown, and not tested."""
    monkeypatch.setenv("CALIBRATE_PERSON", "alice")
    rows = db_history()
    rows = [((*tags, "old") if i >= 120 else tags, *rest) for i, (tags, *rest) in enumerate(rows)]
    add_tasks(conn, rows)
    whole = json.loads(run("score", "--by", "tag", "--since", "all", "--json").stdout)
    monkeypatch.setattr(rules, "GROUP_TEST_TASKS", 100)
    newest = json.loads(run("score", "--by", "tag", "--since", "all", "--json").stdout)
    before = {row["group"]: row for row in whole["groups"]}
    after = {row["group"]: row for row in newest["groups"]}
    assert before["old"]["p_value"] is not None and after["old"]["p_value"] is None
    assert after["old"]["n"] == before["old"]["n"] == 40 and not after["old"]["different"]
    assert after["db"]["different"] and after["db"]["p_value"] is not None
    assert after["db"]["bias_factor"] == before["db"]["bias_factor"]  # from all its tasks
    assert newest["tested"] == whole["tested"] - 1


def test_score_by_project_and_size(run, conn, monkeypatch):
    monkeypatch.setenv("CALIBRATE_PERSON", "alice")
    add_tasks(conn, db_history())
    data = json.loads(run("score", "--by", "project", "--since", "all", "--json").stdout)
    assert [row["group"] for row in data["groups"]] == ["web"]
    sizes = json.loads(run("score", "--by", "size", "--since", "all", "--json").stdout)
    assert [row["group"] for row in sizes["groups"]] == ["1-2h"]
    assert sizes["tested"] == 0  # no task outside the one size: nothing to test against
    assert sizes["groups"][0]["p_value"] is None and not sizes["groups"][0]["different"]


def test_weekday_is_the_local_day_the_task_was_created(run, conn, monkeypatch):
    monkeypatch.setenv("CALIBRATE_PERSON", "alice")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    # Sunday 20:00 UTC is Monday 05:00 in Tokyo.
    created = "2026-11-01T20:00:00Z"
    add_tasks(conn, [([], None, 1.0, 1.0, 5 + i, created, None) for i in range(12)])
    data = json.loads(run("score", "--by", "weekday", "--since", "all", "--json").stdout)
    assert [row["group"] for row in data["groups"]] == ["Monday"]
    monkeypatch.setenv("TZ", "UTC")
    data = json.loads(run("score", "--by", "weekday", "--since", "all", "--json").stdout)
    assert [row["group"] for row in data["groups"]] == ["Sunday"]


def test_small_groups_are_left_out_and_said(run, conn, monkeypatch):
    monkeypatch.setenv("CALIBRATE_PERSON", "alice")
    add_tasks(conn, [(["rare"], None, 1.0, 2.0, 1 + i, None, None) for i in range(3)])
    data = json.loads(run("score", "--by", "tag", "--since", "all", "--json").stdout)
    assert data["groups"] == [] and data["left_out"] == ["rare"]
    text = run("score", "--by", "tag", "--since", "all").stdout
    assert "No tag has 10 finished tasks or 10 promises due yet" in text


def test_score_by_on_an_empty_database(run):
    result = run("score", "--by", "tag", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["groups"] == []
    bad = run("score", "--by", "colour")
    assert bad.exit_code == 2 and "Error:" in bad.stderr


def test_the_report_says_where_you_misjudge_with_the_same_numbers(run, conn, monkeypatch, tmp_path):
    import html as html_text

    monkeypatch.setenv("CALIBRATE_PERSON", "alice")
    add_tasks(conn, db_history())
    out = tmp_path / "report.html"
    result = run("report", "--since", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    page = html_text.unescape(out.read_text(encoding="utf-8"))
    assert "Where you misjudge" in page
    data = json.loads(run("score", "--by", "tag", "--since", "all", "--json").stdout)
    db = next(row for row in data["groups"] if row["group"] == "db")
    assert "Clearly different from your usual: " + row_sentence("tag", db) in page
    assert "By tag" in page and "By size" in page


def test_people_counted_from_summaries_are_named_not_in_the_groups(tmp_path):
    """Law 6: score --by shows no second number for people a lead knows from
    team summaries; it says they are in none of the groups (review)."""
    from click.testing import CliRunner

    from calibrate.cli import cli

    member, lead, summary = tmp_path / "m.db", tmp_path / "l.db", tmp_path / "s.json"
    runner = CliRunner()

    def at(path, *args):
        result = runner.invoke(cli, ["--db", str(path), *args])
        assert result.exit_code == 0, result.output
        return result.output

    for i in range(12):
        at(
            member,
            "add",
            f"t{i}",
            "-e",
            "1h",
            "--actual",
            "2h",
            "-t",
            "db",
            "--person",
            "bob",
            "--team",
            "T",
        )
    at(member, "export", "--summary", "-o", str(summary))
    at(lead, "add", "lead's own", "-e", "1h", "--actual", "1h", "--person", "lead")
    at(lead, "import", str(summary))
    out = at(lead, "score", "--by", "tag", "--team", "T")
    assert "Not in summaries: 1 person of this scope counted from imported team" in out
    data = json.loads(at(lead, "score", "--by", "tag", "--team", "T", "--json"))
    assert data["not_in_summaries"] == 1 and data["groups"] == []
