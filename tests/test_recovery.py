"""No way back, fixed: reopen, edit of how a task ended, and undo (PRODUCT.md,
"A day's use"; law 1: an undo is a change like any other, and merges so)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest
from click.testing import CliRunner

from calibrate import store
from calibrate.cli import cli
from calibrate.store.state import replica_state

NOW = "2026-12-02T12:00:00Z"


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CALIBRATE_NOW", NOW)
    monkeypatch.setenv("NO_COLOR", "1")


def fails(result, code: int, message: str) -> None:
    assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n"), result.output


def values(path) -> dict:
    """What a user can see of a database: every task's fields (not its stamps)
    and its live timer sittings and re-estimates."""
    with closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        tasks = {
            row["uid"]: {k: v for k, v in dict(row).items() if k not in ("stamps", "updated_at")}
            for row in conn.execute("SELECT * FROM tasks")
        }
        sittings = sorted(
            tuple(r)
            for r in conn.execute(
                "SELECT task_id, started_at, stopped_at FROM intervals WHERE deleted = 0"
            )
        )
        estimates = sorted(
            tuple(r)
            for r in conn.execute("SELECT task_id, estimate_h FROM reestimates WHERE deleted = 0")
        )
    return {"tasks": tasks, "intervals": sittings, "reestimates": estimates}


def at(path, sql: str, params=()) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return [tuple(r) for r in conn.execute(sql, params)]


# --- reopen and edit ---------------------------------------------------------------------


def test_reopen_takes_a_finished_task_back(run, db_path):
    run("add", "a", "-e", "1h", "--actual", "2h", "--at", "09:00")
    run("add", "b", "-e", "1h", "--at", "08:00", "--start")
    run("drop", "2")
    result = run("reopen", "1")
    assert (result.exit_code, result.stdout) == (0, "Reopened #1: a (open)\n")
    assert run("reopen", "2").stdout == "Reopened #2: b (started)\n"  # its timer ran
    assert at(db_path, "SELECT status, actual_h, done_at FROM tasks ORDER BY id") == [
        ("open", None, None),
        ("started", None, None),
    ]
    fails(run("reopen", "1"), 1, "task #1 is open: only a done or dropped task can be reopened")
    fails(run("reopen", "9"), 1, "no task #9")


def test_reopen_is_a_new_stamped_change(run, db_path):
    run("add", "a", "-e", "1h", "--actual", "2h")
    before = json.loads(at(db_path, "SELECT stamps FROM tasks")[0][0])
    run("reopen", "1")
    after = json.loads(at(db_path, "SELECT stamps FROM tasks")[0][0])
    assert after["state"][0] > before["*"][0] and after["state"][1] == before["*"][1]


def test_edit_corrects_how_a_task_ended(run, db_path):
    run("add", "a", "-e", "1h", "--at", "08:00")
    result = run("edit", "1", "--status", "done", "--actual", "2h", "--done-at", "10:00")
    assert (result.exit_code, result.stdout) == (0, "Edited #1: actual, status, done date\n")
    assert at(db_path, "SELECT status, actual_h, done_at FROM tasks") == [
        ("done", 2.0, "2026-12-02T10:00:00Z")
    ]
    assert run("edit", "1", "--done-at", "11:00").stdout == "Edited #1: done date\n"
    assert run("edit", "1", "--actual", "90m").stdout == "Edited #1: actual\n"
    assert run("edit", "1", "--status", "open").stdout == "Edited #1: actual, status, done date\n"
    assert at(db_path, "SELECT status, actual_h, done_at FROM tasks") == [("open", None, None)]
    assert run("edit", "1", "--status", "dropped").exit_code == 0
    assert at(db_path, "SELECT status, actual_h, done_at FROM tasks") == [
        ("dropped", None, "2026-12-02T12:00:00Z")
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--done-at", "tomorrow"],
            2,
            "Invalid value for '--done-at': 'tomorrow' is in the future "
            "(see 'calibrate edit --help')",
        ),
        (
            ["--status", "done", "--actual", "1h", "--done-at", "09:00"],
            2,
            "the done time 2026-12-02 09:00 is before task #1's timer started (2026-12-02 10:00) "
            "(see 'calibrate edit --help')",
        ),
        (["--done-at", "11:00"], 1, "task #1 is open: only a done or dropped task has a done time"),
        (["--actual", "1h"], 1, "task #1 is not done: finish it with 'calibrate done'"),
        (
            ["--status", "done"],
            1,
            "task #1 has no time on its timer: give the effort with --actual",
        ),
        (
            ["--status", "started"],
            1,
            "task #1's timer never ran: start it with 'calibrate start 1'",
        ),
    ],
)
def test_edit_of_how_it_ended_is_checked(run, db_path, args, code, message):
    run("add", "a", "-e", "1h", "--at", "08:00")
    if "09:00" in args:  # a timer that ran 10:00-11:00
        run("start", "1", "--at", "10:00")
        run("stop", "--at", "11:00")
    before = values(db_path)
    fails(run("edit", "1", *args), code, message)
    assert values(db_path) == before


def test_edit_will_not_end_a_task_whose_timer_runs(run):
    run("add", "a", "-e", "1h", "--at", "08:00", "--start")
    fails(
        run("edit", "1", "--status", "done", "--actual", "1h"),
        1,
        "task #1's timer is running: stop it first ('calibrate stop 1')",
    )


# --- undo --------------------------------------------------------------------------------

#: Each typed change, after a set-up, and what undo says it did.
CHANGES = {
    "add": ([], ["add", "b", "-e", "1h"], "  #2 b: deleted (a tombstone keeps it so in merges)"),
    "start": ([], ["start", "1", "--at", "10:00"], "  #1 a: status (open) and timer as before"),
    "stop": (
        [["start", "1", "--at", "10:00"]],
        ["stop", "--at", "11:00"],
        "  #1 a: timer as before",
    ),
    "done": (
        [["start", "1", "--at", "10:00"]],
        ["done", "1", "--at", "11:00"],
        "  #1 a: status (started) and timer as before",
    ),
    "done --actual": ([], ["done", "1", "--actual", "2h"], "  #1 a: status (open) as before"),
    "drop": ([], ["drop", "1"], "  #1 a: status (open) as before"),
    "reestimate": ([], ["reestimate", "1", "5h"], "  #1 a: reestimates as before"),
    "edit": (
        [],
        ["edit", "1", "--title", "A", "-e", "2h", "--promise", "3h", "-t", "x"],
        "  #1 a: title, estimate, promise and tags as before",
    ),
    "rm": (
        [["start", "1", "--at", "09:00"], ["stop", "--at", "10:00"], ["reestimate", "1", "2h"]],
        ["rm", "1", "--yes"],
        "  #1 a: back as it was",
    ),
    "reopen": (
        [["done", "1", "--actual", "2h"]],
        ["reopen", "1"],
        "  #1 a: status (done) as before",
    ),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_undo_reverses_the_last_change_typed_here(run, db_path, name):
    setup, command, said = CHANGES[name]
    run("add", "a", "-e", "1h", "--at", "08:00")
    for args in setup:
        assert run(*args).exit_code == 0
    before = values(db_path)
    assert run(*command).exit_code == 0
    assert values(db_path) != before
    result = run("undo")
    assert result.exit_code == 0, result.output
    label = command[0] + (f" #{command[1]}" if command[0] not in ("add", "stop") else "")
    label = {"add": "add #2", "stop": "stop", "rm": "rm #1"}.get(command[0], label)
    assert result.stdout == f"Undid {label} (typed 2026-12-02 12:00)\n{said}\n"
    assert values(db_path) == before


def test_undo_walks_back_to_nothing(run, db_path):
    for args in (
        ["add", "a", "-e", "1h", "--at", "08:00"],
        ["start", "1", "--at", "09:00"],
        ["stop", "--at", "10:00"],
        ["edit", "1", "--title", "b"],
        ["done", "1"],
        ["reopen", "1"],
    ):
        assert run(*args).exit_code == 0, args
    said = [run("undo").stdout.splitlines()[0] for _ in range(6)]
    assert said == [
        f"Undid {c} (typed 2026-12-02 12:00)"
        for c in ("reopen #1", "done #1", "edit #1", "stop", "start #1", "add #1")
    ]
    assert values(db_path)["tasks"] == {}
    fails(run("undo"), 1, "nothing to undo: no change typed here is left to reverse")


def test_undo_on_no_database_creates_nothing(run, db_path):
    fails(run("undo"), 1, "nothing to undo: no change typed here is left to reverse")
    assert not db_path.exists()


def test_an_import_is_not_undone_but_the_change_before_it_is(run, db_path, tmp_path):
    run("add", "typed", "-e", "1h")
    csv = tmp_path / "tracker.csv"
    csv.write_text("title,estimate\nimported,2h\n")
    assert run("import", str(csv)).exit_code == 0
    assert run("undo").stdout.splitlines()[0] == "Undid add #1 (typed 2026-12-02 12:00)"
    assert [t["title"] for t in values(db_path)["tasks"].values()] == ["imported"]


def test_undo_of_rm_restores_the_task_and_its_records_under_its_id(run, db_path):
    run("add", "a", "-e", "1h", "--at", "08:00")
    run("add", "b", "-e", "1h")
    run("start", "1", "--at", "09:00")
    run("stop", "--at", "10:00")
    before = values(db_path)
    run("rm", "1", "2", "--yes")
    assert run("undo").stdout.splitlines()[1:] == [
        "  #1 a: back as it was",
        "  #2 b: back as it was",
    ]
    assert values(db_path) == before
    (deleted, restored), (deleted2, restored2) = at(
        db_path, "SELECT deleted_at, restored_at FROM tombstones ORDER BY uid"
    )
    assert restored > deleted and restored2 > deleted2  # the un-delete wins by being later


# --- law 1: an undo merges like any other change ------------------------------------------


def cli_on(path, *args):
    return CliRunner().invoke(cli, ["--db", str(path), *args], prog_name="calibrate")


def state_of(path) -> dict:
    conn = store.connect(path)
    try:
        state = replica_state(conn)
    finally:
        conn.close()
    return state


def test_an_undone_done_reaches_another_file_by_merge(tmp_path):
    laptop, desktop = tmp_path / "laptop.db", tmp_path / "desktop.db"
    cli_on(laptop, "add", "a", "-e", "1h", "--at", "08:00")
    cli_on(laptop, "done", "1", "--actual", "2h")
    assert cli_on(desktop, "merge", str(laptop)).exit_code == 0
    assert at(desktop, "SELECT status FROM tasks") == [("done",)]
    cli_on(laptop, "undo")
    assert cli_on(desktop, "merge", str(laptop)).exit_code == 0
    assert at(desktop, "SELECT status, actual_h FROM tasks") == [("open", None)]
    assert cli_on(laptop, "merge", str(desktop)).exit_code == 0
    assert state_of(laptop)["tasks"] == state_of(desktop)["tasks"]


def test_an_undone_rm_brings_the_task_back_wherever_it_travels(tmp_path):
    laptop, desktop = tmp_path / "laptop.db", tmp_path / "desktop.db"
    cli_on(laptop, "add", "a", "-e", "1h", "--at", "08:00")
    cli_on(laptop, "start", "1", "--at", "09:00")
    cli_on(laptop, "stop", "--at", "10:00")
    cli_on(desktop, "merge", str(laptop))
    cli_on(laptop, "rm", "1", "--yes")
    cli_on(desktop, "merge", str(laptop))
    assert at(desktop, "SELECT count(*) FROM tasks") == [(0,)]
    cli_on(laptop, "undo")
    assert cli_on(desktop, "merge", str(laptop)).exit_code == 0
    assert at(desktop, "SELECT title, status FROM tasks") == [("a", "started")]
    assert at(desktop, "SELECT started_at, stopped_at FROM intervals") == [
        ("2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z")
    ]
    cli_on(laptop, "merge", str(desktop))
    assert state_of(laptop) == state_of(desktop)


def test_what_a_merge_changed_since_is_left_and_said(tmp_path, monkeypatch):
    laptop, desktop = tmp_path / "laptop.db", tmp_path / "desktop.db"
    cli_on(laptop, "add", "a", "-e", "1h")
    cli_on(laptop, "edit", "1", "--title", "b", "-e", "2h")
    cli_on(desktop, "merge", str(laptop))
    monkeypatch.setenv("CALIBRATE_NOW", "2026-12-02T12:05:00Z")  # later: the desktop's wins
    cli_on(desktop, "edit", "1", "--title", "c")
    cli_on(laptop, "merge", str(desktop))
    result = cli_on(laptop, "undo")
    assert result.stdout == ("Undid edit #1 (typed 2026-12-02 12:00)\n  #1 c: estimate as before\n")
    assert result.stderr == (
        "#1: its title changed since (by a merge or an import) and stayed as it is\n"
    )
    assert at(laptop, "SELECT title, estimate_h FROM tasks") == [("c", 1.0)]


# --- rm --person forgets what undo kept -----------------------------------------------------


def test_rm_person_leaves_nothing_of_them_in_the_undo_log(run, db_path):
    run("add", "mine", "-e", "1h")
    run("add", "theirs", "-e", "1h", "--person", "bob")
    run("edit", "2", "--title", "still theirs")
    run("rm", "--person", "bob", "--yes")
    assert at(db_path, "SELECT count(*) FROM undo_items WHERE before LIKE '%bob%'") == [(0,)]
    assert at(db_path, "SELECT command FROM undo_log ORDER BY id") == [("add #1",)]
    assert run("undo").stdout.splitlines()[0] == "Undid add #1 (typed 2026-12-02 12:00)"


@pytest.fixture(params=["default", "no secure delete by default"])
def sqlite_build(request, monkeypatch):
    """SQLite as built here (Debian's overwrites what is deleted), and as
    python.org's macOS and Windows builds come (they leave it in free pages)."""
    if request.param != "default":
        real = sqlite3.connect

        def leaves_free_pages(*args, **kwargs):
            conn = real(*args, **kwargs)
            conn.execute("PRAGMA secure_delete = OFF")
            return conn

        monkeypatch.setattr(sqlite3, "connect", leaves_free_pages)
    return request.param


def test_rm_person_forgets_their_earlier_deleted_and_given_away_tasks_in_the_undo_log(
    run, db_path, sqlite_build
):
    """The review's case: a task of theirs deleted before rm --person (and one
    given to someone else) must not come back with undo, nor stay in the file,
    not even in its free pages where SQLite does not overwrite deletions by
    default."""
    run("add", "Secretword task", "-e", "2h", "--actual", "3h", "--person", "bob")
    run("add", "Other bob", "-e", "1h", "--actual", "1h", "--person", "bob")
    run("add", "Given away", "-e", "1h", "--person", "bob")
    run("rm", "1", "--yes")
    run("edit", "3", "--person", "alice")
    assert run("rm", "--person", "bob", "--yes").exit_code == 0
    assert at(db_path, "SELECT count(*) FROM undo_items WHERE before LIKE '%bob%'") == [(0,)]
    result = run("undo")
    assert "Secretword" not in result.output
    assert at(db_path, "SELECT count(*) FROM tasks WHERE title = 'Secretword task'") == [(0,)]
    assert b"Secretword" not in db_path.read_bytes()


def test_rm_person_clears_them_from_the_undo_log_of_a_backup(run, db_path):
    from calibrate.store import backups

    run("add", "theirs", "-e", "1h", "--person", "bob")
    run("edit", "1", "--title", "still theirs")
    run("rm", "1", "--yes")
    backup = db_path.with_name(db_path.name + ".bak-v5")
    with closing(sqlite3.connect(db_path)) as source, closing(sqlite3.connect(backup)) as copy:
        source.backup(copy)
    assert at(backup, "SELECT count(*) FROM undo_items") == [(3,)]
    rewritten, left = backups.forget_person(db_path, ["bob"])
    assert (rewritten, left) == ([str(backup)], [])
    assert at(backup, "SELECT count(*) FROM undo_items") == [(0,)]
    assert at(backup, "SELECT count(*) FROM undo_log") == [(0,)]


def test_an_undone_rm_brings_back_the_advice_kept_for_the_task(run, db_path):
    """Every record of the task comes back with it: the advice ledger's too."""
    for i in range(12):
        run("add", f"done {i}", "-e", "1h", "--actual", f"{40 + 5 * i}m", "--at", "-2d")
    run("add", "to do", "-e", "1h")
    kept = at(db_path, "SELECT uid, task_id, p50_h, p90_h, stamp_at FROM advice_ledger")
    assert [row[1] for row in kept] == [13]
    run("rm", "13", "--yes")
    assert at(db_path, "SELECT count(*) FROM advice_ledger") == [(0,)]
    run("undo")
    assert at(db_path, "SELECT uid, task_id, p50_h, p90_h, stamp_at FROM advice_ledger") == kept
