"""Shell completion of what is in the database: task ids, tags, projects,
people and teams.

click asks these functions (``shell_complete`` of an argument or option) while
the shell completes a word; they read the database the command line names
(``--db``, else ``$CALIBRATE_DB``, else the default file) read-only, with the
standard library's ``sqlite3`` alone, and never create, migrate or lock it.
Nothing (no database, a damaged file, a locked one) completes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from calibrate import store

if TYPE_CHECKING:  # imported when a shell asks, not at every start-up
    from click.shell_completion import CompletionItem

#: At most this many candidates are offered for one word.
MAX_ITEMS = 200


def _database(ctx: click.Context) -> str:
    root = ctx.find_root()
    given = root.params.get("db") if root.params else None
    return given or store.default_db_path()


def _rows(ctx: click.Context, sql: str, params: tuple) -> Iterator[tuple]:
    path = _database(ctx)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.Error:
        return
    try:
        yield from conn.execute(sql, params)
    except sqlite3.Error:
        return
    finally:
        conn.close()


def _like(incomplete: str) -> str:
    escaped = incomplete.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def task_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Ids of tasks, open and started ones first, each with its title."""
    from click.shell_completion import CompletionItem

    sql = (
        "SELECT id, title, status FROM tasks WHERE CAST(id AS TEXT) LIKE ? ESCAPE '\\' "
        "ORDER BY status IN ('open', 'started') DESC, id DESC LIMIT ?"
    )
    return [
        CompletionItem(str(task_id), help=f"{title} ({status})")
        for task_id, title, status in _rows(ctx, sql, (_like(incomplete), MAX_ITEMS))
    ]


def _distinct(ctx: click.Context, sql: str, incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    values = (row[0] for row in _rows(ctx, sql, (_like(incomplete), MAX_ITEMS)))
    return [CompletionItem(value) for value in values if value]


def tags(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _distinct(
        ctx,
        "SELECT DISTINCT json_each.value FROM tasks, json_each(tasks.tags) "
        "WHERE json_each.value LIKE ? ESCAPE '\\' ORDER BY 1 LIMIT ?",
        incomplete,
    )


def projects(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _distinct(
        ctx,
        "SELECT DISTINCT project FROM tasks WHERE project LIKE ? ESCAPE '\\' ORDER BY 1 LIMIT ?",
        incomplete,
    )


def people(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """People with tasks and the aliases that name them."""
    return _distinct(
        ctx,
        "SELECT name FROM (SELECT person AS name FROM tasks UNION SELECT alias FROM aliases) "
        "WHERE name LIKE ? ESCAPE '\\' ORDER BY 1 LIMIT ?",
        incomplete,
    )


def teams(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _distinct(
        ctx,
        "SELECT DISTINCT team FROM tasks WHERE team LIKE ? ESCAPE '\\' ORDER BY 1 LIMIT ?",
        incomplete,
    )
