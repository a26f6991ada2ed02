"""The layers of PRODUCT.md ("Layers"), enforced from the import graph.

The graph is read with ``ast`` by ``scripts/architecture.py`` (the same reader
writes ARCHITECTURE.md's tables): every ``import`` and ``from ... import``,
inside functions too, relative ones resolved, each with its level (``module``:
runs on import; ``lazy``: runs when a function runs, or when the command line
loads a module by name; ``typing``: never runs). The rules, as functions of a
graph, are in ``tests/support/layers.py``. The nevers:

1. the library (anything outside ``calibrate.cli``) importing ``calibrate.cli``,
   at any level;
2. ``calibrate.stats`` reaching ``calibrate.store``, ``sqlite3`` or ``click``, at
   any level, itself or through the modules it imports: the statistics compute
   from arrays and plain lists, and never touch the database;
3. ``calibrate.store`` reaching, at any level and through any module, anything
   of the package but itself and the small standard-library modules at the top
   (errors, clock, durations, identity, selection, rules, text, files): storage sits
   under the statistics, the report, exchange and the orchestrators (panel,
   advice, teams, hinting), so it hands them rows and arrays and never calls
   up into them. A stored value that the statistics define (a hint) is kept as
   a plain row; what computes and refreshes it lives above both
   (``calibrate.hinting``);
4. an import cycle among the modules, counting module-level and lazy imports
   (a lazy import that closes a cycle still climbs back up through the layers);
5. the everyday commands (and ``calibrate --help``) loading numpy, pandas,
   plotly, sqlite-utils or jinja2: statically, the module-level import closure
   of what each command loads (``calibrate.__main__``, the module of its
   callback and the imports inside the callback); at run time, ``python -X
   importtime`` of the real command on a database that exists;
6. ``calibrate.rules`` importing anything but the standard library at module
   level (numpy only inside its array functions).

Every violation fails: there is no list of known ones.
"""

from __future__ import annotations

import inspect
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.support.layers import (
    HEAVY,
    LAZY,
    MODULE,
    RUNTIME,
    TYPING,
    Graph,
    Violation,
    all_violations,
    architecture,
    cli_violations,
    cycle_violations,
    everyday_violations,
    rules_violations,
    stats_violations,
    store_violations,
)

REPO = Path(__file__).resolve().parents[1]


#: The everyday commands of PRODUCT.md and the issue (typed many times a day) and
#: ``--help``, each as the test runs it on a database with #13 open and #14 running.
EVERYDAY_RUNS = {
    "add": ["add", "another", "-e", "1h"],
    "start": ["start", "13"],
    "stop": ["stop"],
    "done": ["done", "14"],
    "drop": ["drop", "13"],
    "reestimate": ["reestimate", "13", "3h"],
    "edit": ["edit", "13", "--title", "renamed"],
    "rm": ["rm", "13", "--yes"],
    "list": ["list"],
    "show": ["show", "13"],
    "config": ["config"],
    "status": ["status"],
    "suggest": ["suggest", "2h"],
    "--help": ["--help"],
}
EVERYDAY = [command for command in EVERYDAY_RUNS if command != "--help"]


# --- the real package --------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> Graph:
    return architecture.read_package()


def command_roots(graph: Graph) -> dict[str, set[str]]:
    """For each everyday command (and ``--help``), the modules it loads before
    it runs: ``calibrate.__main__`` (which imports the group), the module of
    its callback and the imports inside the callback. The commands are found
    through click, so that they may live in any module of ``calibrate.cli``."""
    from calibrate.cli import cli

    ctx = click.Context(cli, info_name="calibrate")
    base = {"calibrate.__main__", "calibrate.cli"}
    roots: dict[str, set[str]] = {}
    for name in EVERYDAY:
        command = cli.get_command(ctx, name)
        if command is not None:
            roots[name] = base | _callback_modules(graph, command.callback)
    every = [cli.get_command(ctx, name) for name in cli.list_commands(ctx)]  # --help loads them
    roots["--help"] = base | {inspect.unwrap(c.callback).__module__ for c in every if c.callback}
    return roots


def _callback_modules(graph: Graph, callback) -> set[str]:
    function = inspect.unwrap(callback)
    module, name = function.__module__, function.__qualname__
    inside = [
        i
        for i in graph.imports_of(module, (LAZY,))
        if i.function == name or (i.function or "").startswith(name + ".")
    ]
    return {module, *(i.target for i in inside if i.target in graph.modules)}


