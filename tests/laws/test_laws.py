"""The laws of PRODUCT.md "How tasks travel", on generated histories.

Hypothesis writes histories on two or three replicas (files copied from one
template, so that each takes its own identity): adds, edits, timer sittings,
re-estimates, dones, drops, deletions of tasks and of people, aliases,
opt-outs, exports and imports (of calibrate's JSON Lines and of a tracker's
CSV) and merges, in random orders. Then:

1. merge is a join: commutative, associative and idempotent on the canonical
   state (``replica_state``: uids, values, stamps, child records, tombstones,
   aliases, people), and once everyone has merged everyone, every replica is
   in the same state;
2. an import never undoes local work: no actual, done date, timer interval or
   re-estimate recorded here is lost to an import of an older export, and a
   tracker file imported again changes nothing (checked at every import);
3. deleted tasks stay deleted: no replica holds a task it has a tombstone for,
   and in the end no task removed anywhere is anywhere;
8. an export imported into an empty database is the same state.

``make test`` runs a small, fixed set (derandomized); ``make reliability``
(``CALIBRATE_RELIABILITY=full``) a large random one, whose figures
docs/GUARANTEES.md reports (``CALIBRATE_LAWS_FIGURES=FILE`` writes them as JSON).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibrate.exchange import exporter, importer
from calibrate.selection import Selection
from calibrate.store.state import replica_state
from tests.laws.history import OPERATIONS, World
from tests.reliability.faults import FULL, size

LAWS = settings(
    max_examples=size(6, 1000),
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: Every operation, and more of the ones that make work for the others to act on.
WEIGHTED = (*OPERATIONS, "add", "add", "add_done", "sitting", "merge", "merge")
operation = st.tuples(
    st.sampled_from(WEIGHTED),
    st.integers(0, 50),
    st.integers(0, 50),
    st.integers(0, 50),
)
histories = st.tuples(
    st.integers(2, 3), st.lists(operation, min_size=size(12, 30), max_size=size(24, 90))
)
#: What the runs did, for docs/GUARANTEES.md (written after a full run).
FIGURES: Counter[str] = Counter()


def _world(monkeypatch, folder: Path, replicas: int) -> World:
    monkeypatch.setenv("CALIBRATE_DATA_DIR", str(folder / "data"))
    return World(folder, replicas)


def _tally(world: World) -> None:
    FIGURES["histories"] += 1
    FIGURES["operations run"] += sum(v for k, v in world.ran.items() if k != "final merge")
    FIGURES["operations refused or not applicable"] += world.skipped
    FIGURES["merges"] += world.ran["merge"] + world.ran["final merge"]
    FIGURES["imports"] += world.ran["import_export"] + 2 * world.ran["import_tracker"]
    FIGURES["states compared"] += world.states_compared
    figures = os.environ.get("CALIBRATE_LAWS_FIGURES")
    if figures:
        Path(figures).write_text(json.dumps(dict(FIGURES), indent=1, sort_keys=True) + "\n")


@LAWS
@given(histories)
def test_merge_is_a_join_and_every_replica_converges(monkeypatch, history):
    replicas, operations = history
    with tempfile.TemporaryDirectory(prefix="laws-") as tmp:
        world = _world(monkeypatch, Path(tmp), replicas)
        try:
            for step in operations:
                world.run(step)
                _no_task_under_a_tombstone(world)
            a, b = world.snapshot(0, "a"), world.snapshot(1, "b")
            c = world.snapshot(replicas - 1, "c")
            state_a = replica_state(world.conns[0])
            # idempotent, and a merge into an empty file reproduces the state
            assert world.joined(a, name="only-a") == state_a
            assert world.joined(a, a, name="a-twice") == state_a
            # commutative
            ab, ba = world.joined(a, b, name="ab"), world.joined(b, a, name="ba")
            assert ab == ba
            # associative: (a u b) u c == a u (b u c)
            left = world.folder / "ab.db"
            right = world.folder / "bc.db"
            world.joined(b, c, name="bc")
            assert world.joined(left, c, name="ab-c") == world.joined(a, right, name="a-bc")
            world.states_compared += 5
            # converge: everyone merges everyone, then all states are equal
            states = world.converge()
            assert all(state == states[0] for state in states[1:])
            world.states_compared += len(states) - 1
            # deletions stay deleted
            assert not world.removed & set(states[0]["tasks"])
            _tally(world)
        finally:
            world.close()


@LAWS
@given(histories)
def test_an_export_imported_into_an_empty_database_is_the_same_history(monkeypatch, history):
    replicas, operations = history
    with tempfile.TemporaryDirectory(prefix="laws-") as tmp:
        world = _world(monkeypatch, Path(tmp), replicas)
        try:
            for step in operations:
                world.run(step)
            for r, conn in enumerate(world.conns):
                path = world.folder / f"round-{r}.jsonl"
                exporter.export_to_file(conn, Selection(everyone=True), "jsonl", path)
                empty = importer.store.connect(world.folder / f"empty-{r}.db")
                try:
                    if path.stat().st_size:  # an empty history exports an empty file
                        importer.import_file(empty, importer.ImportOptions(path=path, person="x"))
                    assert replica_state(empty) == replica_state(conn)
                finally:
                    empty.close()
                world.states_compared += 1
            _tally(world)
        finally:
            world.close()


def _no_task_under_a_tombstone(world: World) -> None:
    for conn in world.conns:
        assert not conn.execute(
            "SELECT 1 FROM tasks JOIN tombstones USING (uid) WHERE restored_at IS NULL LIMIT 1"
        ).fetchone(), "a deleted task came back"


def test_the_laws_run_every_kind_of_operation(monkeypatch, tmp_path):
    """A fixed history that runs every operation at least once, so that a
    generator drifting away from one of them is noticed."""
    world = _world(monkeypatch, tmp_path, 3)
    try:
        for name in OPERATIONS:  # on one replica, then merged to another
            world.run(("add", 0, 1, 1))
            world.run((name, 0, 0, 2))
            world.run(("merge", 1, 0, 0))
        missing = set(OPERATIONS) - set(world.ran)
        assert not missing, missing
        states = world.converge()
        assert all(state == states[0] for state in states[1:])
    finally:
        world.close()
