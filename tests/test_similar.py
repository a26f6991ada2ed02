"""Similar past tasks with receipts (issue 16, part 1).

The full-text index of the finished tasks' words (SQLite FTS5, bm25): its
ranking against a known answer (the research's fixture, computed by hand
from FTS5's bm25), the receipts of ``suggest`` and the hint of ``add``, the
index kept by the code that writes tasks (no triggers), and the fallback
where the sqlite3 build has no FTS5 (and the rebuild once it is back)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from calibrate import receipts, rules, store
from calibrate.stats import hints
from calibrate.stats.pools import Past, Pools
from calibrate.stats.similar import with_neighbours
from calibrate.store import similar
from calibrate.store.tasks import NewTask, add_task

FIXTURE = Path(__file__).parent / "fixtures" / "similar_fixture.json"
NOW = datetime.now(UTC)

pytestmark = pytest.mark.skipif(not similar.available(), reason="this sqlite3 has no FTS5")


def log(conn, title, estimate=2.0, actual=3.0, *, person="alice", team=None, tags=(), project=None):
    task = NewTask(
        title=title, estimate_h=estimate, person=person, team=team, tags=list(tags), project=project
    )
    return add_task(conn, task, actual_h=actual, at=NOW - timedelta(days=1))


def indexed(conn) -> dict[int, str]:
    return dict(conn.execute(f"SELECT rowid, body FROM {similar.TABLE}").fetchall())


def counted_bodies(conn) -> dict[int, str]:
    rows = conn.execute(
        f"SELECT id, title, tags, project, person, team FROM tasks WHERE {rules.counted_sql()}"
    ).fetchall()
    return {
        row[0]: body for row, (_, body, _, _) in zip(rows, similar._rows_text(rows), strict=True)
    }


@pytest.fixture
def available(monkeypatch):
    """Switch FTS5 off and on for this process (as a build without it would be)."""

    def switch(on: bool) -> None:
        monkeypatch.setattr(similar, "_AVAILABLE", [on])

    return switch


# --- the ranking: a known answer --------------------------------------------------------------


def test_fts5_ranking_on_the_known_answer_fixture(conn):
    fixture = json.loads(FIXTURE.read_text())
    with store.transaction(conn):
        for task in fixture["tasks"]:
            conn.execute(
                "INSERT INTO tasks (id, uid, title, tags, project, person, team, estimate_h, "
                "actual_h, status, created_at, done_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1, 1.5, 'done', '2026-01-01T00:00:00Z', "
                "'2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z')",
                (
                    task["id"],
                    f"u{task['id']}",
                    task["title"],
                    json.dumps(task["tags"]),
                    task["project"],
                    task["person"],
                    task["team"],
                ),
            )
        similar.rebuild(conn)
    for query in fixture["queries"]:
        tokens = similar.tokens(query["text"])
        assert similar.match_expressions(tokens, ["x"], None)[0].endswith(query["match"])
        rows = conn.execute(
            f"SELECT rowid, {similar.BM25} FROM {similar.TABLE} WHERE {similar.TABLE} MATCH ? "
            f"ORDER BY {similar.BM25}, rowid DESC",
            (query["match"],),
        ).fetchall()
        assert [task_id for task_id, _ in rows][:3] == query["expected_top3_bm25"]
        assert {str(task_id): round(score, 6) for task_id, score in rows} == pytest.approx(
            query["bm25"], abs=1e-5
        )
        # the ranking's own bm25 is FTS5's, from the index's totals and each token's count
        totals = similar.Totals(conn, tokens)
        bodies = dict(
            conn.execute(f"SELECT rowid, body || char(0) || team FROM {similar.TABLE}").fetchall()
        )
        ours = {
            str(task_id): round(similar.bm25(tokens, *bodies[task_id].split("\0"), totals), 6)
            for task_id, _ in rows
        }
        assert ours == pytest.approx(query["bm25"], abs=1e-5)
        found = similar.neighbours(conn, query["text"], [query["person"]], query["team"], 3)
        assert [[n.task_id, n.whose] for n in found] == query["expected_receipts_own_then_team"]


def test_tokens_are_fts5s_and_similarity_is_the_share_found():
    assert similar.tokens("Fix the LOGIN time-out, again: Café_2") == [
        "fix",
        "the",
        "login",
        "time",
        "out",
        "again",
        "cafe",
        "2",
    ]
    assert similar.task_text("Fix login", ["web", "auth"], "site") == "auth web site Fix login"
    assert similar.similarity(["fix", "login", "timeout", "sso"], "auth web Fix login") == (2, 0.5)
    assert similar.prune(["fix", "login", "sso"], {"fix": 900, "login": 300}) == ["sso"]
    assert similar.prune(["fix", "login"], {"fix": 900, "login": 300}) == ["login"]  # the rarest


def test_the_stop_list_waits_for_a_large_index(conn):
    with store.transaction(conn):
        for i in range(30):
            log(conn, f"Fix bug {i}")
    assert similar.ready(conn) == {}  # 30 tasks: no stop list, every word searched
    with store.transaction(conn):
        rows = [
            (i, f"u{i}", f"Fix thing {i % 20}") for i in range(100, 100 + similar.STOP_MIN_TASKS)
        ]
        conn.executemany(
            "INSERT INTO tasks (id, uid, title, person, estimate_h, actual_h, status, created_at, "
            "done_at, updated_at) VALUES (?, ?, ?, 'bob', 1, 2, 'done', '2026-01-01T00:00:00Z', "
            "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            rows,
        )
        similar.rebuild(conn)
    stop = similar.ready(conn)
    assert set(stop) == {"fix", "thing"} and stop["fix"] == 1030


# --- suggest and add ----------------------------------------------------------------------------


def test_suggest_names_similar_tasks_own_first_never_an_opted_out_persons(run, conn):
    log(conn, "Fix login timeout on SSO", 2, 3, tags=["auth"], project="web")
    log(conn, "Upgrade database driver", 1, 1)
    log(conn, "Redesign the login page", 4, 5, team="core")
    log(conn, "Login timeout after password reset", 2, 5, person="ben", team="core")
    log(conn, "Fix login timeout for mobile", 1, 1, person="cleo", team="core")
    log(conn, "Fix login timeout in the API", 1, 1, person="dan", team="ops")
    assert run("people", "--opt-out", "--person", "cleo").exit_code == 0
    result = run("suggest", "3h", "--title", "Fix login timeout", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert [(r["id"], r["whose"]) for r in answer["similar"]] == [
        (1, "own"),
        (3, "own"),
        (4, "team"),
    ]
    first = answer["similar"][0]
    assert first == {
        "id": 1,
        "title": "Fix login timeout on SSO",
        "person": "alice",
        "whose": "own",
        "estimate_h": 2.0,
        "actual_h": 3.0,
        "ratio": 1.5,
        "similarity": 1.0,
    }
    text = run("suggest", "3h", "--title", "Fix login timeout").stdout
    assert (
        'Similar finished tasks:\n  #1 "Fix login timeout on SSO" (yours): 2h estimated, '
        "took 3h (1.5x)" in text
    )
    assert '#4 "Login timeout after password reset" (ben\'s)' in text and "cleo" not in text
    # someone else's view: their own first; the opted-out person still sees their own
    cleo = json.loads(
        run("suggest", "1h", "--title", "login timeout", "--person", "cleo", "--json").stdout
    )
    assert cleo["similar"][0]["id"] == 5 and cleo["similar"][0]["whose"] == "own"
    # no words, no receipts: the answer is as it was
    assert json.loads(run("suggest", "3h", "--json").stdout)["similar"] is None


def test_suggest_about_a_task_uses_its_words_and_leaves_it_out(run, conn):
    log(conn, "Nightly invoices export job fails", 2, 4, tags=["reports"], project="billing")
    log(conn, "Export invoices to CSV", 1, 2, tags=["reports"], project="billing")
    log(conn, "Upgrade database driver", 1, 1)
    open_id = add_task(
        conn,
        NewTask(
            title="Invoices export",
            estimate_h=2.0,
            person="alice",
            tags=["reports"],
            project="billing",
        ),
    )
    answer = json.loads(run("suggest", "--task", str(open_id), "--json").stdout)
    assert answer["title"] == "Invoices export"
    assert [r["id"] for r in answer["similar"]] == [2, 1]
    done = json.loads(run("suggest", "--task", "2", "--json").stdout)  # a finished task: not itself
    assert 2 not in [r["id"] for r in done["similar"]]
    lonely = json.loads(run("suggest", "1h", "--title", "Kubernetes", "--json").stdout)
    assert lonely["similar"] == []
    assert (
        "No finished task here shares its words yet."
        in run("suggest", "1h", "--title", "Kubernetes").stdout
    )


def test_the_hint_after_add_names_the_closest_on_one_line(run, conn):
    for i in range(5):
        log(conn, f"Write release notes {i}", 1, 1.5)
    log(conn, "Fix login timeout on SSO", 2, 3, tags=["auth"])
    result = run("add", "Fix the login timeout again", "-e", "2h", "--tag", "auth")
    assert result.exit_code == 0, result.output
    hint = result.stderr.strip()
    assert len(hint.splitlines()) == 1 and hint.startswith("Hint: ")
    assert hint.endswith('; 1 similar, closest: #6 "Fix login timeout on SSO", 2h took 3h (1.5x).')
    plain = run("add", "Something else entirely", "-e", "2h").stderr.strip()
    assert "closest" not in plain and plain.startswith("Hint: ")


# --- the index, kept by the code that writes tasks ----------------------------------------------


def test_the_index_follows_every_write(run, conn):
    def same():
        assert indexed(conn) == counted_bodies(conn)

    run("add", "Fix login timeout", "-e", "2h", "--tag", "auth", "--actual", "3h")
    run("add", "Open work on login", "-e", "1h")
    same()
    assert set(indexed(conn)) == {1}  # open work is not indexed
    assert run("done", "2", "--actual", "2h").exit_code == 0
    same()
    assert run("edit", "1", "--title", "Fix SSO timeout", "--project", "web").exit_code == 0
    same()
    assert indexed(conn)[1] == "auth web Fix SSO timeout"
    assert run("reopen", "2").exit_code == 0
    same()
    assert set(indexed(conn)) == {1}
    assert run("rm", "1", "--yes").exit_code == 0
    same()
    assert indexed(conn) == {}
    assert run("undo").exit_code == 0  # the task comes back, and its words
    same()
    assert set(indexed(conn)) == {1}
    assert run("drop", "2").exit_code == 0
    same()


def test_imports_merges_and_forgetting_a_person_keep_the_index(run, conn, tmp_path):
    source = tmp_path / "other.db"
    other = store.connect(source)
    log(other, "Zebra crossing timeout", 2, 3, person="ben")
    log(other, "Write docs", 1, 1, person="ben")
    other.close()
    assert run("merge", str(source)).exit_code == 0
    assert sorted(indexed(conn).values()) == ["Write docs", "Zebra crossing timeout"]
    assert indexed(conn) == counted_bodies(conn)
    csv = Path(__file__).parent / "fixtures" / "tasks.csv"
    assert run("import", str(csv)).exit_code == 0
    assert indexed(conn) == counted_bodies(conn) and len(indexed(conn)) > 2
    assert "zebra" in {term for (term,) in conn.execute(f"SELECT term FROM {similar.TERMS}")}
    assert run("rm", "--person", "ben", "--yes").exit_code == 0
    assert "zebra" not in " ".join(indexed(conn).values()).lower()
    assert indexed(conn) == counted_bodies(conn)
    assert "zebra" not in {term for (term,) in conn.execute(f"SELECT term FROM {similar.TERMS}")}


def state_and_terms(conn) -> tuple:
    return (
        tuple(
            conn.execute(
                "SELECT status, since_stop, stop_total, stop FROM similar_state"
            ).fetchone()
        ),
        sorted(tuple(row) for row in conn.execute(f"SELECT term, doc FROM {similar.TERMS}")),
    )


def test_a_bulk_import_keeps_the_index_once_and_as_a_rebuild_would(
    run, conn, tmp_path, monkeypatch
):
    """Found by the import benchmark (2.47x sqlite-utils against its 1.5): batch
    by batch, each kept the index and refreshed its stop list from the whole
    vocabulary. A bulk write keeps it once, at its end (similar.deferred): the
    same index, word counts and stop list as a rebuild; a failed import leaves
    it as it was."""
    from calibrate.exchange import importer

    words = ["login", "timeout", "invoice", "export", "cache", "search", "deploy", "docs"]
    lines = ["id,title,assignee,estimate,actual,created,done,status,tags"]
    for i in range(1_200):  # past STOP_MIN_TASKS: the stop list speaks
        title = f"Fix {words[i % 8]} {words[(i // 8) % 8]} case{i}"
        lines.append(f"T-{i},{title},p{i % 7},2h,3h,2026-01-05,2026-01-06,done,{words[i % 3]}")
    csv = tmp_path / "bulk.csv"
    csv.write_text("\n".join(lines) + "\n")
    refreshes = []
    real_refresh = similar._refresh_stop
    monkeypatch.setattr(similar, "_refresh_stop", lambda c: refreshes.append(1) or real_refresh(c))
    monkeypatch.setattr(importer, "BATCH_ROWS", 50)  # 24 batches
    assert run("import", str(csv)).exit_code == 0
    assert len(refreshes) == 1 and similar._DEFERRED == {}
    assert indexed(conn) == counted_bodies(conn) and len(indexed(conn)) == 1_200
    kept = state_and_terms(conn)
    assert kept[0][0] == "current" and "fix:1200" in kept[0][3]
    with store.transaction(conn):
        similar.rebuild(conn)
    assert state_and_terms(conn) == kept
    before = indexed(conn)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        lines[0] + "\nX-1,Brand new words,p1,2h,3h,2026-01-05,2026-01-06,done,\nX-2,,p1,oops\n"
    )
    assert run("import", str(bad)).exit_code != 0
    assert indexed(conn) == before and state_and_terms(conn) == kept and similar._DEFERRED == {}


def test_a_merge_keeps_the_index_once_deleted_tasks_included(run, conn, tmp_path, monkeypatch):
    source = tmp_path / "other.db"
    other = store.connect(source)
    for i in range(30):
        log(other, f"Zebra crossing {i}", 2, 3, person="ben")
    other.close()
    assert run("merge", str(source)).exit_code == 0
    other = store.connect(source)  # then ben's file deletes two and adds one
    assert run("--db", str(source), "rm", "1", "2", "--yes").exit_code == 0
    log(other, "Quagga stripes", 1, 1, person="ben")
    other.close()
    refreshes = []
    real_refresh, real_purge = similar._refresh_stop, similar.purge
    monkeypatch.setattr(similar, "_refresh_stop", lambda c: refreshes.append(1) or real_refresh(c))
    monkeypatch.setattr(similar, "purge", lambda c: refreshes.append(2) or real_purge(c))
    assert run("merge", str(source)).exit_code == 0
    assert refreshes in ([1], [2, 1])  # once: the deletions purge, which recounts
    assert indexed(conn) == counted_bodies(conn) and len(indexed(conn)) == 29
    assert "Quagga stripes" in indexed(conn).values()
    assert "zebra crossing 0" not in " ".join(indexed(conn).values()).lower()


# --- without FTS5 ------------------------------------------------------------------------------


def test_without_fts5_advice_falls_back_and_the_index_is_rebuilt_when_it_is_back(
    run, conn, available
):
    log(conn, "Fix login timeout on SSO", 2, 3, tags=["auth"])
    with_index = json.loads(run("suggest", "3h", "--title", "Fix login timeout", "--json").stdout)
    assert [r["id"] for r in with_index["similar"]] == [1]
    available(False)
    run("add", "Fix login redirect", "-e", "1h", "--actual", "2h")  # a write without FTS5
    assert conn.execute("SELECT status FROM similar_state").fetchone()[0] == "stale"
    result = run("suggest", "3h", "--title", "Fix login timeout", "--json")
    assert result.exit_code == 0
    assert "no FTS5" in result.stderr
    without = json.loads(result.stdout)
    assert without["similar"] is None
    assert {k: v for k, v in without.items() if k != "similar"} == {
        k: v for k, v in json.loads(run("suggest", "3h", "--json").stdout).items() if k != "similar"
    } | {"title": "Fix login timeout"}
    added = run("add", "Fix login again", "-e", "2h")
    assert added.exit_code == 0 and "closest" not in added.stderr
    assert run("rm", "2", "--yes").exit_code == 0  # a deletion empties the index: no words linger
    assert conn.execute("SELECT count(*) FROM task_fts_content").fetchone()[0] == 0
    available(True)
    back = json.loads(run("suggest", "3h", "--title", "Fix login timeout", "--json").stdout)
    assert [r["id"] for r in back["similar"]] == [1]
    assert conn.execute("SELECT status FROM similar_state").fetchone()[0] == "current"
    assert indexed(conn) == counted_bodies(conn)


def test_a_database_without_fts5_migrates_stale_and_rebuilds_later(db_path, available):
    available(False)
    conn = store.connect(db_path)
    assert conn.execute("SELECT status FROM similar_state").fetchone()[0] == "stale"
    log(conn, "Fix login timeout", 2, 3)
    assert receipts.similar_tasks(conn, "alice", "login") is None
    available(True)
    assert [r["id"] for r in receipts.similar_tasks(conn, "alice", "login")] == [1]
    conn.close()


# --- the blend (scripts/replay_similar.py): the two twins agree -----------------------------------


def test_the_plain_and_numpy_blends_agree():
    rng = np.random.default_rng(16)
    r = rng.normal(0.3, 0.8, 300)
    past = Past.from_arrays(
        np.ones(300),
        np.exp2(r),
        person=np.array(["a"] * 150 + ["b"] * 150),
        team=np.array(["t"] * 300),
    )
    pools = Pools(past)
    components = pools.components(np.array([0]), np.array([0]), past.bucket[:1], np.array([300]))
    neighbour_r = [r[:5]]
    found = [np.array([3, 2, 2, 1, 1])]
    blended = with_neighbours(components, neighbour_r, found, np.array([4]))
    from calibrate.stats import draws

    numpy_q = draws.predictive_quantiles(blended, 0.0, (0.1, 0.5, 0.9))[:, 0]
    pairs = [
        (float(v), float(w)) for v, w in zip(*draws.mixture_values(components, 0), strict=True)
    ]
    plain_pairs, w = hints.blend(pairs, list(r[:5]), [3, 2, 2, 1, 1], 4)
    assert w == pytest.approx(rules.similar_weight(9 / 4))
    assert hints.predictive_quantiles(plain_pairs, 0.0, (0.1, 0.5, 0.9)) == pytest.approx(numpy_q)


def test_receipts_know_a_person_by_every_name(run, conn):
    log(conn, "Fix login timeout", 2, 3, person="Jane Doe", team="web")
    log(conn, "Login timeout on mobile", 1, 2, person="jdoe", team="web")
    log(conn, "Login timeout for the API", 1, 1, person="bob", team="web")
    log(conn, "Login timeout in reports", 1, 1, person="bobby", team="web")
    assert run("alias", "jdoe", "Jane Doe").exit_code == 0
    assert run("alias", "bobby", "bob").exit_code == 0
    assert run("people", "--opt-out", "--person", "bobby").exit_code == 0  # bob, by another name
    for name in ("jdoe", "Jane Doe"):
        answer = json.loads(
            run("suggest", "1h", "--title", "login timeout", "--person", name, "--json").stdout
        )
        assert [(r["id"], r["whose"]) for r in answer["similar"]] == [(1, "own"), (2, "own")]
    assert receipts.opted_out_names(conn) == ["bob", "bobby"]
    assert receipts.opted_out_names(conn, ["bobby"]) == []


def test_the_team_step_looks_among_the_most_recent_tasks(run, conn, monkeypatch):
    log(conn, "Fix login timeout", 2, 3, person="ben")  # id 1: old
    log(conn, "Login page for admins", 1, 1)  # id 2: alice's own, old too
    for i in range(3):
        log(conn, f"Write release notes {i}", 1, 1, person="ben")
    monkeypatch.setattr(rules, "SIMILAR_TEAM_WINDOW", 3)  # ids 3, 4 and 5
    found = receipts.similar_tasks(conn, "alice", "Fix login timeout")
    assert [(r["id"], r["whose"]) for r in found] == [(2, "own")]  # own tasks: any age
    monkeypatch.setattr(rules, "SIMILAR_TEAM_WINDOW", 5)
    found = receipts.similar_tasks(conn, "alice", "Fix login timeout")
    assert [(r["id"], r["whose"]) for r in found] == [(2, "own"), (1, "team")]


def test_candidates_are_the_newest_and_ranked_by_bm25(conn, monkeypatch):
    """FTS5 hands over the CANDIDATES newest tasks holding a searched word;
    among them the best bm25 comes first (not the newest)."""
    monkeypatch.setattr(similar, "CANDIDATES", 5)
    with store.transaction(conn):
        log(conn, "Fix login timeout", person="ben")  # id 1: beyond the 5 newest
        for i in range(10):
            log(conn, f"Fix report {i}", person="ben")  # ids 2-11
        log(conn, "Login timeout", person="ben")  # id 12: the best of the newest
        log(conn, "Fix report again", person="ben")  # id 13
    found = similar.neighbours(conn, "Fix login timeout", ["alice"], None, 3)
    assert found[0].task_id == 12
    assert 1 not in [n.task_id for n in found] and len(found) == 3
    monkeypatch.setattr(similar, "CANDIDATES", 100)
    found = similar.neighbours(conn, "Fix login timeout", ["alice"], None, 3)
    assert [n.task_id for n in found][:2] == [12, 1]  # both now; the shorter ranks first


def counts(conn) -> tuple[dict[str, int], dict[str, int]]:
    """(similar_terms, FTS5's own count of tasks per body word)."""
    ours = dict(conn.execute(f"SELECT term, doc FROM {similar.TERMS}").fetchall())
    fts = dict(conn.execute(f"SELECT term, doc FROM {similar.VOCAB} WHERE col = 'body'").fetchall())
    return ours, fts


def test_word_counts_follow_the_index_through_every_write(run, conn, db_path):
    """Tasks leaving the index (undo of an add, reopen, rm, an edited title)
    move the words' counts too: a stale count once made bm25's logarithm
    fail (the review's case: three alike, two undone, then another)."""
    for _ in range(3):
        assert run("add", "Fix login", "-e", "1h", "--actual", "2h").exit_code == 0
    steps = [
        ("undo",),
        ("undo",),
        ("add", "Fix login again", "-e", "1h"),
        ("add", "Deploy service one", "-e", "1h", "--actual", "1h"),
        ("add", "Deploy service two", "-e", "1h", "--actual", "1h"),
        ("reopen", "5"),
        ("suggest", "1h", "--title", "deploy"),
        ("edit", "4", "--title", "Rotate the keys"),
        ("done", "4", "--actual", "2h"),
        ("rm", "6", "--yes"),
        ("undo",),
        ("suggest", "1h", "--title", "deploy login keys"),
    ]
    for step in steps:
        result = run(*step)
        assert result.exit_code == 0, (step, result.output)
        ours, fts = counts(conn)
        assert ours == fts, step


def test_words_of_tasks_deleted_by_a_merge_leave_the_file(tmp_path):
    """A lead merges a member's file, then the member's rm --person: none of
    the person's words stays in the lead's file (law 3)."""
    from click.testing import CliRunner

    from calibrate.cli import cli

    member, lead = tmp_path / "member.db", tmp_path / "lead.db"
    runner = CliRunner()

    def at(path, *args):
        result = runner.invoke(cli, ["--db", str(path), *args])
        assert result.exit_code == 0, result.output

    at(
        member,
        "add",
        "Xylophonic confidential merger",
        "-e",
        "2h",
        "--actual",
        "3h",
        "--person",
        "bob",
    )
    at(lead, "add", "Lead thing", "-e", "2h", "--actual", "3h", "--person", "lead")
    at(lead, "merge", str(member))
    at(member, "rm", "--person", "bob", "--yes")
    at(lead, "merge", str(member))
    held = b"".join(path.read_bytes() for path in tmp_path.glob("lead.db*"))
    assert b"xylophonic" not in held.lower()


def test_receipts_fit_80_terminal_columns_with_wide_titles_and_long_names(run, conn):
    from calibrate.text import display_width

    long_title = (
        "修复 登录页面 在移动设备上 的重定向问题 以及 会话超时 导致用户 被迫重新登录 的错误"
    )
    log(conn, long_title, person="Bartholomew Fitzgerald-Montgomery the Third")
    result = run("suggest", "2h", "--title", "修复 登录页面")
    assert result.exit_code == 0, result.output
    assert "#1" in result.output
    assert max(display_width(line) for line in result.output.splitlines()) <= 80
