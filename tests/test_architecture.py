"""The package map holds (design §3): no import cycles, and carriers/ sees only the core.

Imports are read with `ast`, not by importing: every import that runs counts (at module
level or inside a function), those under `if TYPE_CHECKING:` do not. `from a import b` is an
edge to the module `a.b` when that is a module, else to `a` (its `__init__`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tracking", "carriers")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under `node` that runs, skipping `if TYPE_CHECKING:` bodies."""
    yield from _imports_in(list(ast.iter_child_nodes(node)))


def _imports_in(nodes: list[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in nodes:
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            yield from _imports_in(list(child.orelse))
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        yield from _runtime_imports(child)


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _edges(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    targets: set[str] = set()
    for node in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        source = _resolve(module, path, node)
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            targets.add(sub if sub in MODULES else source)
    return {t for t in targets if t in MODULES and t != module}


GRAPH = {module: _edges(module, path) for module, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_whole_code() -> None:
    assert len(MODULES) > 100
    assert "carriers.kit.factory" in GRAPH["carriers.kit"]
    assert "tracking.core.numbers" in GRAPH["carriers.kit.matching"]


OWN_LAYERS = ("carriers", "tracking.core", "tracking.sandbox", "tracking.fetch")


def test_no_import_cycle_touches_the_carriers_the_core_the_sandbox_or_fetch() -> None:
    touching = [c for c in _cycles(GRAPH) if any(m.startswith(OWN_LAYERS) for m in c)]
    assert touching == []


def test_no_import_cycles_in_tracking_and_carriers() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_type_checking_imports_do_not_count() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import tracking.store\nelse:\n    import tracking.read\n"
        "def f():\n    import tracking.judge\n"
    )
    names = {a.name for n in _runtime_imports(tree) for a in n.names}
    assert names == {"TYPE_CHECKING", "tracking.read", "tracking.judge"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("carriers")))
def test_carriers_import_only_the_core_from_tracking(module: str) -> None:
    """Design §3: carriers/ depends on core types, exceptions and its own HTTP layer only."""
    outside = sorted(
        t for t in GRAPH[module] if t.startswith("tracking") and not t.startswith("tracking.core")
    )
    assert outside == [], f"{module} imports {outside}"


def test_the_core_imports_nothing_above_it() -> None:
    for module, targets in GRAPH.items():
        if module.startswith("tracking.core"):
            above = sorted(t for t in targets if not t.startswith("tracking.core"))
            assert above == [], f"{module} imports {above}"


MAX_LINES = 500


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_500_lines(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, (
        f"{MODULES[module].relative_to(ROOT)}: {lines} lines; split it by role"
    )


_BUILDERS = {"select", "insert", "update", "delete", "text", "union", "exists"}
_RUNNERS = {"execute", "executemany", "exec_driver_sql", "scalars", "scalar"}


def _sql_calls(tree: ast.AST) -> list[int]:
    """Lines that build a statement (`sa.select(...)`) or run one (`connection.execute(...)`)."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        builder = (
            node.func.attr in _BUILDERS
            and isinstance(owner, ast.Name)
            and owner.id in {"sa", "sqlalchemy"}
        )
        if builder or node.func.attr in _RUNNERS:
            found.append(node.lineno)
    return found


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if m.startswith("tracking.") and ".store" not in m)
)
def test_only_the_store_speaks_sql(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    assert _sql_calls(tree) == [], f"{module}: SQL outside tracking.store (lines above)"


def test_the_sql_finder_finds_sql() -> None:
    found = _sql_calls(ast.parse("rows = connection.execute(sa.select(t.c.id))"))
    assert found == [1, 1]
