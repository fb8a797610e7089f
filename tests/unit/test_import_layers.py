"""The services import each other without circles: jobs travel as data, so no service imports
the module that carries a job out in order to hand it over, and none imports `jobs/`."""

from __future__ import annotations

import ast
from pathlib import Path

import strongbox.services

SERVICES = Path(strongbox.services.__file__).parent


def imported_services(tree: ast.AST, module_level: bool) -> set[str]:
    """The `strongbox.services` modules a module imports, at module level or inside functions."""
    found: set[str] = set()
    nodes = (
        ast.iter_child_nodes(tree)
        if module_level
        else (
            inner
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for inner in ast.walk(node)
        )
    )
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "strongbox.services":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("strongbox.services."):
                found.add(node.module.split(".")[2])
    return found


def parsed() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in SERVICES.glob("*.py")}


def test_the_services_module_imports_form_no_circle() -> None:
    modules = parsed()
    graph = {name: imported_services(tree, True) & set(modules) for name, tree in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import circle: " + " -> ".join([*path, name]))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_no_service_imports_the_job_runners_or_a_run_module_to_hand_a_job_over() -> None:
    late = {
        (name, imported)
        for name, tree in parsed().items()
        for imported in imported_services(tree, module_level=False)
    }
    # No service imports another inside a function: the last such pair (restores and
    # new_instances) went with the split of restores into restore_inputs and restore_rows.
    assert late == set()
    for path in SERVICES.glob("*.py"):
        text = path.read_text()
        assert "from strongbox.jobs" not in text, path.name
        assert "import strongbox.jobs" not in text, path.name