def _listed(violations: list[Violation]) -> str:
    return "\n".join(f"  {v.message}" for v in violations)


def test_the_graph_holds_every_module_and_sees_how_each_command_is_loaded(graph):
    files = sorted((REPO / "src" / "calibrate").rglob("*.py"))
    assert len(graph.modules) == len(files)
    from calibrate.cli import cli

    ctx = click.Context(cli, info_name="calibrate")
    commands = [cli.get_command(ctx, name) for name in cli.list_commands(ctx)]
    modules = {inspect.unwrap(c.callback).__module__ for c in commands if c.callback}
    unseen = modules - set(graph.closure(["calibrate.cli"], RUNTIME))
    assert not unseen, f"the group loads {sorted(unseen)} in a way scripts/architecture.py misses"


def test_the_library_never_imports_the_command_line(graph):
    message = _listed(cli_violations(graph))
    assert not message, "PRODUCT.md Layers: the library never imports calibrate.cli\n" + message


def test_the_statistics_never_reach_the_database_sqlite3_or_click(graph):
    message = _listed(stats_violations(graph))
    assert not message, (
        "PRODUCT.md Layers: calibrate.stats never imports calibrate.store, sqlite3 or click\n"
        + message
    )


def test_the_storage_never_reaches_up_the_layers(graph):
    message = _listed(store_violations(graph))
    assert not message, (
        "PRODUCT.md Layers: calibrate.store imports only itself and the standard-library "
        "modules at the top (errors, clock, durations, identity, selection, rules, text, "
        "files)\n" + message
    )


def test_there_is_no_import_cycle(graph):
    message = _listed(cycle_violations(graph))
    assert not message, "PRODUCT.md Layers: no import cycle (lazy imports count)\n" + message


def test_the_everyday_commands_load_nothing_heavy(graph):
    roots = command_roots(graph)
    assert {"add", "list", "suggest", "--help"} <= set(roots)
    message = _listed(everyday_violations(graph, roots))
    assert not message, (
        f"PRODUCT.md Layers: the everyday commands never import {', '.join(HEAVY)}\n" + message
    )


def test_rules_imports_the_standard_library_alone(graph):
    message = _listed(rules_violations(graph))
    assert not message, (
        "calibrate.rules imports only the standard library at module level\n" + message
    )


# --- the everyday commands at run time -----------------------------------------------------


@pytest.fixture(scope="module")
def everyday_db(tmp_path_factory) -> Path:
    """Twelve finished tasks (history for the advice), #13 open and #14 running.
    The database exists before the commands run: creating one applies the
    schema, which loads sqlite-utils once, by design."""
    from calibrate.cli import cli

    path = tmp_path_factory.mktemp("everyday") / "template.db"
    runner = CliRunner(env={"CALIBRATE_PERSON": "alice"})
    commands = [["add", f"done {i}", "-e", "1h", "--actual", f"{30 + 10 * i}m"] for i in range(12)]
    commands += [["add", "open", "-e", "2h"], ["add", "running", "-e", "1h"]]
    commands += [["start", "14", "--at", "30m ago"]]
    for args in commands:
        result = runner.invoke(cli, ["--db", str(path), *args])
        assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("command", list(EVERYDAY_RUNS))
def test_an_everyday_command_imports_nothing_heavy_when_it_runs(command, everyday_db, tmp_path):
    from calibrate.cli import cli

    if command != "--help" and cli.get_command(click.Context(cli), command) is None:
        pytest.skip(f"calibrate has no '{command}' command")
    path = tmp_path / "calibrate.db"
    with closing(sqlite3.connect(everyday_db)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)
    env = {**os.environ, "CALIBRATE_PERSON": "alice", "NO_COLOR": "1"}
    args = [sys.executable, "-X", "importtime", "-m", "calibrate", "--db", str(path)]
    result = subprocess.run(
        [*args, *EVERYDAY_RUNS[command]], capture_output=True, text=True, env=env, timeout=120
    )
    timings = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    errors = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert result.returncode == 0, "\n".join(errors)
    imported = [line.rpartition("|")[2].strip() for line in timings]
    assert "calibrate.cli" in imported
    heavy = sorted({name.split(".")[0] for name in imported} & set(HEAVY))
    assert not heavy, (
        f"'calibrate {command}' imported {', '.join(heavy)} (python -X importtime shows by what)"
    )


