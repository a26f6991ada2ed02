"""Class 4 of issue 15: crashes on hostile files.

Every reader of JSON (JSON Lines, JSON arrays, Taskwarrior, Timewarrior, team
summaries) reads through :mod:`calibrate.exchange.formats.safejson`: arrays
nested 100,000 deep, integers of hundreds of digits, ``1e999``, ``NaN`` and
lone surrogate escapes end in one ``Error:`` line (exit 1) and the database as
it was; so does the error handler itself when the text it names holds a lone
surrogate. Each example of the issue is a test below; hypothesis then puts the
same poisons at random places of well-formed files of every format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calibrate.errors import InputError
from calibrate.exchange.formats import safejson
from tests.adversary.support_b import EXAMPLES, check_import, fresh, refused, run
from tests.reliability.faults import assert_clean_failure, assert_no_traceback, seeded_database

#: Raw JSON texts that parse (or nearly) and break what comes after.
POISONS = {
    "nested arrays": "[" * 100_000 + "]" * 100_000,
    "nested objects": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "nested 65 deep": "[" * 65 + "]" * 65,
    "integer of 500 digits": "9" * 500,
    "integer of 5,000 digits": "1" + "0" * 5_000,
    "negative integer of 400 digits": "-" + "7" * 400,
    "float beyond range": "1e999",
    "float of 400 digits": "1" + "0" * 400 + ".5",
    "NaN": "NaN",
    "Infinity": "-Infinity",
    "lone high surrogate": '"x\\ud800"',
    "lone low surrogate": '"\\udc00y"',
    "surrogate in a list": '["ok", "\\udfff"]',
}
KEY_POISONS = {"lone surrogate in a key": '{"\\ud800": 1}'}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return seeded_database(tmp_path_factory.mktemp("files") / "pristine.db", people=3, weeks=4)


@pytest.fixture(scope="module")
def summary(pristine, tmp_path_factory) -> dict:
    """A real team summary of another database, to poison."""
    folder = tmp_path_factory.mktemp("summary")
    other = seeded_database(folder / "other.db", people=2, weeks=3, seed=9)
    out = folder / "summary.json"
    result = run(other, "export", "--summary", "-o", str(out))
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def task_line(value: str) -> str:
    return '{"title": "poisoned", "estimate": "2h", "actual": "3h", "tags": ' + value + "}"


def write_format(folder: Path, fmt: str, value: str, summary: dict) -> Path:
    """A file of ``fmt`` with ``value`` (raw JSON) in one field."""
    if fmt == "jsonl":
        text = task_line('["a"]') + "\n" + task_line(value) + "\n"
        name = "poison.jsonl"
    elif fmt == "json":
        text = "[\n" + task_line('["a"]') + ",\n" + task_line(value) + "\n]\n"
        name = "poison.json"
    elif fmt == "estimate":
        text = '{"title": "big", "estimate": ' + value + "}\n"
        name = "estimate.jsonl"
    elif fmt == "taskwarrior":
        text = (
            '[{"uuid": "0a", "description": "t", "status": "completed", "estimate": "PT2H",'
            ' "annotations": [{"description": "actual: 3h"}], "project": ' + value + "}]\n"
        )
        name = "task-export.json"
    elif fmt == "timewarrior":
        text = (
            '[{"id": 1, "start": "20260105T090000Z", "end": "20260105T100000Z",'
            ' "tags": ["cal:1"], "annotation": ' + value + "}]\n"
        )
        name = "timew.json"
    else:  # a summary, the value as one week's n
        document = json.dumps(summary)
        first = document.index('"n": ')
        end = document.index(",", first)
        text = document[:first] + '"n": ' + value + document[end:]
        name = "summary.json"
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


FORMATS = ["jsonl", "json", "estimate", "taskwarrior", "timewarrior", "summary"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("poison", sorted(POISONS))
def test_each_poison_in_each_format_is_one_line(pristine, summary, tmp_path, fmt, poison):
    db = fresh(pristine, tmp_path)
    path = write_format(tmp_path, fmt, POISONS[poison], summary)
    result = check_import(db, path)
    assert result.exit_code == 1, (poison, fmt, result.output)


@pytest.mark.parametrize(
    "text, words",
    [
        ("[" * 100_000 + "]" * 100_000 + "\n", "nested more than"),
        ('{"title":"x","estimate":' + "9" * 500 + "}\n", "500 digits"),
        ('{"title":"x\\ud800","estimate":"1h"}\n', "lone surrogate"),
        ('{"title\\udc00":"x","estimate":"1h"}\n', "lone surrogate"),
        ('{"title":"x","estimate":1' + "0" * 400 + ".5}\n", "out of range"),
    ],
)
def test_the_issues_examples(pristine, tmp_path, text, words):
    """The examples the review reproduced, each once: RecursionError,
    OverflowError and a UnicodeEncodeError raised in the error handler itself."""
    db = fresh(pristine, tmp_path)
    path = tmp_path / "hostile.jsonl"
    path.write_text(text, encoding="utf-8")
    line = refused(db, path)
    assert words in line, line
    assert "\\ud800" in line or "\\udc00" in line or "surrogate" not in words


def test_an_error_naming_a_lone_surrogate_is_printed_escaped():
    from calibrate.cli import _shown

    assert _shown("a\ud800b") == "a\\ud800b"
    assert _shown("a\udcffb") == "a\\xffb"  # a byte that did not decode


def test_a_summary_whose_weeks_mix_null_and_dates_breaks_nothing(pristine, summary, tmp_path):
    """Refused, or taken: either way rank, report and score keep working."""
    db = fresh(pristine, tmp_path)
    document = json.loads(json.dumps(summary))
    seen: set[str] = set()
    for week in document["weeks"]:
        if week["person"] not in seen:
            seen.add(week["person"])
            week["week"] = None
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    check_import(db, path)
    for command in (
        ["rank", "--everyone", "--since", "all"],
        ["score", "--everyone", "--since", "all"],
        ["report", "--everyone", "--since", "all", "-o", str(tmp_path / "r.html")],
    ):
        result = run(db, *command)
        assert_no_traceback(result)
        if command[0] == "rank" and result.exit_code:  # too few tasks to rank: said so
            assert_clean_failure(result)
            assert "finished tasks" in result.stderr
        else:
            assert result.exit_code == 0, (command, result.output)


# --- generated -------------------------------------------------------------------------

poison = st.sampled_from(sorted({**POISONS, **KEY_POISONS}.values()))
#: Where in a task line the poison goes: as a value, in a list, as a nested value.
wrapped = st.one_of(
    poison,
    poison.map(lambda p: f"[{p}]"),
    poison.map(lambda p: '{"k": ' + p + "}"),
    st.integers(-(10**60), 10**60).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@EXAMPLES
@given(fmt=st.sampled_from(FORMATS), value=wrapped, skip_bad=st.booleans())
def test_poison_anywhere_is_taken_or_one_line(pristine, summary, tmp_path, fmt, value, skip_bad):
    db = fresh(pristine, tmp_path)
    path = write_format(tmp_path, fmt, value, summary)
    check_import(db, path, *(["--skip-bad"] if skip_bad else []))


@EXAMPLES
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.lists(wrapped, max_size=5).map(lambda parts: "[" + ",".join(parts) + "]"),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
            max_leaves=80,
        ).map(json.dumps),
    )
)
def test_safejson_gives_a_value_or_one_kind_of_error(text):
    """Whatever the text: a value that encodes as UTF-8 and prints, or an
    InputError, or a syntax error (JSONDecodeError): nothing else."""
    try:
        value = safejson.loads(text, "line 1")
    except (InputError, json.JSONDecodeError):
        return
    json.dumps(value, ensure_ascii=False).encode("utf-8")
    repr(value)
