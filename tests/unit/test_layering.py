"""The import layering of sops_py: no module imports one in a higher layer, and no two modules
import each other (directly or through others). Imports under ``if TYPE_CHECKING:`` are types only
and do not count; imports inside functions do."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

PKG = ROOT / "sops_py"

# Lowest first. A module's layer is that of the longest prefix listed here.
LAYERS: list[tuple[str, ...]] = [
    ("sops_py.errors", "sops_py.version", "sops_py.record", "sops_py.log", "sops_py.gotext", "sops_py.gofmt",
     "sops_py.goregexp", "sops_py.gobase64", "sops_py.crypto", "sops_py.shamir", "sops_py.tree", "sops_py.treepath"),
    ("sops_py.keys.registry",),
    ("sops_py.metadata", "sops_py.semver", "sops_py.rules", "sops_py.cipher", "sops_py.walk"),
    ("sops_py.keys", "sops_py.keyspec"),
    ("sops_py.stores",),
    ("sops_py.keyservice",),
    ("sops_py.datakey",),
    ("sops_py.config",),
    ("sops_py.ops",),
    ("sops_py.publish", "sops_py.settings"),
    ("sops_py.pydata", "sops_py.keychain"),
    ("sops_py.api",),
    ("sops_py.integrations",),
    ("sops_py.cli", "sops_py.__main__"),
    ("sops_py",),  # the package itself: only __init__, which re-exports
]


def _modules() -> dict[str, Path]:
    mods = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = p
    return mods


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in mods else target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    # importing one's own parent package (its __init__) is how a package's modules share a base
    return {m for m in out if m in mods and m != name and not name.startswith(m + ".")}


def _layer(name: str) -> int:
    best, level = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), i
    assert level >= 0, f"{name} has no layer: add it to LAYERS"
    return level


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, mods) for name, path in mods.items()}


def test_no_module_imports_a_higher_layer() -> None:
    bad = [f"{m} (layer {_layer(m)}) imports {d} (layer {_layer(d)})"
           for m, deps in _graph().items() for d in sorted(deps) if _layer(d) > _layer(m)]
    assert bad == []


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            connect(v)
    assert cycles == []


def test_the_check_sees_imports_inside_functions() -> None:
    """The graph includes lazy imports (the ones that keep start-up cheap), not only top-level ones."""
    assert "sops_py.keyservice.client" in _graph()["sops_py.datakey"]
