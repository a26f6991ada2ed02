"""The import graph of ``src/calibrate``, read with ``ast``, and the tables of ARCHITECTURE.md.

One reader serves two readers of the graph: ``tests/test_layers.py``, which fails
on a broken never of PRODUCT.md "Layers", and ARCHITECTURE.md, whose module and
package tables are written from it by cog, so that the map cannot drift from the
code:

    .venv/bin/cog -r ARCHITECTURE.md                  # rewrite the tables (make docs)
    .venv/bin/cog --check ARCHITECTURE.md             # fail when they are stale (make test)
    .venv/bin/python scripts/architecture.py          # the module table, on stdout
    .venv/bin/python scripts/architecture.py --edges  # every import, one a line

What counts as an import: every ``import`` and ``from ... import`` statement,
wherever it is (relative ones resolved), ``importlib.import_module("name")``
with a literal name, and a registry of lazily loaded objects, a dict whose
values are all ``"module:attribute"`` strings naming modules of the package
(the command line's ``LAZY_COMMANDS``). Each import has a level:

- ``module``: runs when the module is imported (top level, a class body, a
  top-level ``if`` or ``try``);
- ``lazy``: runs when a function runs (inside a ``def`` or ``lambda``), or when
  a registry entry is loaded by name;
- ``typing``: under ``if TYPE_CHECKING:``, never at run time.

``from package import name`` is an import of the module ``package.name`` when
that module exists, else of ``package``. Importing a module also runs its
parent packages' ``__init__``: :meth:`Graph.closure` follows those implicit
edges, the cycle search does not (a package importing its own modules is how
packages work; a module importing its package back is a cycle).

Standard library only, so that it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "src"
PACKAGE = "calibrate"

MODULE, LAZY, TYPING = "module", "lazy", "typing"
#: Imports that run: the cycle search and the layer rules count these.
RUNTIME = (MODULE, LAZY)


@dataclass(frozen=True)
class Import:
    """One import: who imports what, where and when."""

    importer: str  # a module of the package, dotted: calibrate.stats.hints
    target: str  # a module of the package, or an outside module as written (numpy.typing)
    level: str  # MODULE, LAZY or TYPING
    line: int
    function: str | None  # the enclosing function's qualified name, for LAZY
    statement: str  # the source, as ast.unparse gives it back

    @property
    def top(self) -> str:
        """The top-level name: ``numpy`` for ``numpy.typing``."""
        return self.target.split(".")[0]

    def where(self, graph: Graph) -> str:
        shown = graph.modules[self.importer].path.relative_to(graph.root.parent)
        inside = f" (in {self.function})" if self.function else ""
        return f"{shown}:{self.line} {self.level}{inside}: {self.statement}"


@dataclass
class Module:
    name: str
    path: Path
    purpose: str  # the docstring's first paragraph, on one line
    lines: int


@dataclass
class Graph:
    """The modules of one package and every import they make."""

    package: str
    root: Path  # the package's directory
    modules: dict[str, Module] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)

    def internal(self, name: str) -> bool:
        return name == self.package or name.startswith(self.package + ".")

    def imports_of(self, module: str, levels: Iterable[str] = RUNTIME) -> list[Import]:
        levels = tuple(levels)
        return [i for i in self.imports if i.importer == module and i.level in levels]

    def edges(self, levels: Iterable[str] = RUNTIME) -> dict[str, set[str]]:
        """Module -> the modules of the package it imports itself (no parents)."""
        levels = tuple(levels)
        result: dict[str, set[str]] = {name: set() for name in self.modules}
        for item in self.imports:
            if item.level in levels and item.target in self.modules:
                result[item.importer].add(item.target)
        return result

    def closure(
        self, roots: Iterable[str], levels: Iterable[str] = (MODULE,)
    ) -> dict[str, Import | None]:
        """Everything importing ``roots`` runs, following imports of ``levels``
        and the implicit imports of parent packages: name -> the import that
        first reached it (``None`` for a root or a parent package). Outside
        modules appear under their full dotted name, as imported."""
        levels = tuple(levels)
        reached: dict[str, Import | None] = {}
        queue: deque[str] = deque()

        def visit(name: str, via: Import | None) -> None:
            if name in reached:
                return
            reached[name] = via
            if name in self.modules:
                queue.append(name)

        for root in roots:
            visit(root, None)
        while queue:
            name = queue.popleft()
            parent = name.rpartition(".")[0]
            if parent and parent in self.modules:
                visit(parent, reached[name])
            for item in self.imports_of(name, levels):
                visit(item.target, item)
        return reached

    def chain(self, reached: dict[str, Import | None], name: str) -> list[Import]:
        """The imports that led from a root to ``name`` in a :meth:`closure`."""
        path: list[Import] = []
        via = reached.get(name)
        while via is not None and via not in path:
            path.append(via)
            via = reached.get(via.importer)
        return path[::-1]


# --- reading ---------------------------------------------------------------------------


def module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def read_package(root: Path = SOURCE / PACKAGE, package: str | None = None) -> Graph:
    """Read every module under ``root`` (a package directory) and its imports."""
    package = package or root.name
    graph = Graph(package=package, root=root)
    trees: dict[str, tuple[ast.Module, bool]] = {}
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        name = module_name(path, root, package)
        docstring = ast.get_docstring(tree) or ""
        purpose = " ".join(docstring.split("\n\n")[0].split())
        graph.modules[name] = Module(name, path, purpose, len(text.splitlines()))
        trees[name] = (tree, path.name == "__init__.py")
    for name, (tree, is_package) in trees.items():
        base = name if is_package else name.rpartition(".")[0]
        _Reader(graph, name, base).visit(tree)
    return graph


class _Reader(ast.NodeVisitor):
    """Collects one module's imports, with their level and enclosing function."""

    def __init__(self, graph: Graph, module: str, base: str):
        self.graph, self.module, self.base = graph, module, base
        self.scope: list[str] = []  # enclosing classes and functions
        self.in_function = 0
        self.in_typing = 0

    # where we are

    def _level(self) -> str:
        if self.in_typing:
            return TYPING
        return LAZY if self.in_function else MODULE

    def _function(self) -> str | None:
        return ".".join(self.scope) if self.in_function else None

    def _scoped(self, node: ast.AST, name: str, function: bool) -> None:
        self.scope.append(name)
        self.in_function += function
        self.generic_visit(node)
        self.in_function -= function
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node, node.name, True)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scoped(node, node.name, True)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scoped(node, "<lambda>", True)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node, node.name, False)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        typing_only = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        if not typing_only:
            self.generic_visit(node)
            return
        self.visit(node.test)
        self.in_typing += 1
        for child in node.body:
            self.visit(child)
        self.in_typing -= 1
        for child in node.orelse:
            self.visit(child)

    # what is imported

    def _add(self, node: ast.AST, target: str, statement: str | None = None) -> None:
        self.graph.imports.append(
            Import(
                importer=self.module,
                target=target,
                level=self._level(),
                line=node.lineno,
                function=self._function(),
                statement=statement or ast.unparse(node),
            )
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":
            return
        if node.level:
            parts = self.base.split(".")
            if node.level - 1 >= len(parts):
                raise ValueError(f"{self.module}: relative import beyond the package")
            source = ".".join(parts[: len(parts) - (node.level - 1)])
            source = f"{source}.{node.module}" if node.module else source
        else:
            source = node.module or ""
        targets = []  # one import per module, in order: ``from a import b, c`` is one of a
        for alias in node.names:
            candidate = f"{source}.{alias.name}"
            target = candidate if candidate in self.graph.modules else source
            if target not in targets:
                targets.append(target)
        for target in targets:
            self._add(node, target)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        literal = node.args and isinstance(node.args[0], ast.Constant)
        if name == "import_module" and literal and isinstance(node.args[0].value, str):
            self._add(node, node.args[0].value)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self._registry(node.targets[0], node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._registry(node.target, node.value)
        self.generic_visit(node)

    def _registry(self, target: ast.AST, value: ast.AST | None) -> None:
        """A registry of objects loaded by name when first used,
        ``NAME = {"key": "package.module:attribute", ...}``: lazy imports of each module."""
        if not (isinstance(target, ast.Name) and isinstance(value, ast.Dict) and value.values):
            return
        entries = [v for v in value.values if isinstance(v, ast.Constant)]
        names = [v.value.partition(":")[0] for v in entries if isinstance(v.value, str)]
        if len(names) != len(value.values) or not all(n in self.graph.modules for n in names):
            return
        for entry, name in zip(entries, names, strict=True):
            self.graph.imports.append(
                Import(
                    importer=self.module,
                    target=name,
                    level=TYPING if self.in_typing else LAZY,
                    line=entry.lineno,
                    function=".".join([*self.scope, target.id]),
                    statement=f"{target.id}[...] = {entry.value!r}",
                )
            )


# --- writing ---------------------------------------------------------------------------


def short(graph: Graph, name: str) -> str:
    """``stats.hints`` for ``calibrate.stats.hints``; outside modules by their top name."""
    if not graph.internal(name):
        return name.split(".")[0]
    return name.removeprefix(graph.package + ".") if name != graph.package else name


def _listed(graph: Graph, imports: Iterable[Import], exclude: str) -> str:
    """The package's modules first, then the outside packages that are not the standard library."""
    inside = sorted(
        {short(graph, i.target) for i in imports if graph.internal(i.target)} - {exclude}
    )
    outside = sorted(
        {i.top for i in imports if not graph.internal(i.target)} - set(sys.stdlib_module_names)
    )
    return ", ".join([*(f"`{n}`" for n in inside), *outside])


def _order(graph: Graph, name: str) -> tuple:
    """Top-level modules first, then each package with its modules."""
    parts = name.split(".")
    nested = len(parts) > 2 or (len(parts) == 2 and (graph.root / parts[1]).is_dir())
    return (nested, name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "-"


def module_table(graph: Graph | None = None) -> str:
    """Every module: what its docstring says it holds, what it imports when it
    is imported and inside its functions (the package's modules in backticks,
    then third-party packages; the standard library left out). Sizes are left
    out on purpose: they would make the file stale at every edit."""
    graph = graph or read_package()
    rows = [
        "| module | holds | imports | later, inside functions |",
        "|---|---|---|---|",
    ]
    for name in sorted(graph.modules, key=lambda n: _order(graph, n)):
        module = graph.modules[name]
        now = _listed(graph, graph.imports_of(name, (MODULE,)), short(graph, name))
        later_imports = graph.imports_of(name, (LAZY,))
        later = _listed(graph, later_imports, short(graph, name))
        rows.append(
            f"| `{short(graph, name)}` | {_cell(module.purpose)} | {_cell(now)} | {_cell(later)} |"
        )
    return "\n".join(rows) + "\n"


def package_of(graph: Graph, name: str) -> str:
    """The layer a module belongs to: its subpackage, or ``calibrate`` for the top
    modules (``__main__``, the entry point of ``python -m calibrate``, is the command line's)."""
    if name == f"{graph.package}.__main__":
        name = f"{graph.package}.cli"
    parts = name.split(".")
    if len(parts) > 1 and (graph.root / parts[1]).is_dir():
        return ".".join(parts[:2])
    return graph.package


def package_table(graph: Graph | None = None) -> str:
    """The layers: which package's modules import which other package's, at all."""
    graph = graph or read_package()
    packages = sorted(
        {package_of(graph, n) for n in graph.modules}, key=lambda n: (n != graph.package, n)
    )
    rows = [
        "| package | modules | imports (when imported) | later, inside functions |",
        "|---|---:|---|---|",
    ]
    for package in packages:
        members = [m for n, m in graph.modules.items() if package_of(graph, n) == package]
        levels = {}
        for level in (MODULE, LAZY):
            targets = {
                package_of(graph, i.target)
                for m in members
                for i in graph.imports_of(m.name, (level,))
                if i.target in graph.modules
            }
            levels[level] = sorted(targets - {package})
        later = [t for t in levels[LAZY] if t not in levels[MODULE]]
        title = {
            graph.package: f"`{graph.package}` (top-level modules)",
            f"{graph.package}.cli": "`cli/` (and `__main__`)",
        }.get(package, f"`{short(graph, package)}/`")
        rows.append(
            f"| {title} | {len(members)} "
            f"| {_cell(_layers(graph, levels[MODULE]))} | {_cell(_layers(graph, later))} |"
        )
    return "\n".join(rows) + "\n"


def _layers(graph: Graph, packages: list[str]) -> str:
    return ", ".join(
        "top-level" if p == graph.package else f"`{short(graph, p)}`" for p in packages
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", action="store_true", help="every import, one a line")
    parser.add_argument("--packages", action="store_true", help="the package table")
    args = parser.parse_args(argv)
    graph = read_package()
    if args.edges:
        for item in graph.imports:
            print(f"{item.importer} -> {item.target}  [{item.where(graph)}]")
    elif args.packages:
        print(package_table(graph), end="")
    else:
        print(module_table(graph), end="")


if __name__ == "__main__":
    main()
