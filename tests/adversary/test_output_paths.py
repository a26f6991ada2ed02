"""Class 1, output paths: every ``-o`` (export, export --summary, report, and
the demo's database and report) goes through ``files.output_target``.

- the database itself and its files (``-wal``, ``-shm``, ``-journal``, the
  migration backups ``.bak-vN``) are refused, by name, through a symlink, a
  relative spelling or a hard link, and the database is left byte for byte;
- a symlink to a regular file is followed: that file is replaced atomically,
  the link stays a link;
- a FIFO or a character device is written straight into (no rename);
- a directory, a socket or a block device is refused with one line;
- ``-o -`` writes to standard output.

Hypothesis generates spellings of the database's own names (``./``, ``..``,
doubled slashes, symlinks to the file and to its folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibrate import files
from calibrate.errors import InputError
from tests.reliability.faults import (
    FULL,
    assert_clean_failure,
    file_state,
    run_calibrate,
    size,
    task_count,
)

#: (name, the command's words before the output path).
OUTPUTS = [
    ("export csv", ["export"]),
    ("export jsonl", ["export", "--format", "jsonl"]),
    ("export summary", ["export", "--summary"]),
    ("report", ["report", "--everyone"]),
]
COMPANIONS = ["", "-wal", "-shm", "-journal", ".bak-v3"]


def write(invoke, db: Path, words: list[str], target: str):
    return invoke(db, *words, "-o", target)


@pytest.fixture
def db(tmp_path, seeded) -> Path:
    """The seeded database, with a migration backup beside it."""
    shutil.copy(seeded, f"{seeded}.bak-v3")
    return seeded


# --- the database and its files ---------------------------------------------------------


@pytest.mark.parametrize("suffix", COMPANIONS)
@pytest.mark.parametrize(("name", "words"), OUTPUTS, ids=[o[0] for o in OUTPUTS])
def test_the_database_and_its_files_are_never_an_output(invoke, db, name, words, suffix):
    """The issue's example: ``export -o self.db`` replaced the database with a
    CSV ("Exported 2 tasks to self.db", then "not a calibrate database")."""
    before = file_state(db)
    tasks = task_count(db)
    target = f"{db}{suffix}"
    existed = os.path.exists(target)
    result = write(invoke, db, words, target)
    line = assert_clean_failure(result, codes=(1,))
    assert "is the database" in line, line
    assert file_state(db) == before
    assert task_count(db) == tasks
    assert os.path.exists(target) == existed  # no companion file made either
    assert not [p for p in db.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(("name", "words"), OUTPUTS, ids=[o[0] for o in OUTPUTS])
def test_the_database_behind_a_symlink_or_a_hard_link_is_refused(invoke, db, tmp_path, name, words):
    before = file_state(db)
    (tmp_path / "link.db").symlink_to(db)
    os.link(db, tmp_path / "hard.db")
    (tmp_path / "folder").symlink_to(db.parent)
    for target in ("link.db", "hard.db", f"folder/{db.name}", f"folder/{db.name}-wal"):
        result = write(invoke, db, words, str(tmp_path / target))
        assert "is the database" in assert_clean_failure(result, codes=(1,)), target
    assert file_state(db) == before
    assert (tmp_path / "link.db").is_symlink()


@settings(
    max_examples=size(30, 500),
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    parts=st.lists(st.sampled_from([".", "sub/..", "", "link"]), max_size=4),
    suffix=st.sampled_from(COMPANIONS),
    words=st.sampled_from([o[1] for o in OUTPUTS[:3]]),
)
def test_any_spelling_of_the_database_is_refused(invoke, db, parts, suffix, words):
    """``./self.db``, ``sub/../self.db``, ``dir//self.db-wal``, through a
    symlinked folder: one line, nothing written."""
    folder = db.parent
    (folder / "sub").mkdir(exist_ok=True)
    if not (folder / "link").exists():
        (folder / "link").symlink_to(folder)
    before = file_state(db)
    spelled = os.path.join(str(folder), *parts, db.name + suffix)
    result = write(invoke, db, words, spelled)
    assert "is the database" in assert_clean_failure(result, codes=(1,)), spelled
    assert file_state(db) == before


def test_output_target_decides_by_resolved_name_and_by_inode(tmp_path):
    database = tmp_path / "a.db"
    database.write_bytes(b"x")
    os.link(database, tmp_path / "b.db")
    for name in ("a.db", "a.db-wal", "a.db-shm", "a.db-journal", "a.db.bak-v12", "b.db"):
        with pytest.raises(InputError, match="is the database"):
            files.output_target(tmp_path / name, database=database)
    for name in ("a.db.bak-vx", "a.db-walrus", "a.csv"):  # not files of the database
        assert not files.output_target(tmp_path / name, database=database).stream


# --- symlinks, FIFOs, devices, and what is refused -------------------------------------


def test_a_symlink_to_a_regular_file_replaces_that_file(invoke, db, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    result = invoke(db, "export", "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == real
    assert real.read_text().startswith("uid,")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # a replaced file keeps its mode


def test_a_dangling_symlink_creates_the_file_it_names(invoke, db, tmp_path):
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "made.jsonl")
    assert invoke(db, "export", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and (tmp_path / "made.jsonl").read_text().startswith("{")


@pytest.mark.parametrize(("name", "words"), OUTPUTS, ids=[o[0] for o in OUTPUTS])
def test_a_fifo_is_written_straight_into(db, tmp_path, name, words):
    """A rename would have put a regular file where the FIFO was."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run_calibrate(db, *words, "-o", str(fifo), timeout=120)
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received and len(received[0]) > 10


