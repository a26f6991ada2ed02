"""The tool grades itself (METRICS.md section 8): the advice ledger and the
forecast ledger, graded by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibrate.stats import ledger

ADVICE_KEYS = [
    "n",
    "held_50",
    "held_50_low",
    "held_50_high",
    "held_80",
    "held_80_low",
    "held_80_high",
    "held_90",
    "held_90_low",
    "held_90_high",
    "pinball",
]


def test_advice_record_has_exactly_the_keys_of_metrics_section_8():
    record = ledger.advice_record([1.0], [1.0], [2.0], [3.0])
    assert list(record) == ADVICE_KEYS
    empty = ledger.advice_record([], [], [], [])
    assert empty == {key: (0 if key == "n" else None) for key in ADVICE_KEYS}


def test_advice_held_and_its_pinball_loss_by_hand():
    actual = [1.0, 2.0, 4.0, 8.0]
    p50, p80, p90 = [2.0] * 4, [4.0] * 4, [4.0] * 4
    record = ledger.advice_record(actual, p50, p80, p90)
    assert record["n"] == 4
    assert (record["held_50"], record["held_80"], record["held_90"]) == (0.5, 0.75, 0.75)
    low, high = record["held_90_low"], record["held_90_high"]
    assert low < 0.75 < high
    # log2 misses y - q: P50 (-1, 0, 1, 2), P80 and P90 (-2, -1, 0, 1)
    expected = np.mean(
        [
            np.mean([0.5 * 1, 0, 0.5 * 1, 0.5 * 2]),
            np.mean([0.2 * 2, 0.2 * 1, 0, 0.8 * 1]),
            np.mean([0.1 * 2, 0.1 * 1, 0, 0.9 * 1]),
        ]
    )
    assert record["pinball"] == pytest.approx(expected)


def test_an_actual_equal_to_the_quantile_holds_it():
    record = ledger.advice_record([3.0], [3.0 * (1 + 1e-12)], [3.0], [2.9999999999])
    assert (record["held_50"], record["held_80"], record["held_90"]) == (1.0, 1.0, 1.0)


def test_forecast_record_brier_and_reliability_by_tenths():
    chance = [0.95, 0.95, 0.91, 0.42, 0.05, 1.0]
    kept = [True, True, False, True, False, True]
    promise = [1, 1, 2, 3, 4, 5]
    record = ledger.forecast_record(chance, kept, promise)
    assert record["n"] == 6 and record["promises"] == 5
    outcome = np.array(kept, dtype=float)
    assert record["brier"] == pytest.approx(np.mean((np.array(chance) - outcome) ** 2))
    bins = {(b["low"], b["high"]): b for b in record["reliability"]}
    assert set(bins) == {(0.0, 0.1), (0.4, 0.5), (0.9, 1.0)}
    top = bins[(0.9, 1.0)]  # 1.0 belongs to the last tenth
    assert top["n"] == 4 and top["kept"] == 0.75
    assert top["chance"] == pytest.approx((0.95 + 0.95 + 0.91 + 1.0) / 4)
    assert top["kept_low"] < 0.75 < top["kept_high"]
    empty = ledger.forecast_record([], [], [])
    assert empty == {"n": 0, "promises": 0, "brier": None, "reliability": []}


def test_pinball_is_asymmetric():
    assert ledger.pinball(np.array([1.0]), np.array([0.0]), 0.9)[0] == pytest.approx(0.9)
    assert ledger.pinball(np.array([0.0]), np.array([1.0]), 0.9)[0] == pytest.approx(0.1)
    assert math.isclose(ledger.pinball(np.array([2.0]), np.array([2.0]), 0.5)[0], 0.0)


# --- the ledgers in a database ---------------------------------------------------------------

import json  # noqa: E402
import sqlite3  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402

from calibrate import grading, rules, store  # noqa: E402
from calibrate.selection import Selection  # noqa: E402
from calibrate.store import ledgers, state  # noqa: E402
from calibrate.store.tasks import NewTask, add_task  # noqa: E402
from tests.reliability.test_files import read_only  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)


def history(conn, count=40, person="alice", estimate=2.0, ratio=1.5):
    for i in range(count):
        task = NewTask(title=f"past {i}", estimate_h=estimate, person=person)
        add_task(conn, task, actual_h=estimate * ratio, at=NOW - timedelta(days=60 - i))


def advice_rows(conn):
    return conn.execute(
        "SELECT task_id, source, version, p50_h, p80_h, p90_h FROM advice_ledger ORDER BY id"
    ).fetchall()


def test_the_first_advice_given_for_a_task_is_kept(run, conn):
    history(conn)
    added = run("add", "new one", "-e", "2h")
    assert added.exit_code == 0 and "Hint:" in added.stderr
    task = int(added.stdout.split("#")[1].split(":")[0])
    rows = advice_rows(conn)
    kept = [(t, source, version) for t, source, version, *_ in rows]
    assert kept == [(task, "add", rules.ADVICE_VERSION)]
    hint = json.loads(run("suggest", "--task", str(task), "--json").stdout)
    assert rows[0][3:] == pytest.approx((hint["p50_h"], hint["p80_h"], hint["p90_h"]))
    assert len(advice_rows(conn)) == 1  # suggest --task gave advice again: not the first
    quiet = run("add", "quiet one", "-e", "2h", "-q")  # no advice shown: none kept
    backfilled = run("add", "done before", "-e", "2h", "--actual", "3h")  # after the fact
    assert quiet.exit_code == backfilled.exit_code == 0
    assert len(advice_rows(conn)) == 1
    later = int(quiet.stdout)
    run("suggest", "--task", str(later))  # the first advice for it
    assert [(t, s) for t, s, *_ in advice_rows(conn)] == [(task, "add"), (later, "suggest")]
    done = int(backfilled.stdout.split("#")[1].split(":")[0])
    run("suggest", "--task", str(done))  # a done task: advice after the fact, not kept
    assert len(advice_rows(conn)) == 2


def test_score_grades_the_advice_once_tasks_are_done(run, conn):
    history(conn)
    ids = []
    for actual in ("1h", "2h", "3h", "9h"):
        added = run("add", "advised", "-e", "2h")
        ids.append(int(added.stdout.split("#")[1].split(":")[0]))
        assert run("done", str(ids[-1]), "--actual", actual).exit_code == 0
    p50, p80, p90 = advice_rows(conn)[0][3:]
    record = json.loads(run("score", "--json").stdout)["advice_record"]
    actual = [1.0, 2.0, 3.0, 9.0]
    expected = ledger.advice_record(actual, [p50] * 4, [p80] * 4, [p90] * 4)
    assert record == pytest.approx(expected)
    assert record["n"] == 4 and record["held_90"] == 0.75
    text = run("score").stdout.replace("\n", " ")
    assert "calibrate's advice for you: P90 held 75% of 4 tasks (90%:" in " ".join(text.split())
    # graded against the actual as it is now: a corrected actual is graded again
    assert run("edit", str(ids[-1]), "--actual", "2h").exit_code == 0
    assert json.loads(run("score", "--json").stdout)["advice_record"]["held_90"] == 1.0


def forecast(run, today):
    result = run("forecast", "--json", "--today", today.isoformat(), "--runs", "500")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_forecast_keeps_each_open_promises_chance_once_a_day(run, conn):
    history(conn)
    monday = date.today() - timedelta(days=date.today().weekday())
    run("add", "promised", "-e", "2h", "--promise", "3h")
    run("add", "dated", "-e", "2h", "--due", (monday + timedelta(days=30)).isoformat())
    run("add", "no promise", "-e", "2h")
    first = forecast(run, monday)
    again = forecast(run, monday)
    assert first["warnings"] == again["warnings"] == []
    rows = conn.execute("SELECT task_id, day, chance FROM forecast_ledger ORDER BY id").fetchall()
    chances = {t["id"]: t["promise_chance"] for t in first["tasks"] if t["promise_chance"]}
    assert [(t, d) for t, d, _ in rows] == [(t, monday.isoformat()) for t in sorted(chances)]
    assert {t: c for t, _, c in rows} == pytest.approx(chances)
    forecast(run, monday + timedelta(days=1))  # another day: another chance each
    assert conn.execute("SELECT count(*) FROM forecast_ledger").fetchone()[0] == 4


def test_the_forecast_ledger_is_graded_when_promises_resolve(run, conn):
    history(conn)
    monday = date.today() - timedelta(days=date.today().weekday()) - timedelta(days=7)
    run("add", "kept", "-e", "2h", "--promise", "3.5h")
    run("add", "broken", "-e", "2h", "--promise", "2h")
    run("add", "still open", "-e", "2h", "--promise", "3h")
    forecast(run, monday)
    ids = [row[0] for row in conn.execute("SELECT id FROM tasks WHERE title != 'still open' "
                                          "AND actual_h IS NULL ORDER BY id")]  # fmt: skip
    run("done", str(ids[0]), "--actual", "3h")
    run("done", str(ids[1]), "--actual", "3h")
    record = grading.graded_chances(conn, Selection(person="alice"), date.today(), {})
    rows = dict(conn.execute("SELECT task_id, chance FROM forecast_ledger").fetchall())
    chance = [rows[ids[0]], rows[ids[1]]]
    assert record["n"] == 2 and record["promises"] == 2
    assert record["brier"] == pytest.approx(((chance[0] - 1) ** 2 + chance[1] ** 2) / 2)


def test_a_read_only_database_keeps_nothing_and_says_so_once(run, conn, db_path):
    history(conn)
    task = int(run("add", "promised", "-e", "2h", "--promise", "3h", "-q").stdout)
    conn.close()
    with read_only(db_path):
        result = run("forecast", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["warnings"] == [ledgers.UNWRITTEN]
        asked = run("suggest", "--task", str(task))
        assert asked.exit_code == 0 and asked.stderr == ledgers.SKIPPED_NOTE + "\n"
    check = sqlite3.connect(db_path)
    assert check.execute("SELECT count(*) FROM forecast_ledger").fetchone()[0] == 0
    assert check.execute("SELECT count(*) FROM advice_ledger").fetchone()[0] == 0
    check.close()


def test_ledgers_travel_with_export_import_and_merge(run, conn, db_path, tmp_path):
    history(conn)
    run("add", "advised", "-e", "2h", "--promise", "3h")
    forecast(run, date.today())
    out = tmp_path / "all.jsonl"
    assert run("export", "--format", "jsonl", "-o", str(out)).exit_code == 0
    kinds = [json.loads(line).get("kind") for line in out.read_text().splitlines()]
    assert kinds.count("advice") == 1 and kinds.count("chance") == 1
    copy = tmp_path / "copy.db"
    assert run("--db", str(copy), "import", str(out)).exit_code == 0, "import"
    other = store.connect(copy)
    mine = state.replica_state(conn)
    theirs = state.replica_state(other)
    for table in ("advice_ledger", "forecast_ledger"):
        assert mine[table] == theirs[table] and len(mine[table]) == 1
    # advice given in the copy for another task travels back by merge
    task = conn.execute("SELECT uid FROM tasks WHERE title = 'advised'").fetchone()[0]
    other.close()
    added = run("--db", str(copy), "add", "elsewhere", "-e", "2h")
    assert added.exit_code == 0
    assert run("merge", str(copy)).exit_code == 0
    merged = state.replica_state(conn)["advice_ledger"]
    assert len(merged) == 2 and task in {record[0] for record in merged.values()}
    assert run("merge", str(copy)).exit_code == 0  # idempotent
    assert state.replica_state(conn)["advice_ledger"] == merged


def test_bad_ledger_lines_are_refused_with_one_line(run, tmp_path):
    line = {
        "kind": "advice",
        "uid": "a" * 32,
        "task": "t1",
        "p50_h": 3.0,
        "p80_h": 2.0,
        "p90_h": 4.0,
        "version": 2,
        "source": "add",
        "given_at": "2026-01-05T10:00:00Z",
        "stamp": ["2026-01-05T10:00:00.000000Z", "b" * 32],
    }
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n")
    result = run("import", str(path))
    assert result.exit_code == 1
    assert "advice: P50, P80, P90" in result.stderr and len(result.stderr.splitlines()) == 1
    chance = {"kind": "chance", "uid": "c" * 32, "task": "t1", "day": "2026-01-05",
              "chance": 1.5, "stamp": line["stamp"]}  # fmt: skip
    path.write_text(json.dumps(chance) + "\n")
    result = run("import", str(path))
    assert result.exit_code == 1 and "is not a probability" in result.stderr


def test_the_report_grades_the_tool_beside_the_backtest(run, conn, tmp_path):
    history(conn)
    for actual in ("1h", "2h", "3h"):
        added = run("add", "advised", "-e", "2h")
        run("done", added.stdout.split("#")[1].split(":")[0], "--actual", actual)
    out = tmp_path / "report.html"
    result = run("report", "-o", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert (
        "How calibrate&#39;s own advice held" in html or "How calibrate's own advice held" in html
    )
    assert "calibrate&#39;s advice: P90 held" in html or "calibrate's advice: P90 held" in html
