"""Helpers of the adversary suite's classes 2, 4, 5 and 6 (privacy, hostile
files, values that bypass validation, resource exhaustion): running the CLI
in-process on a fresh copy of a small history, and what every rejected input
must leave behind. The reliability suite's helpers (``faults.py``) do the
fingerprinting."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings

from calibrate.cli import cli
from tests.reliability.faults import (
    FULL,
    assert_clean_failure,
    assert_no_traceback,
    file_state,
    integrity,
    settled,
    size,
)

#: Generated examples: a fixed small set in ``make test``, fresh random ones
#: (many more) in ``make reliability``.
EXAMPLES = settings(
    max_examples=size(20, 600),
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


def run(db: Path, *args: str, input: str | None = None) -> Result:
    """``calibrate --db DB ARGS`` in-process, stdout and stderr apart."""
    return CliRunner().invoke(cli, ["--db", str(db), *args], input=input)


def fresh(pristine: Path, folder: Path, name: str = "work.db") -> Path:
    """A settled copy of ``pristine`` in ``folder`` (the same name each time)."""
    db = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(pristine, db)
    return settled(db)


def check_import(db: Path, path: Path, *options: str) -> Result:
    """``import PATH``: accepted, a sound database that exports; refused, one
    ``Error:`` line (exit 1 or 2) and the database byte for byte as it was."""
    before = file_state(db)
    result = run(db, "import", str(path), *options)
    assert_no_traceback(result)
    if result.exit_code == 0:
        assert integrity(db) == "ok"
        exported = run(db, "export", "--format", "jsonl")
        assert exported.exit_code == 0, exported.output
    else:
        assert_clean_failure(result)
        assert file_state(db) == before, result.stderr
    return result


def refused(db: Path, path: Path, *options: str, code: int = 1) -> str:
    """``import PATH`` must be refused: its one error line."""
    result = check_import(db, path, *options)
    assert result.exit_code == code, (result.exit_code, result.output)
    return result.stderr.strip()
