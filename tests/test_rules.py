"""The rules of METRICS.md are written once (`calibrate.rules`); the forms built
from them (plain Python, numpy, SQL) must agree with each other."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from calibrate import rules

ESTIMATES = [0.1, 1.0, 1.0001, 2.0, 3.5, 4.0, 8.0, 8.5, 16.0, 16.01, 400.0]


def test_size_buckets_agree_in_python_numpy_and_sql():
    python = [rules.size_bucket(e) for e in ESTIMATES]
    assert python == [0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5]
    assert rules.size_buckets(ESTIMATES).tolist() == python
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (estimate_h REAL)")
    conn.executemany("INSERT INTO t VALUES (?)", [(e,) for e in ESTIMATES])
    sql = f"SELECT {rules.size_bucket_sql()} FROM t ORDER BY rowid"
    assert [row[0] for row in conn.execute(sql)] == python
    for bucket in range(len(rules.SIZE_LABELS)):
        where, params = rules.size_bounds_sql(bucket)
        inside = conn.execute(f"SELECT estimate_h FROM t WHERE {where}", params).fetchall()
        assert [row[0] for row in inside] == [
            e for e, b in zip(ESTIMATES, python, strict=True) if b == bucket
        ]


def test_midrank_percentiles_agree_in_python_and_numpy():
    population = sorted(round(v, rules.COMPARE_DECIMALS) for v in [40.0, 50.0, 50.0, 61.5, 70.0])
    values = [10.0, 40.0, 50.0, 55.0, 70.0, 90.0]
    python = [rules.midrank_percentile(v, population) for v in values]
    assert python == [0.0, 10.0, 40.0, 60.0, 90.0, 100.0]
    assert rules.midrank_percentiles(values, population[::-1]).tolist() == python
    assert np.isnan(rules.midrank_percentiles([np.nan], population)).all()
    assert np.isnan(rules.midrank_percentiles([1.0], [])).all()
    with pytest.raises(ValueError, match="empty population"):
        rules.midrank_percentile(1.0, [])


def test_the_shares_of_section_one_split_every_task_once():
    r = np.log2(np.array([0.5, 0.79, 0.8, 0.995, 1.0, 1.006, 1.25, 1.26, 3.0]))
    exact, over, under = rules.exact_mask(r), rules.over_mask(r), rules.under_mask(r)
    assert (exact.astype(int) + over + under == 1).all()
    assert rules.within_mask(r).tolist() == [
        False,
        False,
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert exact.tolist() == [False, False, False, True, True, True, False, False, False]


def test_the_reference_spread_is_read_from_the_shipped_table():
    rows = [rules.reference_spread(b) for b in range(len(rules.SIZE_LABELS))]
    assert all(len(row) == 99 and list(row) == sorted(row) for row in rows)
    # the median task of a real developer takes about its estimate
    assert all(abs(row[49]) < 0.25 for row in rows)


def test_importing_the_rules_needs_the_standard_library_only():
    import subprocess
    import sys

    code = "import sys, calibrate.rules; print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "False\n", done.stderr
