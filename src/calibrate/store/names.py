"""People's names: one spelling per name, and aliases mapped when read (law 7).

:func:`clean_name` is the one function every name goes through where it is
stored or compared (``add``, ``edit``, imports, merges, aliases, opt-outs, the
scope options): Unicode NFC, zero-width characters removed, spaces trimmed,
so that "José" typed with a combining accent, or pasted with a zero-width
joiner, is one person.

Aliases are records (``alias`` -> ``person``, stamped, possibly deleted) that
map a name when it is *read*: stored task names are never rewritten, so that
merges in any order agree. :class:`AliasMap` resolves chains (``jane`` ->
``jdoe`` -> ``Jane Doe``); a cycle, which only a merge of two replicas' aliases
can make, is broken at its oldest alias by (time, replica), the same way on
every replica. :func:`names_of` gives the stored names that stand for a person,
which the loaders and ``rm --person`` select on.

Standard library only: ``add`` stores names through here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from calibrate.selection import Selection

#: Characters that change a name's bytes but not how it looks.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def clean_name(name: str) -> str:
    """A name as it is stored and compared: NFC, no zero-width characters,
    no surrounding spaces. ASCII names (most) cost one check."""
    if name.isascii():
        return name.strip()
    import unicodedata

    return unicodedata.normalize("NFC", name.translate(ZERO_WIDTH)).strip()


class AliasMap:
    """The live aliases of a database, resolved: ``resolve(name)`` is the
    person a name stands for; ``broken`` the aliases a cycle made void."""

    def __init__(self, rows: Iterable[tuple[str, str, str, str]]):
        #: alias -> (person, stamp): the live records
        self.edges: dict[str, tuple[str, tuple[str, str]]] = {
            alias: (person, (at or "", replica or "")) for alias, person, at, replica in rows
        }
        self.broken: set[str] = set()
        self._break_cycles()
        self._resolved: dict[str, str] = {}

    def _break_cycles(self) -> None:
        """Drop, from each cycle, its alias with the oldest stamp (then the
        smallest name): every replica drops the same one."""
        while True:
            cycle = self._find_cycle()
            if not cycle:
                return
            oldest = min(cycle, key=lambda alias: (self.edges[alias][1], alias))
            self.broken.add(oldest)
            del self.edges[oldest]

    def _find_cycle(self) -> list[str]:
        done: set[str] = set()
        for start in sorted(self.edges):
            path: list[str] = []
            seen: dict[str, int] = {}
            name = start
            while name in self.edges and name not in done:
                if name in seen:
                    return path[seen[name] :]
                seen[name] = len(path)
                path.append(name)
                name = self.edges[name][0]
            done.update(path)
        return []

    def resolve(self, name: str) -> str:
        """The person ``name`` stands for (itself when it is nobody's alias)."""
        found = self._resolved.get(name)
        if found is None:
            person = name
            for _ in range(len(self.edges) + 1):
                edge = self.edges.get(person)
                if edge is None:
                    break
                person = edge[0]
            found = self._resolved[name] = person
        return found

    def names_of(self, person: str) -> list[str]:
        """Every name that stands for ``person`` (the person first)."""
        target = self.resolve(person)
        return [target, *sorted(a for a in self.edges if a != target and self.resolve(a) == target)]

    def as_dict(self) -> dict[str, str]:
        """alias -> person, resolved (for mapping many names at once)."""
        return {alias: self.resolve(alias) for alias in self.edges}


def alias_map(conn: sqlite3.Connection) -> AliasMap:
    """The database's live aliases (one small read)."""
    return AliasMap(
        conn.execute(
            "SELECT alias, person, stamp_at, stamp_replica FROM aliases WHERE deleted = 0"
        ).fetchall()
    )


def canonical_person(conn: sqlite3.Connection, name: str) -> str:
    """The person a name stands for, after aliases (the name cleaned first)."""
    name = clean_name(name)
    if conn.execute("SELECT 1 FROM aliases WHERE deleted = 0 LIMIT 1").fetchone() is None:
        return name  # no aliases at all: the common case costs one indexed read
    return alias_map(conn).resolve(name)


def names_of(conn: sqlite3.Connection, person: str) -> list[str]:
    """The stored names that stand for ``person`` (it first): what a scope
    ``--person`` selects, and what ``rm --person`` removes."""
    name = clean_name(person)
    if conn.execute("SELECT 1 FROM aliases WHERE deleted = 0 LIMIT 1").fetchone() is None:
        return [name]
    return alias_map(conn).names_of(name)


def resolve_person(conn: sqlite3.Connection, selection: Selection) -> Selection:
    """The selection with its person's aliases resolved (law 7): ``--person
    jdoe`` becomes ``Jane Doe``, selecting the tasks stored under every name
    that stands for her (``Jane Doe``, ``jdoe``, ...) and no other. The one
    place a scope's person meets the aliases (the loaders call it too)."""
    if selection.person is None:
        return selection
    name = clean_name(selection.person)
    if conn.execute("SELECT 1 FROM aliases WHERE deleted = 0 LIMIT 1").fetchone() is None:
        return selection.replace(person=name)
    aliases = alias_map(conn)
    person = aliases.resolve(name)
    return selection.replace(person=person, names=aliases.names_of(person))
