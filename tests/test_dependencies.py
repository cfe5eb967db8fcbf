"""The dependency rule, read from the source: every ``import`` of every module under
``crm/`` (at any level: inside functions and ``TYPE_CHECKING`` blocks too).

- ``crm.events`` imports nothing else of ours;
- the inner packages never import the edges (``crm.api``, ``crm.cli``, ``crm.sandbox``);
- no module of crm takes part in an import cycle, however deep the import sits, and
  neither does a package (``crm.media`` importing ``crm.sender`` importing ``crm.media``
  is a cycle even when the modules involved differ).

An import names its module: ``from crm.a import b`` is an import of ``crm.a.b`` when
that is a module, else of ``crm.a`` (its ``__init__``). The implicit import of a
module's parent packages is not counted: it is how Python packages work, not a choice.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "crm"

INNER = ("crm.projections", "crm.whatsapp", "crm.media", "crm.sender", "crm.stream",
         "crm.auth", "crm.audit", "crm.customers", "crm.jobs", "crm.google", "crm.team")
EDGES = ("crm.api", "crm.cli", "crm.sandbox")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of crm that ``name`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                sub = f"{origin}.{alias.name}"
                found.add(sub if sub in known else origin)
    return {module for module in found if _within(module, "crm") and module in known}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) - {name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
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
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_at_every_level() -> None:
    graph = _graph()
    assert len(graph) > 100
    assert "crm.events.store" in graph["crm.events"]  # from a package's own __init__
    assert "crm.api.app" in graph["crm.api"]
    assert "crm.cli.serve" not in graph["crm.cli"]  # a dynamic import is no import


def test_cycles_are_found_through_function_local_imports(tmp_path: Path) -> None:
    graph = {"crm.a": {"crm.b"}, "crm.b": {"crm.c"}, "crm.c": {"crm.a"}, "crm.d": {"crm.a"}}
    assert _cycles(graph) == [["crm.a", "crm.b", "crm.c"]]
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from crm.a import thing\n    import crm.b\n")
    assert _imports("crm.x", source, {"crm.a", "crm.b"}) == {"crm.a", "crm.b"}


def test_events_import_nothing_of_ours() -> None:
    wrong = {f"{name} imports {target}"
             for name, targets in _graph().items() if _within(name, "crm.events")
             for target in targets if not _within(target, "crm.events")}
    assert not wrong, sorted(wrong)


def test_inner_packages_never_import_the_edges() -> None:
    wrong = {f"{name} imports {target}"
             for name, targets in _graph().items() if any(_within(name, p) for p in INNER)
             for target in targets if any(_within(target, edge) for edge in EDGES)}
    assert not wrong, sorted(wrong)


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def _package(name: str) -> str:
    return ".".join(name.split(".")[:2])


def test_no_import_cycles_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for name, targets in _graph().items():
        packages.setdefault(_package(name), set()).update(
            _package(target) for target in targets if _package(target) != _package(name))
    assert _cycles(packages) == []