def run_program(everyday_db: Path, tmp_path: Path, code: str) -> tuple[Path, str]:
    """Run ``code`` (Python that calls ``calibrate.cli.main`` on ``sys.argv[1]``)
    in a fresh interpreter, on a copy of the everyday database: (the copy, stdout)."""
    path = tmp_path / "calibrate.db"
    with closing(sqlite3.connect(everyday_db)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)
    env = {**os.environ, "CALIBRATE_PERSON": "alice", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return path, result.stdout


def test_add_loads_neither_locale_nor_difflib(everyday_db, tmp_path):
    """click's gettext (its first message imports locale) and its long-option
    guess for a short option (difflib) cost add 3% of its instructions:
    cli.options.Command does without both."""
    code = (
        "import sys; from calibrate.cli import main\n"
        "try: main(['--db', sys.argv[1], 'add', 'another', '-e', '1h', '-t', 'x', '-q'])\n"
        "except SystemExit: pass\n"
        "print(sorted({'locale', 'difflib'} & set(sys.modules)))"
    )
    _, out = run_program(everyday_db, tmp_path, code)
    assert out.splitlines() == ["15", "[]"]


def test_the_program_leaves_its_objects_to_the_operating_system(everyday_db, tmp_path):
    """The program's last step freezes what it made (gc.freeze), so that the
    interpreter's exit does not search tens of thousands of objects for
    cycles (4 ms of add's 50: benchmarks/bench_add.py); an error's exit too.
    The command's work is done and its database closed by then."""
    code = (
        "import gc, sys; from calibrate.cli import main\n"
        "for args in (['add', 'another', '-e', '1h', '-q'], ['done', '999']):\n"
        "    try: main(['--db', sys.argv[1], *args])\n"
        "    except SystemExit as end: print(end.code, gc.get_freeze_count() > 1000)\n"
        "    gc.unfreeze()\n"
    )
    path, out = run_program(everyday_db, tmp_path, code)
    assert out.splitlines() == ["15", "0 True", "1 True"]
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT title FROM tasks WHERE id = 15").fetchone() == ("another",)


# --- the checker itself, on a small fake package -----------------------------------------


def fake_package(root: Path, files: dict[str, str]) -> Graph:
    package = root / "calibrate"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return architecture.read_package(package)


GOOD = {
    "__init__.py": '"""The fake package."""\n',
    "__main__.py": "from calibrate.cli import main\n",
    "errors.py": '"""Errors."""\nclass Oops(Exception):\n    pass\n',
    "rules.py": """\
        '''Rules.'''
        from __future__ import annotations
        import bisect

        def mask(values):
            import numpy as np
            return np.asarray(values) > 0
    """,
    "cli/__init__.py": """\
        import click
        from calibrate import store
        from ..errors import Oops

        LAZY = {"score": "calibrate.cli.score:score"}

        def add():
            from calibrate.stats import hints
            return hints
    """,
    "cli/score.py": "import click\nfrom calibrate.cli.options import scope\n",
    "cli/options.py": "import click\n\ndef scope():\n    pass\n",
    "store/__init__.py": "import sqlite3\n\ndef connect():\n    from . import schema\n",
    "store/schema.py": "import sqlite_utils\nfrom calibrate.errors import Oops\n",
    "stats/__init__.py": "",
    "stats/hints.py": """\
        from typing import TYPE_CHECKING
        from calibrate import rules
        if TYPE_CHECKING:
            import numpy
    """,
    "stats/metrics.py": "import numpy\nfrom .hints import *\n",
}
FAKE_ROOTS = {"add": {"calibrate.__main__", "calibrate.cli", "calibrate.stats.hints"}}


def test_the_checker_passes_a_package_that_keeps_the_layers(tmp_path):
    fake = fake_package(tmp_path, GOOD)
    assert all_violations(fake, FAKE_ROOTS) == []
    levels = {(i.importer, i.target): i.level for i in fake.imports}
    assert levels[("calibrate.cli", "calibrate.errors")] == MODULE  # ..errors resolved
    assert levels[("calibrate.cli", "calibrate.cli.score")] == LAZY  # the registry
    assert levels[("calibrate.store", "calibrate.store.schema")] == LAZY  # from . import schema
    assert levels[("calibrate.stats.hints", "numpy")] == TYPING
    assert levels[("calibrate.stats.metrics", "calibrate.stats.hints")] == MODULE
    add = fake.closure(FAKE_ROOTS["add"])
    assert "calibrate.store" in add and "calibrate.store.schema" not in add  # lazy, not followed
    assert "calibrate.stats" in add  # a parent package runs too


def test_the_checker_finds_a_cycle_a_stats_store_edge_and_a_heavy_add(tmp_path):
    bad = {
        **GOOD,
        # a cycle: the lazy command imports the group back, which loads it by name
        "cli/score.py": "import click\nfrom calibrate.cli import scope_options\n",
        # statistics reaching the database, directly and through a top-level module
        "stats/hints.py": "from calibrate.store import schema\nfrom calibrate import teams\n",
        "teams.py": "import sqlite3\n",
        # the add path loading pandas: cli imports text, text imports pandas
        "cli/options.py": "import click\nfrom calibrate import text\n",
        "text.py": "import pandas\n",
        "cli/__init__.py": textwrap.dedent(GOOD["cli/__init__.py"])
        + "from calibrate.cli import options\n",
    }
    fake = fake_package(tmp_path, bad)
    found = {v.key: v.message for v in all_violations(fake, FAKE_ROOTS)}
    assert ("cycle", "calibrate.cli", "calibrate.cli.score") in found
    assert (
        "calibrate.cli -> calibrate.cli.score -> calibrate.cli"
        in found[("cycle", "calibrate.cli", "calibrate.cli.score")]
    )
    assert ("stats", "calibrate.stats.hints", "calibrate.store.schema") in found
    assert ("stats", "calibrate.teams", "sqlite3") in found  # through a module of the library
    # hints -> store.schema -> sqlite_utils is on the add path too (add imports hints)
    assert ("everyday", "calibrate.text", "pandas") in found
    assert (
        "calibrate.cli -> calibrate.cli.options -> calibrate.text -> pandas"
        in found[("everyday", "calibrate.text", "pandas")]
    )
    assert ("everyday", "calibrate.store.schema", "sqlite_utils") in found
    # exempting the import that climbs back up breaks that cycle
    assert cycle_violations(fake, {("calibrate.cli.score", "calibrate.cli")}) == []


def test_the_checker_counts_a_lazy_import_that_closes_a_cycle(tmp_path):
    fake = fake_package(
        tmp_path,
        {
            **GOOD,
            "errors.py": "def translate():\n    from calibrate.store import schema\n",
        },
    )
    (found,) = cycle_violations(fake)
    assert "calibrate.errors -> calibrate.store.schema -> calibrate.errors" in found.message
    assert "lazy (in translate)" in found.message


def test_the_checker_finds_the_library_importing_the_command_line(tmp_path):
    fake = fake_package(
        tmp_path, {**GOOD, "store/tasks.py": "def f():\n    from calibrate.cli import x\n"}
    )
    assert [v.key for v in cli_violations(fake)] == [
        ("cli", "calibrate.store.tasks", "calibrate.cli")
    ]


def test_the_checker_keeps_the_storage_under_the_other_layers(tmp_path):
    fake = fake_package(
        tmp_path,
        {
            **GOOD,
            # a stored hint built by the statistics' class, lazily: still a climb
            "store/caches.py": "def hint():\n    from calibrate.stats.hints import Hint\n",
            # through a top-level module that is not one of the foundation's
            "store/tasks.py": "from calibrate import words\n",
            "words.py": "from calibrate import teams\n",
            "teams.py": "import sqlite3\n",
            # the foundation is allowed, and so is the store itself
            "store/people.py": "from calibrate import errors, rules\nfrom . import caches\n",
        },
    )
    found = sorted(v.key for v in store_violations(fake))
    assert found == [
        ("store", "calibrate.store.caches", "calibrate.stats.hints"),
        ("store", "calibrate.store.tasks", "calibrate.words"),
    ]
    assert store_violations(fake_package(tmp_path / "good", GOOD)) == []


def test_the_checker_keeps_rules_to_the_standard_library(tmp_path):
    fake = fake_package(
        tmp_path, {**GOOD, "rules.py": "import numpy\nfrom calibrate import errors\n"}
    )
    assert [v.imported for v in rules_violations(fake)] == ["numpy", "calibrate.errors"]
