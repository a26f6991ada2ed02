"""The adversary suite (issue 15): hostile input and places, by class.

Each file closes one class of the issue: output paths, privacy, terminal
control sequences, hostile files, values that bypass validation, resource
exhaustion, sizes and unwritable places. Small by default, so that ``make
test`` stays quick; ``CALIBRATE_RELIABILITY=full`` (``make reliability``) runs
the sizes docs/GUARANTEES.md reports, with fresh random examples where
hypothesis generates them. The helpers are the reliability suite's
(``tests/reliability/faults.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from calibrate.cli import cli
from tests.reliability.faults import FULL, seeded_database

#: ``full`` in ``make reliability``: the sizes GUARANTEES.md reports.
full = FULL


@pytest.fixture
def seeded(tmp_path) -> Path:
    return seeded_database(tmp_path / "seeded.db")


@pytest.fixture
def invoke() -> Callable:
    """Run the CLI in-process: ``invoke(db, *args)`` -> click's Result, with
    stdout and stderr apart."""
    runner = CliRunner()

    def call(db: Path, *args: str, input: str | bytes | None = None):
        return runner.invoke(cli, ["--db", str(db), *args], input=input)

    return call
