"""Recorded outputs: the programs' view of the demo, byte for byte.

The demo database is built with the clock frozen (``CALIBRATE_NOW``) in UTC, and
the ``--json`` output of the commands programs read, and ``export --format
jsonl``, are compared with the files in ``tests/golden/``. A refactoring must
leave them alone; a change that alters an output on purpose regenerates them
(``CALIBRATE_REGOLD=1 pytest tests/test_golden.py``) and the diff is reviewed
in the same commit.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from calibrate.cli import cli

GOLDEN = Path(__file__).parent / "golden"
FROZEN_NOW = "2026-12-01T12:00:00Z"
VIEWER = "Maya Silva"

#: name -> the command's arguments (after --db).
COMMANDS: dict[str, list[str]] = {
    "score-everyone": ["score", "--everyone", "--json"],
    "score-person": ["score", "--json"],
    "score-team": ["score", "--team", "Platform", "--json"],
    "score-all-history": ["score", "--everyone", "--since", "all", "--json"],
    "rank-everyone": ["rank", "--everyone", "--json"],
    "rank-person": ["rank", "--json"],
    "score-by-tag": ["score", "--by", "tag", "--json"],
    "score-by-size-everyone": ["score", "--everyone", "--by", "size", "--json"],
    "forecast-everyone": ["forecast", "--everyone", "--json"],
    "forecast-person": ["forecast", "--json"],
    "forecast-backtest": ["forecast", "--backtest", "--everyone", "--json"],
    "suggest-3h": ["suggest", "3h", "--json"],
    "suggest-30m": ["suggest", "30m", "--json"],
    "suggest-title": ["suggest", "3h", "--title", "Fix session timeout handling", "--json"],
    "list-everyone": ["list", "--everyone", "--status", "any", "--limit", "150", "--json"],
    "list-person": ["list", "--json"],
    "export-jsonl": ["export", "--person", VIEWER, "--format", "jsonl"],
}
#: Outputs too large to keep as text (megabytes): their SHA-256 is recorded
#: instead, beside the smaller recordings above that show any difference.
HASHED: dict[str, list[str]] = {
    "list-everyone-all": ["list", "--everyone", "--status", "any", "--json"],
    "export-jsonl-all": ["export", "--format", "jsonl"],
}


@pytest.fixture(scope="module")
def frozen_demo(tmp_path_factory):
    """The default demo, built at a fixed moment in UTC."""
    saved = {key: os.environ.get(key) for key in ("CALIBRATE_NOW", "TZ", "CALIBRATE_PERSON")}
    os.environ.update(CALIBRATE_NOW=FROZEN_NOW, TZ="UTC", CALIBRATE_PERSON=VIEWER)
    time.tzset()
    path = tmp_path_factory.mktemp("golden") / "demo.db"
    result = CliRunner().invoke(cli, ["--db", str(path), "demo"])
    assert result.exit_code == 0, result.output
    yield path
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    time.tzset()


def _normalise(text: str, db: Path) -> str:
    """The output with the database's path and its replica id (random, made
    when the file was: law 4) in words."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        replica = conn.execute("SELECT value FROM meta WHERE key = 'replica_id'").fetchone()[0]
    finally:
        conn.close()
    return text.replace(str(db), "DB").replace(str(db.parent), "DIR").replace(replica, "REPLICA")


def _forget_ledgers(db: Path) -> None:
    """Every command starts from the demo as built: a forecast keeps the chances
    it gives in the forecast ledger (METRICS.md section 8), which an export
    recorded after it would carry."""
    import sqlite3

    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM forecast_ledger")
        conn.execute("DELETE FROM advice_ledger")
    conn.close()


def _run(db: Path, args: list[str], monkeypatch) -> str:
    _forget_ledgers(db)
    monkeypatch.setenv("CALIBRATE_NOW", FROZEN_NOW)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CALIBRATE_PERSON", VIEWER)
    time.tzset()
    result = CliRunner().invoke(cli, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return _normalise(result.stdout, db)


@pytest.mark.parametrize("name", sorted(HASHED))
def test_large_output_hash_is_as_recorded(frozen_demo, monkeypatch, name):
    digest = hashlib.sha256(_run(frozen_demo, HASHED[name], monkeypatch).encode()).hexdigest()
    recorded = GOLDEN / f"{name}.sha256"
    if os.environ.get("CALIBRATE_REGOLD"):
        GOLDEN.mkdir(exist_ok=True)
        recorded.write_text(digest + "\n")
    assert recorded.read_text().strip() == digest, f"{name}: output changed"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_output_is_as_recorded(frozen_demo, monkeypatch, name):
    output = _run(frozen_demo, COMMANDS[name], monkeypatch)
    recorded = GOLDEN / f"{name}.txt"
    if os.environ.get("CALIBRATE_REGOLD"):
        GOLDEN.mkdir(exist_ok=True)
        recorded.write_text(output)
    assert recorded.exists(), f"no recording: run CALIBRATE_REGOLD=1 pytest {__file__}"
    expected = recorded.read_text()
    if output != expected:  # the first differing line, not a 5,000-line diff
        got, want = output.splitlines(), expected.splitlines()
        for number, (a, b) in enumerate(zip(got, want, strict=False), start=1):
            if a != b:
                pytest.fail(f"{name}: line {number} differs:\n got {a}\nwant {b}")
        pytest.fail(f"{name}: {len(got)} lines, recorded {len(want)}")


def test_recordings_are_not_empty():
    for name in COMMANDS:
        text = (GOLDEN / f"{name}.txt").read_text()
        assert re.search(r"\S", text), name