@pytest.mark.parametrize(("name", "words"), OUTPUTS, ids=[o[0] for o in OUTPUTS])
def test_a_character_device_is_written_straight_into(invoke, db, name, words):
    result = write(invoke, db, words, os.devnull)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_directory_a_socket_and_a_block_device_are_refused(invoke, db, tmp_path):
    (tmp_path / "folder").mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    refused = {"folder": "is a directory", "sock": "is a socket"}
    block = next(
        (p for p in ("/dev/loop0", "/dev/sda", "/dev/vda") if Path(p).is_block_device()), None
    )
    try:
        for _name, words in OUTPUTS:
            for target, words_expected in refused.items():
                line = assert_clean_failure(write(invoke, db, words, str(tmp_path / target)))
                assert words_expected in line or "folder" in line, line
            if block:
                line = assert_clean_failure(write(invoke, db, words, block))
                assert "block device" in line, line
    finally:
        server.close()
    assert not list((tmp_path / "folder").iterdir())
    assert stat.S_ISSOCK(os.lstat(tmp_path / "sock").st_mode)


def test_dash_writes_to_standard_output(invoke, db):
    for words, start in (
        (["export"], "uid,"),
        (["export", "--format", "jsonl"], "{"),
        (["export", "--summary"], "{"),
        (["report", "--everyone"], "<!DOCTYPE html>"),
    ):
        result = write(invoke, db, words, "-")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(start), result.stdout[:80]
    assert not (Path.cwd() / "-").exists()


def test_the_demo_never_writes_its_report_over_its_database(tmp_path):
    """``demo --db x.html``: the report goes to x.html.html."""
    db = tmp_path / "demo.html"
    result = run_calibrate(db, "demo", "--people", "2", "--weeks", "2")
    assert result.returncode == 0, result.stderr
    assert db.read_bytes()[:15] == b"SQLite format 3"
    assert (tmp_path / "demo.html.html").read_text().startswith("<!DOCTYPE html>")


def test_the_demo_follows_a_symlink_and_refuses_a_fifo(tmp_path):
    real = tmp_path / "real.db"
    link = tmp_path / "link.db"
    link.symlink_to(real)
    result = run_calibrate(link, "demo", "--people", "2", "--weeks", "2")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and real.read_bytes()[:15] == b"SQLite format 3"
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    result = run_calibrate(fifo, "demo", "--people", "2", "--weeks", "2", "--force")
    one = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(one) == 1 and "not a regular file" in one[0], one
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
