"""A calibrate export's lines, mutated: each is joined, or refused with one
clear line and nothing written (the lines are input like any other file)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.faults import FULL, assert_no_traceback, file_state, integrity, size

SETTINGS = settings(
    max_examples=size(40, 1500),
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(
        [
            "2026-11-30T09:00:00Z",
            "2026-11-30T09:00:00.000000Z",
            "2026-11-30T09:00:00+02:00",
            "0001-01-01T00:00:00Z",
            ["2026-11-30T09:00:00.000000Z", "0" * 32],
            ["2026-11-30T09:00:00Z", "x"],
            "interval",
            "tombstone",
            "task",
            "alias",
            "person",
            "reestimate",
        ]
    ),
)


def _export(run, tmp_path) -> list[dict]:
    for command in (
        ("add", "Timed", "-e", "2h", "--range", "1h..3h", "-t", "a"),
        ("reestimate", "1", "3h"),
        ("start", "1", "--at", "2026-11-30T09:00"),
        ("stop", "1", "--at", "2026-11-30T10:00"),
        ("alias", "al", "alice"),
        ("add", "Gone", "-e", "1h"),
        ("rm", "2", "--yes"),
        ("people", "--opt-out"),
    ):
        assert run(*command).exit_code == 0, command
    out = run("export", "--format", "jsonl")
    return [json.loads(line) for line in out.stdout.splitlines()]


@SETTINGS
@given(data=st.data())
def test_a_mutated_export_line_is_joined_or_refused_cleanly(run, db_path, tmp_path, data):
    lines = getattr(test_a_mutated_export_line_is_joined_or_refused_cleanly, "lines", None)
    if lines is None or not db_path.exists():
        lines = _export(run, tmp_path)
        test_a_mutated_export_line_is_joined_or_refused_cleanly.lines = lines  # type: ignore[attr-defined]
    line = dict(data.draw(st.sampled_from(lines)))
    key = data.draw(st.sampled_from(sorted(line)))
    if data.draw(st.booleans()):
        line[key] = data.draw(ODD)
    else:
        del line[key]
    path = tmp_path / "mutated.jsonl"
    path.write_text(json.dumps(line) + "\n")
    before = file_state(db_path)
    result = run("import", str(path))
    assert_no_traceback(result)
    if result.exit_code:
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
        assert file_state(db_path) == before
    else:
        assert integrity(db_path) == "ok"
