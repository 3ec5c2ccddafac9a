"""The core's import graph, read from the code (every `import`, at the top or inside a
function): no circle between packages or between files, and no arrow upward in the
dependency order of the design."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "skvm_core"

# Higher imports lower, never the other way (equal ranks do not import each other).
RANK = {
    "cli": 10,
    "commands": 9,
    "optimize": 8,
    "bench": 7,
    "jit": 6,
    "run": 5,
    "compile": 5,
    "profile": 4,
    "harness": 3,
    "executors": 3,
    "agent": 2,
    "serve": 2,
    "grading": 2,
    "llm": 1,
}
# What every package may use; these import nothing ranked.
SHARED = {"catalog", "skill", "store", "errors", "config", "printable", "textdiff", "skvm_core"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in CORE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts).removesuffix(".__init__")] = path
    return found


def _module_graph() -> dict[str, set[str]]:
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            named: list[str] = []
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                # `from pkg import mod` imports the module `pkg.mod` when there is one.
                named = [f"{node.module}.{alias.name}" for alias in node.names]
            for target in (owner(n) for n in named if n.startswith("skvm_core")):
                # A module's own package `__init__` is loaded before it anyway.
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _package(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for source, targets in _module_graph().items():
        for target in targets:
            if _package(source) != _package(target):
                graph[_package(source)].add(_package(target))
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    nodes = set(graph) | {t for targets in graph.values() for t in targets}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_circle_between_packages():
    assert _circles(_package_graph()) == []


def test_no_circle_between_files():
    assert _circles(_module_graph()) == []


def test_every_package_has_a_place_in_the_order():
    packages = {_package(m) for m in _modules()}
    assert packages <= set(RANK) | SHARED, packages - set(RANK) - SHARED


def test_no_package_imports_one_above_it():
    upward = []
    for source, targets in _package_graph().items():
        for target in targets:
            if source in SHARED and target not in SHARED:
                upward.append(f"{source} -> {target} (shared code imports a layer)")
            elif source in RANK and target in RANK and RANK[target] >= RANK[source]:
                upward.append(f"{source} -> {target}")
    assert upward == []


def test_the_run_layer_stands_below_bench_jit_and_optimize():
    graph = _package_graph()
    forbidden = [
        ("jit", "bench"),
        ("bench", "optimize"),
        ("run", "bench"),
        ("run", "jit"),
        ("run", "optimize"),
        ("jit", "optimize"),
    ]
    assert [pair for pair in forbidden if pair[1] in graph.get(pair[0], set())] == []
