"""Percentile ranks (METRICS.md section 5) and the reference population."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibrate import reference, rules
from calibrate.stats import metrics, ranks
from tests.support.data import SHARED_DATA, requires_shared_data

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("cesaw/CESAW_task_fact.csv.xz", "sip/Sip-task-info.csv")

# --- mid-rank percentiles --------------------------------------------------------------


def test_midrank_percentile_by_hand():
    population = [10, 20, 20, 30]
    # below + half the equal ones, over N = 4
    assert rules.midrank_percentiles([10, 20, 30], population).tolist() == [12.5, 50.0, 87.5]
    assert rules.midrank_percentiles([5, 25, 40], population).tolist() == [0.0, 75.0, 100.0]


def test_best_and_worst_of_n():
    scores = [61.0, 47.5, 70.2, 52.0, 58.3]
    percentile = rules.midrank_percentiles(scores, scores)
    best, worst = int(np.argmax(scores)), int(np.argmin(scores))
    assert percentile[best] == pytest.approx(100 * 4.5 / 5)  # top 10%
    assert percentile[worst] == pytest.approx(100 * 0.5 / 5)
    assert rules.top_percent(percentile[best]) == pytest.approx(10.0)


def test_mid_ranks_share_ties():
    assert ranks.mid_ranks([30, 20, 20, 10]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert ranks.mid_ranks([5, 5, 5]).tolist() == [2.0, 2.0, 2.0]


def test_scores_equal_but_for_rounding_tie():
    a = 100 * 2 ** -(0.1 + 0.2)
    b = 100 * 2**-0.3  # 0.1 + 0.2 != 0.3 in floating point
    assert ranks.mid_ranks([a, b]).tolist() == [1.5, 1.5]


# --- people within teams -----------------------------------------------------------------


def person(name, team, n, malr, *, spread=0.0, due=0, kept=0, opt_out=False, bias=0.0):
    """Sufficient statistics of n tasks whose |clip(r)| average ``malr``."""
    values = np.full(n, malr)
    values[: n // 2] += spread
    values[n // 2 : 2 * (n // 2)] -= spread
    return {
        "person": name,
        "team": team,
        "n": n,
        "sum_abs": float(values.sum()),
        "sum_sq": float((values**2).sum()),
        "due": due,
        "kept": kept,
        "bias": bias,
        "opt_out": opt_out,
    }


def frames(rows):
    people = pd.DataFrame(rows)
    teams = (
        people[people["team"].notna()]
        .groupby("team")[["n", "sum_abs", "sum_sq", "due", "kept"]]
        .sum()
    )
    everyone = people[["n", "sum_abs", "sum_sq", "due", "kept"]].sum().to_dict()
    return people, teams, everyone


def shrunk(n, m, team_m):
    return 100 * 2 ** -((n * m + 20 * team_m) / (n + 20))


def test_people_ranked_within_team_by_hand():
    rows = [
        person("ana", "core", 40, 0.5),
        person("bo", "core", 40, 1.0),
        person("cy", "core", 40, 1.0),  # tied with bo
        person("di", "core", 40, 1.5),
        person("ed", "core", 15, 0.2),  # provisional: best raw score, never ranked
        person("fa", "core", 1, 0.0),  # one task: never ranked, never shown
    ]
    people, teams, everyone = frames(rows)
    team_m = (40 * 0.5 + 80 * 1.0 + 40 * 1.5 + 15 * 0.2) / 176
    (group,) = ranks.rank_people(people, teams, everyone)
    assert group["team"] == "core"
    assert group["n"] == 4
    assert group["too_few"] == 1
    by_name = {row["person"]: row for row in group["ranked"]}
    assert [row["person"] for row in group["ranked"]] == ["ana", "bo", "cy", "di"]
    assert [by_name[p]["rank"] for p in ("ana", "bo", "cy", "di")] == [1, 2.5, 2.5, 4]
    assert [by_name[p]["percentile"] for p in ("ana", "bo", "cy", "di")] == [87.5, 50, 50, 12.5]
    assert by_name["ana"]["top_percent"] == 12.5
    assert all(row["of"] == 4 for row in group["ranked"])
    assert by_name["ana"]["score"] == pytest.approx(shrunk(40, 0.5, team_m))
    assert by_name["di"]["score_raw"] == pytest.approx(100 * 2**-1.5)
    (provisional,) = group["provisional"]
    assert provisional["person"] == "ed"
    assert provisional["status"] == "provisional"
    assert provisional["rank"] is None and provisional["percentile"] is None
    assert provisional["reference"] is None
    assert provisional["score"] == pytest.approx(shrunk(15, 0.2, team_m))
    shown = {row["person"] for row in group["ranked"] + group["provisional"]}
    assert "fa" not in shown


def test_interval_from_sufficient_statistics():
    rows = [person("ana", "core", 50, 0.8, spread=0.3), person("bo", "core", 50, 0.8)]
    people, teams, everyone = frames(rows)
    (group,) = ranks.rank_people(people, teams, everyone)
    ana = next(row for row in group["ranked"] if row["person"] == "ana")
    expected = metrics.score_from_stats(
        50, people["sum_abs"][0], people["sum_sq"][0], prior_malr=0.8
    )
    assert (ana["score"], ana["score_low"], ana["score_high"]) == pytest.approx(expected)
    assert ana["score_low"] < ana["score"] < ana["score_high"]


def test_opted_out_hidden_from_others_shown_to_themselves():
    rows = [
        person("ana", "core", 40, 0.5),
        person("bo", "core", 40, 1.0, opt_out=True),
        person("cy", "core", 40, 1.5),
    ]
    people, teams, everyone = frames(rows)
    (seen_by_ana,) = ranks.rank_people(people, teams, everyone, viewer="ana")
    assert [row["person"] for row in seen_by_ana["ranked"]] == ["ana", "cy"]
    assert seen_by_ana["n"] == 2
    assert [row["rank"] for row in seen_by_ana["ranked"]] == [1, 2]
    (seen_by_bo,) = ranks.rank_people(people, teams, everyone, viewer="bo")
    mine = next(row for row in seen_by_bo["ranked"] if row["person"] == "bo")
    assert mine["you"] and mine["opted_out"]
    assert (mine["rank"], mine["of"]) == (2, 3)  # placed among the others
    others = [row for row in seen_by_bo["ranked"] if row["person"] != "bo"]
    assert [(row["rank"], row["of"]) for row in others] == [(1, 2), (2, 2)]


def test_people_without_a_team_rank_among_everyone():
    rows = [
        person("ana", "core", 40, 0.5),
        person("bo", None, 40, 1.0),
        person("cy", "web", 40, 1.5),
    ]
    people, teams, everyone = frames(rows)
    groups = ranks.rank_people(people, teams, everyone)
    assert [group["team"] for group in groups] == ["core", "web", None]
    alone = groups[-1]
    assert alone["n"] == 3
    (bo,) = alone["ranked"]
    assert (bo["rank"], bo["of"], bo["percentile"]) == (2, 3, 50)


def test_keep_rate_shrunk_toward_team():
    rows = [
        person("ana", "core", 40, 0.5, due=10, kept=5),
        person("bo", "core", 40, 0.5, due=30, kept=30),
    ]
    people, teams, everyone = frames(rows)
    (group,) = ranks.rank_people(people, teams, everyone)
    ana = next(row for row in group["ranked"] if row["person"] == "ana")
    team_keep = 35 / 40
    assert ana["keep_rate"] == pytest.approx((5 + 10 * team_keep) / (10 + 10))


def test_reference_position_only_from_30_tasks():
    rows = [person("ana", "core", 40, 0.5), person("bo", "core", 20, 0.5)]
    people, teams, everyone = frames(rows)
    ana_raw = 100 * 2**-0.5
    (group,) = ranks.rank_people(people, teams, everyone, reference_scores=[60.0, ana_raw, 80.0])
    (ana,) = group["ranked"]  # one below, one equal, of 3
    assert ana["reference"] == {"percentile": 50.0, "top_percent": 50.0, "n": 3}
    assert group["provisional"][0]["reference"] is None


# --- teams -------------------------------------------------------------------------------


def test_teams_ranked_by_pooled_score_with_ties():
    teams = pd.DataFrame(
        {
            "n": [100, 50, 50, 20],
            "sum_abs": [50.0, 50.0, 50.0, 2.0],
            "sum_sq": [30.0, 60.0, 60.0, 1.0],
            "due": [0, 4, 0, 0],
            "kept": [0, 3, 0, 0],
        },
        index=["core", "web", "ops", "tiny"],
    )
    result = ranks.rank_teams(teams, {"core": 3})
    assert [row["team"] for row in result["ranked"]] == ["core", "ops", "web"]
    assert [row["rank"] for row in result["ranked"]] == [1, 2.5, 2.5]
    assert [row["of"] for row in result["ranked"]] == [3, 3, 3]
    assert result["ranked"][0]["score"] == pytest.approx(100 * 2**-0.5)
    assert result["ranked"][0]["people"] == 3
    assert [row["team"] for row in result["unranked"]] == ["tiny"]
    assert result["unranked"][0]["rank"] is None


# --- pseudonyms ------------------------------------------------------------------------------


def test_pseudonyms_stable_distinct_and_keyed():
    salt = b"secret"
    first = ranks.pseudonyms(["Ana Ruiz", "Bo Li"], salt)
    assert first == ranks.pseudonyms(["Bo Li", "Ana Ruiz"], salt)
    assert len(set(first.values())) == 2
    assert all(value.startswith("Person ") for value in first.values())
    assert "Ana" not in "".join(first.values())
    assert ranks.pseudonyms(["Ana Ruiz"], b"other")["Ana Ruiz"] != first["Ana Ruiz"]


# --- the reference population -------------------------------------------------------------------


def test_reference_table_matches_metrics_md():
    table = json.loads(reference.read_text())
    assert table["score_version"] == rules.SCORE_VERSION
    assert table["min_tasks"] == rules.RANKED_N
    cesaw = next(d for d in table["datasets"] if d["name"] == "CESAW")
    assert cesaw["people"] == 200
    figures = np.percentile(cesaw["scores"], [5, 25, 50, 75, 90, 95])
    assert np.round(figures, 1).tolist() == [32.5, 40.6, 47.1, 57.0, 64.1, 67.0]
    assert round(max(cesaw["scores"]), 1) == 77.8
    assert "Derek M. Jones" in table["attribution"]
    loaded = reference.load()
    assert loaded.n == table["people"] == sum(d["people"] for d in table["datasets"])
    assert list(loaded.scores) == sorted(loaded.scores)


def test_reference_percentile_of_best_and_worst():
    table = reference.load()
    best, worst = table.scores[-1], table.scores[0]
    assert table.percentile(best) == pytest.approx(100 * (table.n - 0.5) / table.n)
    assert table.position(best, 30)["top_percent"] == pytest.approx(100 * 0.5 / table.n)
    assert table.percentile(worst) == pytest.approx(100 * 0.5 / table.n)
    assert table.percentile(100.0) == 100.0
    assert table.percentile(0.0) == 0.0
    assert table.position(best, 29) is None  # provisional: no place among real developers
    assert reference.describe(table.position(best, 40)).endswith(f"of {table.n} real developers")


def _package_files() -> list[tuple[Path, str]]:
    """The files an install of the package holds: its modules, and the
    package data pyproject.toml declares (nothing else of the source tree)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    root = REPO / "src"
    files = {p for p in (root / "calibrate").rglob("*.py") if "__pycache__" not in p.parts}
    for package, patterns in config["tool"]["setuptools"]["package-data"].items():
        folder = root.joinpath(*package.split("."))
        files |= {p for pattern in patterns for p in folder.glob(pattern) if p.is_file()}
    return [(path, path.relative_to(root).as_posix()) for path in sorted(files)]


def test_reference_loads_from_the_installed_package(tmp_path):
    """The table is declared as package data and read with importlib.resources:
    it loads from a zipped install, where no file path into the source tree works."""
    archive = tmp_path / "installed.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path, name in _package_files():
            bundle.write(path, name)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import calibrate.reference as r; "
        "assert r.__file__.startswith(sys.argv[1]), r.__file__; "
        "print(r.load().n)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(archive)], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == reference.load().n


@pytest.mark.realdata
@requires_shared_data(*DATASETS)
def test_rebuilding_the_reference_reproduces_the_shipped_file(tmp_path):
    rebuilt = tmp_path / "reference.json"
    script = REPO / "scripts" / "build_reference.py"
    result = subprocess.run(
        [sys.executable, str(script), "--data", str(SHARED_DATA), "--output", str(rebuilt)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    shipped = REPO / "src" / "calibrate" / "reference" / "reference.json"
    assert rebuilt.read_bytes() == shipped.read_bytes()
