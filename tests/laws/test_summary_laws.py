"""Laws 4, 5 and 6 at a team lead, on generated histories: summaries add up
the same way whatever order they are imported in, importing one again
changes nothing, raw tasks always win over a summary for the same person, and
every command counts them alike.

Hypothesis writes histories on two or three replicas (as ``test_laws.py``),
each replica exporting team summaries along the way (several exports of one
replica: re-exports). The histories use the operations under which a replica's
people only grow (no deletions, renames or aliases between two of its exports):
a fork (two histories under one replica id) is told apart from one replica's
later export by its people and weeks, a judgement that a deletion between two
exports can fool (docs/GUARANTEES.md says so).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibrate import store, teams
from calibrate.exchange import summary_file
from calibrate.exchange.merge import merge_database
from calibrate.selection import Selection
from calibrate.store.people import alias_map
from tests.laws.history import OPERATIONS, World
from tests.reliability.faults import FULL, size

LAWS = settings(
    max_examples=size(5, 400),
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: What the runs did (printed by a full run: ``-s``).
FIGURES: Counter[str] = Counter()
GROWING = tuple(op for op in OPERATIONS if op not in ("rm", "rm_person", "edit", "alias"))
WEIGHTED = (*GROWING, "add_done", "add_done", "add_done", "merge", "summary", "summary")
operation = st.tuples(
    st.sampled_from(WEIGHTED), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)
)
histories = st.tuples(
    st.integers(2, 3),
    st.lists(operation, min_size=size(10, 30), max_size=size(20, 80)),
    st.randoms(use_true_random=False),
)


def _standing(conn) -> tuple:
    """What every command counts: the sums per person, per team and of everyone."""
    inputs = teams.rank_inputs(conn, Selection(everyone=True))
    people = inputs.people.drop(columns=["bias"]).sort_values("person").reset_index(drop=True)
    return (
        people.to_dict("list"),
        inputs.teams.sort_index().to_dict("index"),
        {key: float(value) for key, value in inputs.everyone.items()},
        inputs.people.set_index("person")["bias"].dropna().round(9).to_dict(),
    )


def _lead(folder: Path, name: str, files: list[Path], merged: Path | None = None):
    conn = store.connect(folder / f"{name}.db")
    if merged is not None:
        merge_database(conn, merged)
    for path in files:
        summary_file.import_summary(conn, path)
    return conn


@LAWS
@given(histories)
def test_summaries_at_a_lead_add_up_alike_in_any_order(monkeypatch, history):
    replicas, operations, random = history
    with tempfile.TemporaryDirectory(prefix="summary-laws-") as tmp:
        folder = Path(tmp)
        monkeypatch.setenv("CALIBRATE_DATA_DIR", str(folder / "data"))
        world = World(folder, replicas)
        files: list[Path] = []
        leads = []
        try:
            for name, a, b, c in [*operations, *[("summary", r, 0, 0) for r in range(replicas)]]:
                if name != "summary":
                    world.run((name, a, b, c))
                    continue
                conn = world.conns[a % replicas]
                built = summary_file.build_summary(conn, Selection(everyone=True))
                path = folder / f"summary-{len(files)}.json"
                summary_file.write_summary_file(path, built)
                files.append(path)
            shuffled = list(files)
            random.shuffle(shuffled)
            orders = {"in order": files, "reversed": files[::-1], "shuffled": shuffled}
            standings = {}
            for label, order in orders.items():
                leads.append(_lead(folder, label.replace(" ", "-"), order))
                standings[label] = _standing(leads[-1])
            # any order: the same standing
            assert standings["reversed"] == standings["in order"] == standings["shuffled"]
            # idempotent: every file imported again changes nothing
            for path in files:
                summary_file.import_summary(leads[0], path)
            assert _standing(leads[0]) == standings["in order"]
            # raw tasks win: replica 0 merged at the lead is counted from its tasks alone
            leads.append(_lead(folder, "merged", shuffled, merged=world.paths[0]))
            counted = (
                leads[-1]
                .execute(
                    "SELECT person, count(*) FROM tasks WHERE status != 'dropped' AND actual_h > 0 "
                    "GROUP BY person"
                )
                .fetchall()
            )
            people = teams.rank_inputs(leads[-1], Selection(everyone=True)).people
            n_of = dict(zip(people["person"], people["n"], strict=True))
            mapped = alias_map(world.conns[0])
            mine: dict[str, int] = {}
            for person, n in counted:
                mine[mapped.get(person, person)] = mine.get(mapped.get(person, person), 0) + n
            for person, n in mine.items():
                assert n_of.get(person) == n, person
            FIGURES["histories"] += 1
            FIGURES["summaries imported"] += len(files) * (len(orders) + 2)
            FIGURES["forks told"] += sum(
                conn.execute(
                    "SELECT count(DISTINCT replica) - count(DISTINCT database_id) FROM summaries"
                ).fetchone()[0]
                for conn in leads[:1]
            )
        finally:
            for conn in leads:
                conn.close()
            world.close()
