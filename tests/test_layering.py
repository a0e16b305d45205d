"""The package's floors, read from its import statements: pure stages in the middle, I/O at the edges,
orchestration on top. A new module goes on one floor here; a new import that crosses a floor fails."""

from __future__ import annotations

import ast
from pathlib import Path

import compensation_report

PACKAGE = Path(compensation_report.__file__).parent

# Shared data types: imports none of our modules.
TYPES = {"model"}
# Pure: values in, values out; no file, process, database or network.
PURE = TYPES | {"schema", "values", "validate", "standard", "pricing", "periods", "codec", "tables", "labels",
                "cells", "errors"}
# One kind of I/O each: reading workbooks, child processes, the ledger, the workspace's folders, email,
# writing workbooks. They may use pure modules, and only the edges listed here.
EDGES = {"workbooks": {"isolation"}, "isolation": set(), "ledger": set(), "workspace": set(), "resources": set(),
         "mail": {"ledger", "workspace", "resources"}, "input_templates": set(), "xlsx": {"xlsx_rows"},
         "xlsx_rows": {"isolation"}}
# Orchestration: a command's steps, in order; may use anything below.
TOP = {"checking", "results", "dispatch", "pipeline", "status", "cli", "reference", "__main__", "__init__"}

IO_LIBRARIES = {"os", "sys", "shutil", "tempfile", "sqlite3", "smtplib", "ssl", "socket", "subprocess",
                "multiprocessing", "python_calamine", "openpyxl", "zipfile", "email", "jinja2", "click", "rich",
                "logging", "pathlib", "io", "fcntl", "signal", "xlsxwriter"}
PURE_EXCEPTIONS = {"xlsxwriter.utility"}  # A1 cell names: string functions


def imports_of(module: str) -> tuple[set[str], set[str]]:
    """Our modules and the outside modules that `module` imports, outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    ours: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "compensation_report":
                ours |= {alias.name for alias in node.names if (PACKAGE / f"{alias.name}.py").exists()}
            elif node.module.startswith("compensation_report."):
                ours.add(node.module.split(".")[1])
            else:
                outside.add(node.module)
        elif isinstance(node, ast.Import):
            outside |= {alias.name for alias in node.names}
    return ours, outside


def modules() -> list[str]:
    return sorted(p.stem for p in PACKAGE.glob("*.py"))


def test_every_module_is_on_one_floor():
    floors = [TYPES, PURE - TYPES, set(EDGES), TOP]
    assert [m for m in modules() if sum(m in floor for floor in floors) != 1] == []


def test_the_shared_types_import_none_of_ours_and_no_io():
    for module in TYPES:
        ours, outside = imports_of(module)
        assert ours == set() and not {m.split(".")[0] for m in outside} & IO_LIBRARIES, module


def test_pure_modules_use_only_pure_modules_and_no_io_library():
    for module in sorted(PURE):
        ours, outside = imports_of(module)
        assert ours <= PURE, f"{module} imports {sorted(ours - PURE)}"
        io = {m for m in outside if m.split(".")[0] in IO_LIBRARIES and m not in PURE_EXCEPTIONS}
        assert not io, f"{module} imports {sorted(io)}"


def test_each_edge_uses_pure_modules_and_only_its_listed_edges():
    for module, allowed in EDGES.items():
        ours, _ = imports_of(module)
        assert ours - PURE <= allowed, f"{module} imports {sorted(ours - PURE - allowed)}"


def test_no_import_runs_back_up():
    graph = {module: imports_of(module)[0] - {"__init__"} for module in modules()}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(step == target or (step not in seen and not seen.add(step) and reaches(step, target, seen))
                   for step in graph.get(start, ()))

    assert [m for m in graph if reaches(m, m, set())] == []
