"""The layer rules of PRODUCT.md as functions of an import graph, for tests/test_layers.py.

The graph comes from ``scripts/architecture.py`` (the reader ARCHITECTURE.md is
written with). Each rule returns :class:`Violation` s naming the importing module,
what it imports and where; they take any graph, so that the checker itself is
tested on a small fake package.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: What the everyday commands must never load.
HEAVY = ("numpy", "pandas", "plotly", "sqlite_utils", "jinja2")
#: What the statistics must never import, besides the store package.
STATS_NEVER = ("sqlite3", "click")
#: The small standard-library modules at the top of the package (PRODUCT.md
#: "Layers"): all that the storage may import of the package besides itself.
FOUNDATION = ("errors", "clock", "durations", "identity", "selection", "rules", "text", "files")


def _load_architecture():
    """``scripts/architecture.py``, imported by its path (scripts/ is not a package)."""
    if "architecture" not in sys.modules:
        path = REPO / "scripts" / "architecture.py"
        spec = importlib.util.spec_from_file_location("architecture", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["architecture"] = module
        spec.loader.exec_module(module)
    return sys.modules["architecture"]


architecture = _load_architecture()
Graph, Import = architecture.Graph, architecture.Import
MODULE, LAZY, TYPING, RUNTIME = (
    architecture.MODULE,
    architecture.LAZY,
    architecture.TYPING,
    architecture.RUNTIME,
)
ALL_LEVELS = (MODULE, LAZY, TYPING)


@dataclass(frozen=True)
class Violation:
    rule: str
    importer: str
    imported: str
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.importer, self.imported)


# --- the rules, as functions of a graph (so that they can be tested on a fake one) ----------


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _via(graph: Graph, reached: dict, item: Import) -> str:
    """``a -> b -> c``: how a root reached an import, and where each step is."""
    steps = [*graph.chain(reached, item.importer), item]
    lines = "\n".join(f"      {step.where(graph)}" for step in steps)
    return " -> ".join([steps[0].importer, *(s.target for s in steps)]) + "\n" + lines


def cli_violations(graph: Graph) -> list[Violation]:
    """1. The library never imports the command line (``__main__`` is the command line)."""
    face = f"{graph.package}.cli"
    return [
        Violation(
            "cli",
            i.importer,
            i.target,
            f"the library imports the command line: "
            f"{i.importer} imports {i.target}\n      {i.where(graph)}",
        )
        for i in graph.imports
        if _in(i.target, face)
        and not _in(i.importer, face)
        and i.importer != f"{graph.package}.__main__"
    ]


def stats_violations(graph: Graph) -> list[Violation]:
    """2. The statistics never reach the store, sqlite3 or click, even through another module."""
    stats, store = f"{graph.package}.stats", f"{graph.package}.store"

    def forbidden(name: str) -> bool:
        return _in(name, store) or name.split(".")[0] in STATS_NEVER

    roots = [name for name in graph.modules if _in(name, stats)]
    reached = _closure(graph, roots, ALL_LEVELS, stop=forbidden)
    found = []
    for item in graph.imports:
        if item.importer in reached and not forbidden(item.importer) and forbidden(item.target):
            imported = item.target if graph.internal(item.target) else item.top
            found.append(
                Violation(
                    "stats",
                    item.importer,
                    imported,
                    f"the statistics reach {imported}: {_via(graph, reached, item)}",
                )
            )
    return found


def store_violations(graph: Graph) -> list[Violation]:
    """2b. The storage imports, of the package, itself and the :data:`FOUNDATION`
    alone, itself or through the modules it imports: no statistics, report,
    exchange, orchestrator (panel, advice, teams, hinting) or command line."""
    store = f"{graph.package}.store"
    allowed = {graph.package, *(f"{graph.package}.{name}" for name in FOUNDATION)}

    def outside(name: str) -> bool:
        return graph.internal(name) and not _in(name, store) and name not in allowed

    roots = [name for name in graph.modules if _in(name, store)]
    reached = _closure(graph, roots, ALL_LEVELS, stop=outside)
    return [
        Violation(
            "store",
            item.importer,
            item.target,
            f"the storage reaches {item.target}: {_via(graph, reached, item)}",
        )
        for item in graph.imports
        if item.importer in reached and item.target in graph.modules and outside(item.target)
    ]


def _closure(graph: Graph, roots, levels, stop) -> dict:
    """Like :meth:`Graph.closure`, without going through modules ``stop`` accepts."""
    reached: dict = {root: None for root in roots}
    queue = list(roots)
    while queue:
        name = queue.pop()
        for item in graph.imports_of(name, levels):
            if item.target not in reached and item.target in graph.modules:
                reached[item.target] = item
                if not stop(item.target):
                    queue.append(item.target)
    return {name: via for name, via in reached.items() if not stop(name)}


def cycles(graph: Graph, ignore: set[tuple[str, str]] = frozenset()) -> list[list[str]]:
    """The strongly connected components (of two or more modules, or a module
    importing itself) of the run-time imports, without the ``ignore`` edges."""
    edges = {
        name: targets - {t for (f, t) in ignore if f == name}
        for name, targets in graph.edges(RUNTIME).items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm; the graph is small
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return components


def cycle_violations(graph: Graph, ignore: set[tuple[str, str]] = frozenset()) -> list[Violation]:
    """3. No cycle: one violation per cycle, naming every import in it."""
    found = []
    for component in cycles(graph, ignore):
        members = set(component)
        inside = [
            i
            for i in graph.imports
            if i.level in RUNTIME
            and i.importer in members
            and i.target in members
            and (i.importer, i.target) not in ignore
        ]
        path = _shortest_cycle(component[0], {(i.importer, i.target) for i in inside})
        shown = {}  # one line per edge and level: the first such import
        for item in inside:
            shown.setdefault((item.importer, item.target, item.level), item)
        lines = "\n".join(f"      {i.where(graph)}" for i in shown.values())
        message = f"import cycle: {' -> '.join(path)}\n{lines}"
        found.append(Violation("cycle", inside[0].importer, inside[0].target, message))
    return found


def _shortest_cycle(start: str, edges: set[tuple[str, str]]) -> list[str]:
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for source, target in sorted(edges):
            if source != node:
                continue
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    return [start]


def everyday_violations(graph: Graph, roots: dict[str, set[str]]) -> list[Violation]:
    """4. What each everyday command loads (module-level closure of its roots)
    holds none of :data:`HEAVY`."""
    found: dict[tuple[str, str], Violation] = {}
    for command, modules in roots.items():
        reached = graph.closure(modules, (MODULE,))
        for item in graph.imports:
            if item.level == MODULE and item.importer in reached and item.top in HEAVY:
                key = (item.importer, item.top)
                if key not in found:
                    found[key] = Violation(
                        "everyday",
                        item.importer,
                        item.top,
                        f"'calibrate {command}' loads {item.top}: {_via(graph, reached, item)}",
                    )
    return list(found.values())


def rules_violations(graph: Graph) -> list[Violation]:
    """5. ``rules`` imports the standard library alone at module level."""
    rules = f"{graph.package}.rules"
    return [
        Violation(
            "rules",
            rules,
            i.target,
            f"{rules} imports more than the standard library at module level: {i.where(graph)}",
        )
        for i in graph.imports_of(rules, (MODULE,))
        if graph.internal(i.target) or i.top not in sys.stdlib_module_names
    ]


def all_violations(graph: Graph, roots: dict[str, set[str]]) -> list[Violation]:
    return [
        *cli_violations(graph),
        *stats_violations(graph),
        *store_violations(graph),
        *cycle_violations(graph),
        *everyday_violations(graph, roots),
        *rules_violations(graph),
    ]
