"""The kernel package imports only what its docstring allows (``airbricks/workspace/kernel/__init__.py``).

A kernel module runs in a fresh process for every task run and command context, often next to a user's own
packages: each import is start-up latency for every run, and a server-side import (FastAPI, the models, the
store) would drag the whole server into the child. Two checks: every ``import`` statement of the package read
with ``ast`` (so a new one fails here, naming file and line, before anything runs), and each module imported
in a fresh interpreter, whose ``sys.modules`` afterwards must hold nothing of the server side.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src"
KERNEL = SRC / "airbricks" / "workspace" / "kernel"
PACKAGE = "airbricks.workspace.kernel"

#: Allowed anywhere in a kernel module: small modules with only standard-library imports of their own.
ALLOWED_MODULES = {"airbricks.workspace.storage.paths", "airbricks.workspace.errors", "airbricks.utils.processes"}
#: Allowed only inside a function, so that only the runs that need them pay for them.
ALLOWED_IN_FUNCTIONS = {
    "airbricks.workspace.jobs.process",
    "pyspark",
    "airbricks.workspace.compute.spark.properties",
    "airbricks.workspace.sql.dialect",
    "airbricks.workspace.sql.copy_into",
}
#: Packages whose ``__init__`` runs on the way to an allowed module (kept import-free).
PACKAGE_INITS = {
    "airbricks",
    "airbricks.workspace",
    "airbricks.workspace.storage",
    "airbricks.utils",
    "airbricks.workspace.sql",
}
#: Never in a kernel process at import time.
SERVER_SIDE = ("fastapi", "starlette", "uvicorn", "pydantic", "sqlite3", "_sqlite3", "pyspark", "airflow", "requests")


def _is_module(name: str) -> bool:
    parts = name.split(".")
    if parts[0] != "airbricks":
        return importlib.util.find_spec(parts[0]) is not None and len(parts) == 1
    path = SRC.joinpath(*parts)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """The modules an import statement loads (``from a import b`` names ``a.b`` when ``b`` is a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")[: -node.level]
        base = ".".join(package + ([base] if base else []))
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [name if _is_module(name) else base for name in names]


def allowed(name: str, in_function: bool) -> bool:
    top = name.split(".")[0]
    if top in sys.stdlib_module_names:
        return True
    if name == PACKAGE or name.startswith(PACKAGE + "."):
        return True
    if name in ALLOWED_MODULES:
        return True
    return in_function and any(name == ok or name.startswith(ok + ".") for ok in ALLOWED_IN_FUNCTIONS)


def violations(source: str, module: str, where: str) -> list[str]:
    """``file:line: import`` for each import of ``source`` the kernel's rules do not allow."""
    found: list[str] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in _imported(node, module):
                if not allowed(name, in_function):
                    found.append(f"{where}:{node.lineno}: {name}" + ("" if in_function else " (at module level)"))
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(source), False)
    return found


def _kernel_modules() -> list[Path]:
    return sorted(KERNEL.glob("*.py"))


def _module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def test_the_rules_catch_what_the_docstring_forbids() -> None:
    module = f"{PACKAGE}.task"
    assert violations("from airbricks.workspace.core import Workspace\n", module, "x") == [
        "x:1: airbricks.workspace.core (at module level)"
    ]
    assert violations("import fastapi\nimport sqlite3\n", module, "x") == ["x:1: fastapi (at module level)"]
    assert violations("from airbricks.workspace.jobs.process import LOG\n", module, "x") != []
    assert violations("import pyspark.sql\n", module, "x") != []
    assert violations("from ..store import Store\n", module, "x") == [
        "x:1: airbricks.workspace.store (at module level)"
    ]
    assert violations("from airbricks.workspace import store\n", module, "x") != []
    ok = (
        "import os\nfrom . import cells\nfrom .dbutils import DBUtils\nfrom airbricks.workspace.storage import paths\n"
        "from airbricks.workspace.errors import InvalidParameterValue\nfrom airbricks.utils.processes import x\n"
        "def f():\n    from pyspark.sql import SparkSession\n    from airbricks.workspace.jobs.process import LOG\n"
    )
    assert violations(ok, module, "x") == []


def test_every_kernel_import_is_allowed_by_the_package_docstring() -> None:
    assert len(_kernel_modules()) >= 8  # the glob found the package
    doc = ast.get_docstring(ast.parse((KERNEL / "__init__.py").read_text())) or ""
    for name in sorted(ALLOWED_MODULES | ALLOWED_IN_FUNCTIONS):
        assert name in doc, f"the kernel's docstring no longer lists {name}: update this test's lists with it"
    found = [
        problem
        for path in _kernel_modules()
        # an __init__'s relative imports start from the package itself: name it as a module inside it
        for problem in violations(path.read_text(), f"{PACKAGE}.{path.stem}", str(path.relative_to(SRC)))
    ]
    assert found == [], "imports the kernel's docstring does not allow:\n" + "\n".join(found)


_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("path", _kernel_modules(), ids=lambda path: path.stem)
def test_importing_a_kernel_module_loads_nothing_of_the_server(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, _module_name(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout)
    server_side = [m for m in loaded if m.split(".")[0] in SERVER_SIDE]
    assert server_side == []
    ours = [m for m in loaded if m == "airbricks" or m.startswith("airbricks.")]
    assert PACKAGE in ours
    unexpected = [m for m in ours if not (m.startswith(PACKAGE) or m in ALLOWED_MODULES or m in PACKAGE_INITS)]
    assert unexpected == [], f"importing {_module_name(path)} loads airbricks modules the kernel may not use"
