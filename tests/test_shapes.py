"""The TypedDicts of the JSON outputs describe what the commands really print.

mypy checks that producers and consumers agree with the TypedDicts
(``calibrate.panel.ScorePanel``, ``calibrate.cli.ranks.PeopleRanks``,
``calibrate.advice.ForecastResult``, ...); this test checks the TypedDicts
against the outputs themselves: every recorded ``--json`` output of
``tests/golden/`` holds exactly the keys its TypedDict names, nested ones too,
with values of the types it says. A key added to an output and not to its
TypedDict (or the other way round) fails here.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest
from click.testing import CliRunner

from calibrate import advice, demo, misjudge, panel, store
from calibrate.cli import advice as cli_advice
from calibrate.cli import cli
from calibrate.cli import ranks as cli_ranks
from calibrate.stats import ranks
from calibrate.store.listing import ListedTask

GOLDEN = Path(__file__).parent / "golden"
#: Names the command-line modules import for type checking alone (numpy's side).
LATE = {**vars(ranks), **vars(advice)}

SHAPES = {
    "score-everyone": panel.ScorePanel,
    "score-person": panel.ScorePanel,
    "score-team": panel.ScorePanel,
    "score-all-history": panel.ScorePanel,
    "rank-everyone": cli_ranks.PeopleRanks,
    "rank-person": cli_ranks.PeopleRanks,
    "score-by-tag": misjudge.GroupsResult,
    "score-by-size-everyone": misjudge.GroupsResult,
    "forecast-everyone": advice.ForecastResult,
    "forecast-person": advice.ForecastResult,
    "forecast-backtest": advice.BacktestResult,
    "suggest-3h": cli_advice.Suggestion,
    "suggest-30m": cli_advice.Suggestion,
    "suggest-title": cli_advice.Suggestion,
    "list-everyone": list[ListedTask],
    "list-person": list[ListedTask],
}


def mismatches(value: Any, hint: Any, where: str = "$") -> list[str]:
    """Where ``value`` (parsed JSON) differs from the type ``hint``."""
    origin = get_origin(hint)
    if hint is Any:
        return []
    if is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not an object ({hint.__name__})"]
        fields = get_type_hints(hint, localns=LATE)
        found = [f"{where}: no key {key!r}" for key in hint.__required_keys__ - set(value)]
        found += [
            f"{where}: key {key!r} not in {hint.__name__}" for key in set(value) - set(fields)
        ]
        for key in set(value) & set(fields):
            found += mismatches(value[key], fields[key], f"{where}.{key}")
        return found
    if origin in (Union, types.UnionType):
        branches = [mismatches(value, option, where) for option in get_args(hint)]
        return [] if any(not b for b in branches) else min(branches, key=len)
    if origin is Literal:
        return [] if value in get_args(hint) else [f"{where}: {value!r} not one of {hint}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not a list"]
        (item,) = get_args(hint)
        return [m for i, v in enumerate(value) for m in mismatches(v, item, f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not an object"]
        _, item = get_args(hint)
        return [m for k, v in value.items() for m in mismatches(v, item, f"{where}.{k}")]
    kinds = {float: (int, float), int: (int,), str: (str,), bool: (bool,), type(None): ()}
    if hint in kinds:
        ok = value is None if hint is type(None) else isinstance(value, kinds[hint])
        if hint is not bool and isinstance(value, bool):
            ok = False
        return [] if ok else [f"{where}: {value!r} is not {hint.__name__}"]
    raise AssertionError(f"{where}: the checker does not know {hint!r}")


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_recorded_output_is_what_its_typeddict_says(name):
    value = json.loads((GOLDEN / f"{name}.txt").read_text(encoding="utf-8"))
    assert mismatches(value, SHAPES[name]) == []


def test_rank_teams_is_what_its_typeddict_says(tmp_path):
    path = tmp_path / "teams.db"
    conn = store.connect(path)
    demo.generate(conn, people=8, teams=2, weeks=30, seed=4)
    conn.close()
    result = CliRunner().invoke(cli, ["--db", str(path), "rank", "--teams", "--json"])
    assert result.exit_code == 0, result.output
    assert mismatches(json.loads(result.output), cli_ranks.TeamsRanks) == []


class Inner(typing.TypedDict):
    share: float | None
    flag: bool


class Outer(typing.TypedDict):
    name: str
    rows: list[Inner]
    kind: Literal["a", "b"]


def test_the_checker_finds_a_missing_key_an_extra_one_and_a_wrong_type():
    good = {"name": "x", "rows": [{"share": 1, "flag": True}, {"share": None, "flag": False}]}
    assert mismatches({**good, "kind": "a"}, Outer) == []
    assert mismatches(good, Outer) == ["$: no key 'kind'"]
    bad = {"name": "x", "rows": [{"share": "1", "flag": 1, "more": 2}], "kind": "c"}
    assert sorted(mismatches(bad, Outer)) == [
        "$.kind: 'c' not one of typing.Literal['a', 'b']",
        "$.rows[0].flag: 1 is not bool",
        "$.rows[0].share: '1' is not float",
        "$.rows[0]: key 'more' not in Inner",
    ]
