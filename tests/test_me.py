"""Who you are is stable: remembered per OS user, in the user's own config file.

``--person``, else ``$CALIBRATE_PERSON``, else the person remembered for this OS
user (set on first use from git or the login name, changed with ``calibrate
config me NAME``), else git, else the login name. A per-repository git name
does not make a second person; ``add`` says once that git's name differs.
"""

from __future__ import annotations

import os
import sqlite3

import pytest

from calibrate import identity


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A user with a global git name and a repository with another one."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("CALIBRATE_PERSON")
    (home / ".gitconfig").write_text("[user]\n\tname = Jane Doe\n")
    repo = tmp_path / "work-repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[user]\n\tname = Jane at Work\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return home


def people(db_path) -> list[str]:
    conn = sqlite3.connect(db_path)
    try:
        return [row[0] for row in conn.execute("SELECT person FROM tasks ORDER BY id")]
    finally:
        conn.close()


def config_text(tmp_path) -> str:
    return (tmp_path / "config" / "config").read_text(encoding="utf-8")


def test_the_first_use_remembers_git_and_a_repository_name_is_not_a_second_person(
    run, db_path, home, tmp_path, monkeypatch
):
    assert run("add", "first", "-e", "1h").exit_code == 0
    assert "person = Jane Doe\n" in config_text(tmp_path)
    monkeypatch.chdir(tmp_path / "work-repo")
    result = run("add", "in the repository", "-e", "1h")
    assert result.exit_code == 0
    assert result.stderr == (
        "Note: git's user.name here is 'Jane at Work'; calibrate knows you as 'Jane Doe' "
        "(for this OS user). Same person: calibrate alias 'Jane at Work' 'Jane Doe'. To "
        "switch: calibrate config me 'Jane at Work'. (Said once.)\n"
    )
    again = run("add", "again", "-e", "1h")
    assert (again.exit_code, again.stderr) == (0, "")  # said once
    assert people(db_path) == ["Jane Doe", "Jane Doe", "Jane Doe"]
    monkeypatch.chdir(tmp_path / "elsewhere")
    listed = run("list", "--json").stdout
    assert listed.count('"person": "Jane Doe"') == 3  # outside the repository too


def test_config_me_changes_who_you_are_for_this_os_user(run, db_path, home, tmp_path):
    result = run("config", "me", "J. Doe")
    assert (result.exit_code, result.stdout) == (
        0,
        f"me = J. Doe (remembered for this OS user in {tmp_path / 'config' / 'config'})\n",
    )
    run("add", "x", "-e", "1h")
    assert people(db_path) == ["J. Doe"]
    shown = run("config", "me")
    assert shown.stdout == "J. Doe\n"
    assert shown.stderr == f"(remembered for this OS user in {tmp_path / 'config' / 'config'})\n"
    conn = sqlite3.connect(db_path)  # the database keeps no "me": a shared one pins nobody
    assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == 0
    conn.close()
    reset = run("config", "me", "--reset")
    assert reset.stdout == (
        f"me = Jane Doe (remembered for this OS user in {tmp_path / 'config' / 'config'})\n"
    )


def test_person_and_the_environment_come_first(run, db_path, home, monkeypatch):
    run("config", "me", "Remembered")
    run("add", "a", "-e", "1h", "--person", "Typed")
    monkeypatch.setenv("CALIBRATE_PERSON", "From Env")
    run("add", "b", "-e", "1h")
    monkeypatch.delenv("CALIBRATE_PERSON")
    run("add", "c", "-e", "1h")
    assert people(db_path) == ["Typed", "From Env", "Remembered"]


def test_a_read_only_config_folder_falls_back_to_git(home, tmp_path, monkeypatch):
    monkeypatch.setenv("CALIBRATE_CONFIG_DIR", str(tmp_path / "no" / "such" / "file" / "x"))
    (tmp_path / "no" / "such").mkdir(parents=True)
    (tmp_path / "no" / "such" / "file").write_text("a file where a folder should be")
    assert identity.default_person() == "Jane Doe"
    assert identity.remembered_person() is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("  ", "a person's name cannot be empty"),
        ("two\nlines", "'two\\nlines': a person's name is one line of text"),
    ],
)
def test_config_me_refuses_names_no_person_has(run, home, name, message):
    result = run("config", "me", name)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {message} (see 'calibrate config --help')\n",
    )
