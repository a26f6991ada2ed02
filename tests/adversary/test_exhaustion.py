"""Class 6 of issue 15: resource exhaustion.

Every input path is linear in time and bounded in memory: the worst cases
generated below (long runs of one character, of brackets, of quotes, of
separators, a Taskwarrior note of spaces: the regular expression that took
35 s on 80 KB) import or are refused within 30 s at 10 MB in ``make
reliability`` (200 KB in ``make test``), and a compressed file is refused once
it passes 32 MB decompressed (a 92 KB ``.xz`` reached 1.4 GB), JSON read
whole once it passes 32 MB, with a peak memory under 1 GB.
"""

from __future__ import annotations

import gzip
import lzma
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from calibrate.exchange import formats
from calibrate.exchange.formats import safejson
from tests.adversary.support_b import check_import, fresh, refused
from tests.reliability.faults import FULL, one_error_line, seeded_database, size

#: Bytes of each generated worst case.
SIZE = size(200_000, 10_000_000)
#: Every input imports or is refused within this (the issue's bound).
SECONDS = 30


def _pad(text: str, total: int) -> str:
    return (text * (total // max(1, len(text)) + 1))[:total]


def _lines(line: str, total: int) -> str:
    """Whole copies of ``line``, about ``total`` characters (at least one)."""
    return line * max(1, total // len(line))


#: name -> (file suffix, content of SIZE characters)
def worst_cases(n: int) -> dict[str, tuple[str, str]]:
    spaces = " " * n
    return {
        "taskwarrior note of spaces": (
            ".json",
            '[{"uuid": "a", "description": "t", "status": "completed", "annotations": '
            '[{"description": "actual: 1' + spaces + '!"}]}]\n',
        ),
        "taskwarrior note of words": (
            ".json",
            '[{"uuid": "a", "description": "t", "status": "completed", "annotations": '
            '[{"description": "spent ' + _pad("1 a. ", n) + '!"}]}]\n',
        ),
        "taskwarrior notes of spaces, a task a line": (
            ".json",
            _lines(
                '{"uuid": "a", "description": "t", "status": "completed", "annotations": '
                '[{"description": "actual: 1' + " " * 80_000 + '!"}]}\n',
                n,
            ),
        ),
        "csv of 1 MB cells of spaces and digits": (
            ".csv",
            "title,estimate,done\n"
            + _pad("t," + "1 " * 250_000 + "h,1/2/2026" + " " * 500_000 + "x\n", n),
        ),
        "jsonl of 1 MB lines of nesting": (
            ".jsonl",
            _pad('{"title": "t", "tags": ' + "[" * 500_000 + "\n", n),
        ),
        "csv of one long cell": (".csv", "title,estimate\n" + _pad("a", n) + ",1h\n"),
        "csv of quotes": (".csv", "title,estimate\n" + '"' + _pad('""', n) + '",1h\n'),
        "csv of separators": (".csv", "title,estimate\n" + _pad(",", n) + "\n"),
        "csv of short bad rows": (".csv", "title,estimate\n" + _pad("t,x\n", n)),
        "csv of date-like cells": (
            ".csv",
            "title,estimate,done\n" + _pad("t,1h,1/2/2026" + " " * 50 + "x\n", n),
        ),
        "csv of duration-like cells": (
            ".csv",
            "title,estimate\n" + _pad("t," + "1" * 40 + " h" + " " * 40 + "x\n", n),
        ),
        "jsonl of one long line": (".jsonl", '{"title": "' + _pad("x", min(n, 3_000_000)) + '"}\n'),
        "jsonl of brackets": (".jsonl", _pad("[", n) + "\n"),
        "jsonl of empty objects": (".jsonl", _pad("{}\n", n)),
        "json array of brackets": (".json", _pad("[", n)),
        "json array of empty objects": (".json", "[" + _pad("{},", n) + "{}]"),
        "timewarrior of spaces": (
            ".json",
            '[{"id": 1, "start": "20260105T090000Z"' + spaces + "}]",
        ),
        "newlines": (".csv", "title,estimate\n" + "\n" * n),
        "summary of spaces": (
            ".json",
            '{"format": "calibrate-summary", "format_version": 2' + spaces + "}",
        ),
    }


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return seeded_database(tmp_path_factory.mktemp("exhaust") / "pristine.db", people=2, weeks=3)


def run_bounded(db: Path, path: Path, *options: str) -> tuple[subprocess.CompletedProcess, int]:
    """``calibrate import PATH`` as its own process, killed past :data:`SECONDS`;
    with its peak memory (KB), measured by a parent that runs nothing else."""
    script = textwrap.dedent(
        """
        import resource, subprocess, sys
        done = subprocess.run(sys.argv[2:], capture_output=True, text=True,
                              timeout=float(sys.argv[1]))
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        sys.stderr.write(f"PEAK {peak}\\n")
        sys.exit(done.returncode)
        """
    )
    command = [sys.executable, "-m", "calibrate", "--db", str(db), "import", str(path), *options]
    done = subprocess.run(
        [sys.executable, "-c", script, str(SECONDS), *command],
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = done.stderr.splitlines()
    assert lines and lines[-1].startswith("PEAK "), done.stderr[-2000:]
    peak = int(lines[-1].split()[1])
    done.stderr = "\n".join(lines[:-1])
    return done, peak


@pytest.mark.parametrize("case", sorted(worst_cases(10)))
def test_worst_cases_are_linear_and_bounded(pristine, tmp_path, case):
    suffix, content = worst_cases(SIZE)[case]
    db = fresh(pristine, tmp_path)
    path = tmp_path / f"case{suffix}"
    path.write_text(content, encoding="utf-8")
    started = time.monotonic()
    done, peak = run_bounded(db, path)
    took = time.monotonic() - started
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    outcome = "imported" if done.returncode == 0 else one_error_line(done.stderr)[:70]
    print(
        f"{case}: {len(content) / 1e6:.1f} MB in {took:.1f} s, peak {peak / 1024:.0f} MB; {outcome}"
    )
    assert peak < 1024 * 1024, f"{case}: {peak / 1024:.0f} MB"


def test_the_taskwarrior_note_of_the_issue(pristine, tmp_path):
    """80 KB took 35 s: a run of spaces after 'actual: 1' and a character that
    is not one. Now it is read once."""
    from calibrate.exchange.formats.taskwarrior import _ACTUAL_NOTE

    note = "actual: 1" + " " * 80_000 + "!"
    assert _ACTUAL_NOTE.match(note) is None
    assert _ACTUAL_NOTE.match("actual: 1" + " " * 80_000).group("duration").rstrip() == "1"
    db = fresh(pristine, tmp_path)
    path = tmp_path / "note.json"
    path.write_text(
        '[{"uuid": "a", "description": "t", "status": "completed", "estimate": "PT1H", '
        '"annotations": [{"description": "' + note + '"}]}]\n',
        encoding="utf-8",
    )
    done, _ = run_bounded(db, path, "--format", "taskwarrior")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("kind", ["xz", "gz"])
def test_a_compression_bomb_is_refused_past_the_limit(pristine, tmp_path, monkeypatch, kind):
    """In ``make test`` the limit is lowered to 1 MB and the bomb is 3 MB (in
    process); in ``make reliability`` the real 32 MB limit meets a 38 MB
    bomb, in its own process, under 1 GB."""
    limit = formats.MAX_DECOMPRESSED_BYTES if FULL else 1_000_000
    monkeypatch.setattr(formats, "MAX_DECOMPRESSED_BYTES", limit)
    db = fresh(pristine, tmp_path)
    path = tmp_path / f"bomb.jsonl.{kind}"
    chunk = b"\n" * 1_000_000  # blank lines: read on and on, never refused before the limit
    opener = lzma.open if kind == "xz" else gzip.open
    with opener(path, "wb") as handle:  # type: ignore[operator]
        for _ in range(int(limit * 1.2) // len(chunk) + 1):
            handle.write(chunk)
    assert path.stat().st_size < limit // 100
    if FULL:
        started = time.monotonic()
        done, peak = run_bounded(db, path)
        line = one_error_line(done.stderr)
        took = time.monotonic() - started
        size_mb = path.stat().st_size / 1e6
        print(
            f"{kind} bomb of {size_mb:.2f} MB: refused in {took:.1f} s, peak {peak / 1024:.0f} MB"
        )
        assert peak < 1024 * 1024, peak
    else:
        line = refused(db, path)
    assert "MB once decompressed" in line, line


def test_json_read_whole_is_refused_past_its_limit(pristine, tmp_path, monkeypatch):
    monkeypatch.setattr(safejson, "MAX_DOCUMENT_CHARS", 100_000)
    db = fresh(pristine, tmp_path)
    for name, text in {
        "array.json": "[" + '{"title": "t", "estimate": "1h"},\n' * 5_000 + "{}]",
        "task.json": '[{"uuid": "a", "description": "t"},\n' * 5_000,
        "timew.json": '[{"id": 1, "start": "20260105T090000Z"},\n' * 5_000,
    }.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        line = refused(db, path)
        assert "MB of JSON read whole" in line, line


def test_json_lines_stream_past_that_limit(pristine, tmp_path, monkeypatch):
    monkeypatch.setattr(safejson, "MAX_DOCUMENT_CHARS", 1_000)
    db = fresh(pristine, tmp_path)
    path = tmp_path / "many.jsonl"
    path.write_text(
        "".join(f'{{"title": "t{i}", "estimate": "1h"}}\n' for i in range(200)), encoding="utf-8"
    )
    assert check_import(db, path).exit_code == 0
