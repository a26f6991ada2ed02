"""Recovery from mistakes: ``reopen`` and ``undo``.

``reopen ID`` takes a done or dropped task back to open (started, if its
timer ever ran), clearing its actual and done date. ``undo`` reverses the
last change typed here (add, start, stop, done, drop, reestimate, edit, rm,
reopen; not an import or a merge, which have ``--dry-run`` and the backups),
as a change of its own that merges like any other
(:mod:`calibrate.store.undo`); again, it walks back further.

Loaded only when one of them runs; standard library and click only.
"""

from __future__ import annotations

import click

from calibrate.cli.options import App, Command, pass_app, say, task_id_arg
from calibrate.clock import local_text
from calibrate.store import tasks as tasklog
from calibrate.store import undo as oplog


@click.command(cls=Command)
@task_id_arg
@pass_app
def reopen(app: App, task_id: int) -> None:
    """Take a done or dropped task back to open (started, if it was timed).

    Its actual and done date are cleared, as a change of their own: 'undo'
    reverses it, and a merge carries it.
    """
    with oplog.recording(app.conn, f"reopen #{task_id}") as change:
        change.watch([task_id])
        status = tasklog.reopen_task(app.conn, task_id)
    title = tasklog.get_task(app.conn, task_id)["title"]
    say(f"Reopened #{task_id}: {title} ({status})")


@click.command(cls=Command)
@pass_app
def undo(app: App) -> None:
    """Reverse the last change typed here; again, the one before it.

    It undoes add, start, stop, done, drop, reestimate, edit, rm and reopen
    (not import or merge: they have --dry-run, and the backups), and says
    what it undid. The undo is itself a change, stamped later than the one
    it reverses, so it reaches other files by merge like any edit; an undone
    rm brings the task back wherever it travels.
    """
    conn = app.existing_conn()
    if conn is None:
        from calibrate.errors import StateError

        raise StateError("nothing to undo: no change typed here is left to reverse")
    undone = oplog.undo_last(conn)
    say(f"Undid {undone['command']} (typed {local_text(undone['typed_at'])})")
    for task in undone["tasks"]:
        say(f"  {_words(task)}")
        if task.get("left"):
            say(
                f"#{task['id']}: its {_joined(task['left'])} changed since (by a merge or an "
                "import) and stayed as it is",
                err=True,
            )


def _words(task: dict) -> str:
    name = f"#{task['id']} {task['title']}".rstrip()
    action = task["action"]
    if action == "deleted":
        return f"{name}: deleted (a tombstone keeps it so in merges)"
    if action == "restored":
        return f"{name}: back as it was"
    if action == "gone":
        return f"{name}: deleted since, by a merge: nothing to undo"
    if action == "kept":
        return f"{name}: changed since, left as it is"
    fields = [
        f"status ({task['status']})" if f == "status" else f for f in task.get("fields") or []
    ]
    return f"{name}: {_joined(fields)} as before" if fields else f"{name}: nothing left to undo"


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


#: The commands of this module (loaded lazily by name: :data:`calibrate.cli.LAZY_COMMANDS`).
COMMANDS = (reopen, undo)
