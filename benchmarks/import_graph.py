"""The grader's import graph: no cycles, and no stage importing a later stage.

    python benchmarks/import_graph.py            # summary; exit 1 on a cycle or an upward import
    python benchmarks/import_graph.py --edges    # also every edge (module -> module)

Every ``import`` of a ``grader`` module, at module level or inside a function (a lazy import
is still a dependency), is an edge between two modules of ``grader/``.  The checks:

* **no cycles** among module-level imports (what Python executes at import time), nor among
  all imports taken together;
* **no upward imports**: each module belongs to one layer of :data:`LAYERS` (the pipeline in
  order, then what is built on it) and imports only modules of its own layer or earlier ones.

``tests/test_architecture.py`` runs :func:`check` so the suite keeps the graph this way.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "grader"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("data", ("grader", "grader.results", "grader.rubric", "grader.machine", "grader.course_secrets")),
    ("sandbox", ("grader.sandbox", "grader.worker")),
    ("discover", ("grader.discover",)),
    ("expected", ("grader.expected",)),
    ("checks", ("grader.checks",)),
    ("diagnose", ("grader.diagnose",)),
    ("score", ("grader.score",)),
    ("report", ("grader.report",)),
    ("pipeline", ("grader.pipeline", "grader.written")),
    ("deployments", ("grader.packaging", "grader.gradescope", "grader.batch", "grader.kit",
                     "grader.verify_reference", "grader.corpus")),
    ("cli", ("grader.commands", "grader.cli", "grader.__main__")),
)
"""Layers, earliest first: a module is in the layer of the longest prefix that names it."""


@dataclass
class Graph:
    """Modules of ``grader/`` (dotted name -> line count) and import edges (importer, imported, lazy)."""

    modules: dict[str, int] = field(default_factory=dict)
    edges: set[tuple[str, str, bool]] = field(default_factory=set)


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def build_graph(package: Path = PACKAGE) -> Graph:
    """Every module of ``package`` (files in folders without ``__init__.py`` are data, not modules)."""
    graph = Graph()
    files = sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts
                   and all((d / "__init__.py").is_file() for d in p.parents if package in (d, *d.parents)))
    for path in files:
        graph.modules[module_name(path, package.parent)] = len(path.read_text(encoding="utf-8").splitlines())
    for path in files:
        importer = module_name(path, package.parent)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        lazy_nodes = {id(n) for top in tree.body if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                   ast.ClassDef)) for n in ast.walk(top)}
        for node in ast.walk(tree):
            for target in _targets(node, importer, is_package, graph.modules):
                resolved = _resolve(target, graph.modules)
                if resolved is not None and resolved != importer:
                    graph.edges.add((importer, resolved, id(node) in lazy_nodes))
    return graph


def _targets(node: ast.AST, importer: str, is_package: bool, modules: dict[str, int]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[:len(base) - node.level + 1]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    # "from grader.checks import speed" depends on the module grader.checks.speed (not on the package's
    # __init__ as such); "from grader.results import Status" on grader.results
    names = [f"{module}.{alias.name}" for alias in node.names]
    submodules = [n for n in names if n in modules]
    return submodules + ([module] if len(submodules) < len(names) else [])


def _resolve(name: str, modules: dict[str, int]) -> str | None:
    """The grader module ``name`` refers to (the longest known prefix), or None outside grader."""
    parts = name.split(".")
    if parts[0] != "grader":
        return None
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def layer_of(module: str) -> int:
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            below = module.startswith(prefix + ".") and prefix != "grader"  # "grader" is the package's __init__
            if (module == prefix or below) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    adjacency: dict[str, list[str]] = {}
    for a, b in edges:
        adjacency.setdefault(a, []).append(b)
        adjacency.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in adjacency[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(adjacency):
        if v not in index:
            visit(v)
    return found


def check(graph: Graph | None = None) -> list[str]:
    """Problems of the import graph (empty when there are none)."""
    graph = graph or build_graph()
    problems = []
    unplaced = sorted(m for m in graph.modules if layer_of(m) < 0)
    problems += [f"module {m} is in no layer of LAYERS" for m in unplaced]
    eager = {(a, b) for a, b, lazy in graph.edges if not lazy}
    problems += [f"import-time cycle: {' -> '.join(c)}" for c in cycles(eager)]
    problems += [f"cycle (lazy imports included): {' -> '.join(c)}"
                 for c in cycles({(a, b) for a, b, _ in graph.edges})]
    for a, b, lazy in sorted(graph.edges):
        if layer_of(b) > layer_of(a) >= 0:
            problems.append(f"upward import: {a} ({LAYERS[layer_of(a)][0]}) imports {b} "
                            f"({LAYERS[layer_of(b)][0]}){' (lazy)' if lazy else ''}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", action="store_true", help="print every edge")
    parser.add_argument("--package", type=Path, default=PACKAGE, help="the grader package folder (default: this one)")
    args = parser.parse_args(argv)
    graph = build_graph(args.package)
    problems = check(graph)
    eager = sum(1 for *_, lazy in graph.edges if not lazy)
    print(f"{len(graph.modules)} modules, {len(graph.edges)} imports between them "
          f"({eager} at module level, {len(graph.edges) - eager} inside functions)")
    for name, members in LAYERS:
        count = sum(1 for m in graph.modules if layer_of(m) >= 0 and LAYERS[layer_of(m)][0] == name)
        print(f"  {name:<12} {count:3d} modules  ({', '.join(members)})")
    if args.edges:
        for a, b, lazy in sorted(graph.edges):
            print(f"  {a} -> {b}{'  (lazy)' if lazy else ''}")
    print("\n".join(problems) if problems else "no cycles, no upward imports")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
