"""The reliability suite: load, faults and hostile input.

Small by default, so that ``make test`` stays quick; ``CALIBRATE_RELIABILITY=full``
(``make reliability``) runs the sizes docs/GUARANTEES.md reports. Every test
builds its own databases under ``tmp_path``; commands run as real processes where
the fault needs one (a kill, a lock, a file-size limit, another user), else
through click's runner. The helpers live in ``faults.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from calibrate.cli import cli
from tests.reliability.faults import seeded_database


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
