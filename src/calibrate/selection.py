"""Which tasks a command covers: scope, window, status, tags and project.

One :class:`Selection` turns the options every command shares into a SQL
``WHERE`` clause with parameters (never string-formatted values), so that
``list``, ``export``, ``score`` and the report filter the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from calibrate.errors import InputError, UsageError

STATUS_CHOICES = ("open", "done", "dropped", "any")
#: The options a selection is made of (the arguments of :class:`Selection`).
OPTIONS = (
    "person",
    "team",
    "everyone",
    "status",
    "since",
    "until",
    "window_on",
    "tags",
    "project",
    "names",
)


def one_scope(person: str | None, team: str | None, everyone: bool) -> None:
    """One scope at most: ``--person``, ``--team`` or ``--everyone``."""
    if sum([person is not None, team is not None, bool(everyone)]) > 1:
        raise UsageError("give one scope: --person, --team or --everyone")


class Selection:
    """The shared options of a command, ready to become a ``WHERE`` clause.

    ``since``/``until`` are UTC ISO bounds (the window's first moment and its
    exclusive end). ``window_on`` is ``done`` (scores: the window applies to
    the done date) or ``activity`` (lists: the done date, else the creation date).
    ``names``: every stored name the person goes by (their aliases, resolved by
    the loaders), when there are more than the one given; a new person drops them.
    """

    def __init__(
        self,
        person: str | None = None,
        team: str | None = None,
        everyone: bool = False,
        status: str = "any",
        since: str | None = None,
        until: str | None = None,
        window_on: str = "done",
        tags: Sequence[str] = (),
        project: str | None = None,
        names: Sequence[str] = (),
    ):
        one_scope(person, team, everyone)
        if status not in STATUS_CHOICES:
            raise InputError(f"unknown status {status!r}: use {', '.join(STATUS_CHOICES)}")
        self.person, self.team, self.everyone = person, team, everyone
        self.status, self.since, self.until, self.window_on = status, since, until, window_on
        self.tags, self.project = tuple(tags), project
        self.names = tuple(names) if person is not None else ()

    def replace(self, **changes) -> Selection:
        """A copy with some of its options changed (checked again)."""
        if "person" in changes and "names" not in changes:
            changes["names"] = ()
        return Selection(**{**{name: getattr(self, name) for name in OPTIONS}, **changes})

    def where(self, alias: str = "") -> tuple[str, list]:
        """The ``WHERE`` clause (without the keyword) and its parameters."""
        t = f"{alias}." if alias else ""
        clauses: list[str] = []
        params: list = []
        if len(self.names) > 1:
            clauses.append(f"{t}person IN ({', '.join('?' * len(self.names))})")
            params.extend(self.names)
        elif self.person is not None:
            clauses.append(f"{t}person = ?")
            params.append(self.person)
        elif self.team is not None:
            clauses.append(f"{t}team = ?")
            params.append(self.team)
        if self.status == "open":
            clauses.append(f"{t}status IN ('open', 'started')")
        elif self.status in ("done", "dropped"):
            clauses.append(f"{t}status = ?")
            params.append(self.status)
        moment = (
            f"{t}done_at" if self.window_on == "done" else f"coalesce({t}done_at, {t}created_at)"
        )
        if self.since is not None:
            clauses.append(f"{moment} >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{moment} < ?")
            params.append(self.until)
        for tag in self.tags:
            tag_test = f"EXISTS (SELECT 1 FROM json_each({t}tags) WHERE json_each.value = ?)"  # noqa: S608
            clauses.append(tag_test)
            params.append(tag)
        if self.project is not None:
            clauses.append(f"{t}project = ?")
            params.append(self.project)
        return (" AND ".join(clauses) or "1"), params

    def describe(self) -> str:
        if self.everyone:
            return "everyone"
        if self.team is not None:
            return f"team {self.team}"
        return self.person or "you"
