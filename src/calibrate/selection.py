"""Which tasks a command covers: scope, window, status, tags and project.

One :class:`Selection` turns the options every command shares into a SQL
``WHERE`` clause with parameters (never string-formatted values), so that
``list``, ``export``, ``score`` and the report filter the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from calibrate.errors import InputError

STATUS_CHOICES = ("open", "done", "dropped", "any")


@dataclass
class Selection:
    person: str | None = None
    team: str | None = None
    everyone: bool = False
    status: str = "any"
    #: UTC ISO bounds: the window's first and (exclusive) last moment.
    since: str | None = None
    until: str | None = None
    #: ``done``: the window applies to the done date (scores);
    #: ``activity``: to the done date, else the creation date (lists).
    window_on: str = "done"
    tags: Sequence[str] = field(default_factory=tuple)
    project: str | None = None

    def __post_init__(self) -> None:
        if sum([self.person is not None, self.team is not None, self.everyone]) > 1:
            raise InputError("give one scope: --person, --team or --everyone")
        if self.status not in STATUS_CHOICES:
            raise InputError(f"unknown status {self.status!r}: use {', '.join(STATUS_CHOICES)}")

    def where(self, alias: str = "") -> tuple[str, list]:
        """The ``WHERE`` clause (without the keyword) and its parameters."""
        t = f"{alias}." if alias else ""
        clauses: list[str] = []
        params: list = []
        if self.person is not None:
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
        moment = f"{t}done_at" if self.window_on == "done" else f"coalesce({t}done_at, {t}created_at)"
        if self.since is not None:
            clauses.append(f"{moment} >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{moment} < ?")
            params.append(self.until)
        for tag in self.tags:
            clauses.append(f"EXISTS (SELECT 1 FROM json_each({t}tags) WHERE json_each.value = ?)")
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
