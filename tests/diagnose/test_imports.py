"""The package's layering: no import cycle, and the diagnosis loads no IO module."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "smtpdoctor"

# What "the diagnosis does no IO" means at import time: none of these is loaded.
IO_MODULES = (
    "socket",
    "ssl",
    "asyncio",
    "selectors",
    "subprocess",
    "dns.asyncquery",
    "dns.resolver",
    "smtpdoctor.net.connection",
    "smtpdoctor.net.errors",
    "smtpdoctor.net.trace",
    "smtpdoctor.net.tls",
    "smtpdoctor.probe.dns",
    "smtpdoctor.probe.mx",
    "smtpdoctor.probe.session",
    "smtpdoctor.probe.check",
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (anywhere in the file, TYPE_CHECKING too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
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


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_in_the_package() -> None:
    # Package __init__ modules import nothing of their children here, so edges to a
    # package are real dependencies on its __init__.
    assert cycles(import_graph()) == []


def _loaded_after(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


def test_importing_the_diagnosis_loads_no_io_module() -> None:
    loaded = _loaded_after("smtpdoctor.diagnose.rules")
    assert "smtpdoctor.diagnose.rules" in loaded
    assert sorted(loaded & set(IO_MODULES)) == []


def test_the_result_model_and_finding_load_no_io_module() -> None:
    for module in ("smtpdoctor.probe.results", "smtpdoctor.finding"):
        assert sorted(_loaded_after(module) & set(IO_MODULES)) == [], module
