"""Percentile ranks (METRICS.md section 5) and the reference population."""

from __future__ import annotations

import itertools
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
from calibrate.stats import drift, metrics, ranks
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


def shrunk(n, m, rest_n, rest_sum):
    """Section 2's shrunk score toward the team without the person (n0 = 10)."""
    return 100 * 2 ** -((n * m + 10 * rest_sum / rest_n) / (n + 10))


def test_people_ranked_within_team_by_raw_score_by_hand():
    rows = [
        person("ana", "core", 40, 0.5),
        person("bo", "core", 40, 1.0),
        person("cy", "core", 40, 1.0),  # tied with bo
        person("di", "core", 40, 1.5),
        person("ed", "core", 15, 0.2),  # provisional: best raw score, never ranked
        person("fa", "core", 1, 0.0),  # one task: never ranked, never shown
    ]
    people, teams, everyone = frames(rows)
    total_n, total_sum = 176, 40 * 0.5 + 80 * 1.0 + 40 * 1.5 + 15 * 0.2
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
    # the shrunk score leans on the team without the person
    assert by_name["ana"]["score"] == pytest.approx(shrunk(40, 0.5, total_n - 40, total_sum - 20.0))
    assert by_name["di"]["score_raw"] == pytest.approx(100 * 2**-1.5)
    (provisional,) = group["provisional"]
    assert provisional["person"] == "ed"
    assert provisional["status"] == "provisional"
    assert provisional["rank"] is None and provisional["percentile"] is None
    assert provisional["reference"] is None
    assert provisional["score"] == pytest.approx(shrunk(15, 0.2, total_n - 15, total_sum - 3.0))
    shown = {row["person"] for row in group["ranked"] + group["provisional"]}
    assert "fa" not in shown


def test_a_strong_newcomer_ranks_above_a_weaker_veteran():
    """Ordered by raw score: shrinkage would pull the newcomer toward the team."""
    rows = [
        person("new", "core", 30, 0.4, spread=0.4),
        person("old", "core", 400, 0.5, spread=0.4),
        person("mid", "core", 300, 1.5, spread=0.4),
    ]
    people, teams, everyone = frames(rows)
    (group,) = ranks.rank_people(people, teams, everyone)
    order = [row["person"] for row in group["ranked"]]
    assert order == ["new", "old", "mid"]
    new, old, mid = group["ranked"]
    assert new["score"] < old["score"]  # shrunk, the veteran would come first
    # neighbours whose raw intervals overlap are marked: not clearly apart
    assert new["overlaps_next"] is True
    assert old["overlaps_next"] is (old["score_raw_low"] <= mid["score_raw_high"])
    assert mid["overlaps_next"] is None


def test_interval_from_sufficient_statistics():
    rows = [person("ana", "core", 50, 0.8, spread=0.3), person("bo", "core", 50, 0.8)]
    people, teams, everyone = frames(rows)
    (group,) = ranks.rank_people(people, teams, everyone)
    ana = next(row for row in group["ranked"] if row["person"] == "ana")
    drift_var = drift.person_drift(50)
    expected = metrics.score_from_stats(
        50, people["sum_abs"][0], people["sum_sq"][0], prior_malr=0.8, drift=drift_var
    )
    assert (ana["score"], ana["score_low"], ana["score_high"]) == pytest.approx(expected)
    raw = metrics.score_from_stats(50, people["sum_abs"][0], people["sum_sq"][0], drift=drift_var)
    assert (ana["score_raw"], ana["score_raw_low"], ana["score_raw_high"]) == pytest.approx(raw)
    assert ana["score_low"] < ana["score"] < ana["score_high"]


def test_a_small_team_leaves_the_prior_to_the_reference():
    """Under 30 counted tasks in the rest of the team, the prior is the
    reference population's median m, size-matched."""
    rows = [person("ana", "core", 40, 0.5), person("bo", "core", 20, 1.0)]
    people, teams, everyone = frames(rows)
    for b in range(6):
        people[f"n_b{b}"] = [40 if b == 0 else 0, 20 if b == 0 else 0]
    people["unbucketed"] = 0
    table = small_reference()
    (group,) = ranks.rank_people(people, teams, everyone, reference=table)
    (ana,) = group["ranked"]
    prior = table.median_m([40, 0, 0, 0, 0, 0])
    assert ana["score"] == pytest.approx(100 * 2 ** -((40 * 0.5 + 10 * prior) / 50))


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
    # bo's prior: everyone without bo
    assert bo["score"] == pytest.approx(shrunk(40, 1.0, 80, 40 * 0.5 + 40 * 1.5))


def test_keep_rate_is_a_beta_posterior_leaning_on_the_rest_of_the_team():
    rows = [
        person("ana", "core", 40, 0.5, due=10, kept=5),
        person("bo", "core", 40, 0.5, due=30, kept=27),
        person("cy", "web", 40, 0.5, due=5, kept=5),
    ]
    people, teams, everyone = frames(rows)
    groups = ranks.rank_people(people, teams, everyone)
    ana = next(row for g in groups for row in g["ranked"] if row["person"] == "ana")
    assert ana["keep_rate"] == pytest.approx((5 + 4 * 0.9) / (10 + 4))  # bo alone: 27 of 30
    cy = next(row for g in groups for row in g["ranked"] if row["person"] == "cy")
    assert cy["keep_rate"] == pytest.approx(5.5 / 6)  # nobody else in web: Jeffreys


