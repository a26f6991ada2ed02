"""Shared fixtures: every test gets its own database and a fixed person."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from calibrate import store
from calibrate.cli import cli


@pytest.fixture(scope="session", autouse=True)
def isolated_data(tmp_path_factory):
    """Databases made for a whole module or session (before any test's own
    environment) register their identity in a folder of the run's, never in
    the user's data folder."""
    saved = os.environ.get("CALIBRATE_DATA_DIR")
    os.environ["CALIBRATE_DATA_DIR"] = str(tmp_path_factory.mktemp("data-session"))
    yield
    if saved is None:
        os.environ.pop("CALIBRATE_DATA_DIR", None)
    else:
        os.environ["CALIBRATE_DATA_DIR"] = saved


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, tmp_path_factory, monkeypatch):
    """No test touches real data: the database, the user's config folder (where
    the person is remembered), the data folder (the registry of replicas),
    person and team are set here."""
    monkeypatch.setenv("CALIBRATE_DB", str(tmp_path / "calibrate.db"))
    monkeypatch.setenv("CALIBRATE_CONFIG_DIR", str(tmp_path / "config"))
    # the registry of replicas (law 4), beside the test's folder rather than in it
    monkeypatch.setenv("CALIBRATE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("CALIBRATE_PERSON", "alice")
    monkeypatch.delenv("CALIBRATE_TEAM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "calibrate.db"


@pytest.fixture
def conn(db_path):
    connection = store.connect(db_path)
    yield connection
    connection.close()


@pytest.fixture
def run(db_path):
    """Invoke the CLI against the test database, named as a user types it
    (``calibrate``, in messages that point at ``--help``); returns click's Result."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, ["--db", str(db_path), *args], input=input, prog_name="calibrate")

    return invoke