def small_reference():
    """Three developers with 60 tasks each, two buckets held back (under 5 tasks)."""
    table = pd.DataFrame(
        {
            "n": [60, 60, 60],
            "sum_abs": [30.0, 45.0, 60.0],
            "sum_sq": [20.0, 40.0, 70.0],
            **{f"n{b}": [60 if b == 0 else 0] * 3 for b in range(6)},
            **{f"sum{b}": [30.0, 45.0, 60.0] if b == 0 else [np.nan] * 3 for b in range(6)},
            **{f"sq{b}": [20.0, 40.0, 70.0] if b == 0 else [np.nan] * 3 for b in range(6)},
        }
    )
    return reference.from_developers(table, ["A", "A", "B"])


def test_reference_place_is_a_range_from_the_interval():
    rows = [person("ana", "core", 40, 0.5), person("bo", "core", 20, 0.5)]
    people, teams, everyone = frames(rows)
    for b in range(6):
        people[f"n_b{b}"] = [40, 20] if b == 0 else [0, 0]
    people["unbucketed"] = 0
    table = small_reference()
    (group,) = ranks.rank_people(people, teams, everyone, reference=table)
    (ana,) = group["ranked"]
    place = ana["reference"]
    scores = [100 * 2 ** -(m / 60) for m in (30.0, 45.0, 60.0)]  # the developers' scores
    assert place["percentile"] == rules.midrank_percentiles([ana["score"]], scores)[0]
    assert place["top_worst"] == 100 - rules.midrank_percentiles([ana["score_low"]], scores)[0]
    assert place["top_best"] == 100 - rules.midrank_percentiles([ana["score_high"]], scores)[0]
    assert place["claim"] == rules.claim_for(place["top_worst"])
    assert place["n"] == 3 and place["source"] == "A 2, B 1"
    assert group["provisional"][0]["reference"] is None  # under 30 tasks: no place


def test_claims_only_when_the_whole_range_is_inside():
    assert rules.claim_for(4.9) == 5
    assert rules.claim_for(5.0) == 5
    assert rules.claim_for(24.0) == 25
    assert rules.claim_for(50.0) == 50
    assert rules.claim_for(50.1) is None
    assert rules.claim_for(None) is None


def test_size_matching_reweights_each_developer_to_your_mix():
    table = pd.DataFrame(
        {
            "n": [40],
            "sum_abs": [20.0],
            "sum_sq": [15.0],
            "n0": [20],
            "sum0": [4.0],
            "sq0": [2.0],
            "n1": [16],
            "sum1": [14.0],
            "sq1": [11.0],
            "n2": [4],
            "sum2": [np.nan],  # held back: 4 tasks
            "sq2": [np.nan],
            **{f"n{b}": [0] for b in (3, 4, 5)},
            **{f"sum{b}": [np.nan] for b in (3, 4, 5)},
            **{f"sq{b}": [np.nan] for b in (3, 4, 5)},
        }
    )
    one = reference.from_developers(table, ["A"])
    overall = 0.5
    m0 = (4.0 + 10 * overall) / (20 + 10)  # shrunk toward the overall m, weight n_b/(n_b+10)
    m1 = (14.0 + 10 * overall) / (16 + 10)
    assert one.bucket_m()[0].tolist() == pytest.approx([m0, m1, overall, overall, overall, overall])
    assert one.matched_m([1, 1, 0, 0, 0, 0])[0] == pytest.approx((m0 + m1) / 2)
    assert one.matched_m([0, 0, 3, 0, 0, 1])[0] == pytest.approx(overall)
    assert one.matched_m(None)[0] == pytest.approx(overall)


# --- teams -------------------------------------------------------------------------------


def test_teams_ranked_by_raw_pooled_score_with_ties():
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
    everyone = teams.sum().to_dict()
    pairs = pd.DataFrame(
        {"n": [60, 40, 50, 50, 20]},
        index=pd.MultiIndex.from_tuples(
            [("a", "core"), ("b", "core"), ("c", "web"), ("d", "ops"), ("e", "tiny")]
        ),
    )
    result = ranks.rank_teams(teams, {"core": 3}, everyone_stats=everyone, pairs=pairs)
    assert [row["team"] for row in result["ranked"]] == ["core", "ops", "web"]
    assert [row["rank"] for row in result["ranked"]] == [1, 2.5, 2.5]
    assert [row["of"] for row in result["ranked"]] == [3, 3, 3]
    core = result["ranked"][0]
    assert core["score_raw"] == pytest.approx(100 * 2**-0.5)
    team_var = drift.team_drift([60, 40])
    assert team_var == pytest.approx(
        rules.DRIFT_TEAM_TAU2 * rules.DRIFT_TEAM_L / (rules.DRIFT_TEAM_L + 100)
        + rules.DRIFT_PERSON_TAU2 * (0.36 * 252 / (252 + 60) + 0.16 * 252 / (252 + 40))
    )
    assert (core["score_raw"], core["score_raw_low"], core["score_raw_high"]) == pytest.approx(
        metrics.score_from_stats(100, 50.0, 30.0, drift=team_var)
    )
    # the shrunk score leans on everyone without the team, as 'score --team' does
    assert core["score"] == pytest.approx(100 * 2 ** -((100 * 0.5 + 10 * 102 / 120) / 110))
    assert core["people"] == 3
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
    scores = [100 * 2 ** -(row[1] / row[0]) for row in cesaw["developers"]]
    figures = np.percentile(scores, [5, 25, 50, 75, 90, 95])
    assert np.round(figures, 1).tolist() == [32.5, 40.6, 47.1, 57.0, 64.1, 67.0]
    assert round(max(scores), 1) == 77.8
    assert "Derek M. Jones" in table["attribution"]
    loaded = reference.load()
    assert loaded.n == table["people"] == sum(d["people"] for d in table["datasets"])
    assert list(loaded.scores) == sorted(loaded.scores)
    # among all 214, "top 5%" starts at 68.75 (METRICS.md section 5)
    assert 100 * 2 ** -loaded.threshold_m(5) == pytest.approx(68.75, abs=0.01)
    # no shipped figure, and no difference of shipped figures, describes fewer
    # than 5 tasks: every shipped bucket has 5+, and the held-back ones (the
    # overall sums less the shipped buckets') total 0 or 5+
    for dataset in table["datasets"]:
        for n, _, _, buckets in dataset["developers"]:
            assert n >= rules.RANKED_N
            shipped = [b[0] for b in buckets if b is not None]
            assert all(count >= rules.REFERENCE_BUCKET_MIN for count in shipped)
            assert n - sum(shipped) == 0 or n - sum(shipped) >= rules.REFERENCE_BUCKET_MIN
            # nor any sub-sum: a subset of shipped buckets against the overall
            for k in range(1, len(shipped) + 1):
                for subset in itertools.combinations(shipped, k):
                    rest = n - sum(subset)
                    assert rest == 0 or rest >= rules.REFERENCE_BUCKET_MIN
    assert table["early_median"] == pytest.approx(0.52, abs=0.01)
    # section 7's reference spread: 99 ascending quantiles of r per size bucket
    spread = table["advice_spread"]["buckets"]
    assert list(spread) == list(rules.SIZE_LABELS)
    for label, row in spread.items():
        assert len(row["quantiles"]) == len(rules.SPREAD_LEVELS) == 99
        assert row["quantiles"] == sorted(row["quantiles"])
        assert tuple(row["quantiles"]) == rules.reference_spread(rules.SIZE_LABELS.index(label))
        assert row["developers"] >= 40
    assert spread["<=1h"]["developers"] == 230
    # real developers' first tasks miss by more than SiP's pooled P10/P90 (0.36/2.0)
    p10, p50, p90 = (2 ** spread["<=1h"]["quantiles"][k] for k in (9, 49, 89))
    assert (round(p10, 2), round(p50, 2), round(p90, 2)) == (0.23, 1.0, 3.56)


def test_held_back_buckets_never_leave_one_task_derivable():
    counts = np.array(
        [
            [20, 10, 3, 0, 0, 0],  # 3 held: the next smallest (10) joins them -> 13
            [20, 10, 3, 4, 0, 0],  # 7 held already
            [30, 0, 0, 0, 0, 0],  # nothing held
            [25, 1, 1, 1, 1, 6],  # 4 held: the 6 joins
            [26, 2, 2, 0, 0, 0],  # 4 held: 26 is the only one left, all held
        ]
    )
    held = reference.held_back(counts)
    assert held.tolist() == [
        [False, True, True, False, False, False],
        [False, False, True, True, False, False],
        [False] * 6,
        [False, True, True, True, True, True],
        [True, True, True, False, False, False],
    ]
    for row, mask in zip(counts, held, strict=True):
        assert row[mask].sum() == 0 or row[mask].sum() >= rules.REFERENCE_BUCKET_MIN


def test_reference_percentile_of_best_and_worst():
    table = reference.load()
    best, worst = table.scores[-1], table.scores[0]
    assert table.percentile(best) == pytest.approx(100 * (table.n - 0.5) / table.n)
    assert table.position(best, 30)["top_percent"] == pytest.approx(100 * 0.5 / table.n)
    assert table.percentile(worst) == pytest.approx(100 * 0.5 / table.n)
    assert table.percentile(100.0) == 100.0
    assert table.percentile(0.0) == 0.0
    assert table.position(best, 29) is None  # provisional: no place among real developers
    top = table.position(100.0, 40)
    assert top["top_best"] == 0.0 and top["claim"] == 5
    words = reference.describe(top)
    assert "above every one of them" in words and "0%" not in words
    assert words.startswith(f"in the top 5% of {table.n} real developers")


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
