"""The code's shape, checked: no import circles among airbricks' modules, and small modules.

An import circle makes the order of imports matter and hides a missing layer; the models, routes and client
side are layered so none is needed. Imports under ``if TYPE_CHECKING:`` are for type hints only and do not
count. A module over the size limit must say why in its docstring (a line starting ``Long because``).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "airbricks"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """airbricks modules imported by ``path``, anywhere in it (functions too) but type-checking blocks."""
    found: set[str] = set()
    this = _module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name in modules and name != this}


def _graph() -> dict[str, set[str]]:
    files = sorted((SRC / PACKAGE).rglob("*.py"))
    modules = {_module_name(f) for f in files}
    return {_module_name(f): _imports(f, modules) for f in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                strong(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in graph:
        if node not in index:
            strong(node)
    return out


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` is imported on the way to each of its modules; only what it imports counts."""
    return {module: {dep for dep in deps if not module.startswith(dep + ".")} for module, deps in graph.items()}


def test_no_import_circles_in_src() -> None:
    graph = _without_package_inits(_graph())
    assert len(graph) > 30  # the walk found the modules
    assert _cycles(graph) == []


def test_the_walk_sees_a_circle_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_modules_are_small_or_say_why() -> None:
    too_long = []
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        text = path.read_text()
        lines = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if lines > MAX_LINES and "Long because" not in doc:
            too_long.append(f"{path.relative_to(SRC)}: {lines} lines")
    assert too_long == []


# -- the workspace's layout: one package per service, typed wiring, one record idiom ------------------------

WORKSPACE = SRC / PACKAGE / "workspace"
#: Only what every service shares stays at the workspace's root.
MAX_ROOT_MODULES = 12
#: Each service package declares its endpoints in one table, ``ROUTES`` in its ``routes.py``.
SERVICES = (
    "catalog",
    "compute",
    "faults",
    "identity",
    "jobs",
    "permissions",
    "repos",
    "secrets",
    "sql",
    "storage",
    "ui",
)


def test_workspace_root_holds_only_shared_modules() -> None:
    root = sorted(p.name for p in WORKSPACE.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


def test_each_service_declares_one_route_table() -> None:
    for service in SERVICES:
        routes = WORKSPACE / service / "routes.py"
        tree = ast.parse(routes.read_text())
        tables = [
            node
            for node in tree.body
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            and any(isinstance(t, ast.Name) and t.id == "ROUTES" for t in _targets(node))
        ]
        assert len(tables) == 1, f"{routes.relative_to(SRC)}: {len(tables)} ROUTES tables"
        others = sorted(p.name for p in (WORKSPACE / service).glob("routes_*.py"))
        assert others == [], f"{service}: routes outside its one table: {others}"


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]


def _late_wiring(path: Path) -> list[str]:
    """Assignments that hand a model a collaborator after it was built.

    In any constructor: an assignment to an attribute of one of its parameters (``executor.host = self``); in
    ``core.py``'s, also to an attribute of an attribute (``self.clusters.is_busy = ...``).
    """
    found: list[str] = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "__init__":
            params = {a.arg for a in node.args.args[1:] + node.args.kwonlyargs}
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Assign, ast.AnnAssign)):
                    for target in _targets(inner):
                        if not isinstance(target, ast.Attribute):
                            continue
                        on_param = isinstance(target.value, ast.Name) and target.value.id in params
                        on_member = path.name == "core.py" and isinstance(target.value, ast.Attribute)
                        if on_param or on_member:
                            where = path.relative_to(SRC) if SRC in path.parents else path.name
                            found.append(f"{where}:{inner.lineno}")
    return found


def test_no_collaborator_is_assigned_after_construction() -> None:
    found = [line for path in sorted(WORKSPACE.rglob("*.py")) for line in _late_wiring(path)]
    assert found == []


def test_the_wiring_check_sees_late_wiring(tmp_path: Path) -> None:
    model = tmp_path / "model.py"
    model.write_text("class A:\n    def __init__(self, runs):\n        self.runs = runs\n        runs.host = self\n")
    assert _late_wiring(model) == ["model.py:4"]
    composer = tmp_path / "core.py"
    composer.write_text("class W:\n    def __init__(self):\n        self.a = A()\n        self.a.b = self.a\n")
    assert _late_wiring(composer) == ["core.py:4"]


#: String keys that start with ``_`` but are real names of someone else's, not hidden fields of a record:
#: the SQL connector's connection extras and the DataFrame a notebook's ``%sql`` cell leaves behind.
_FOREIGN_UNDERSCORE_KEYS = {"_port", "_tls_trusted_ca_file", "_sqldf"}


def test_no_records_kept_as_dicts_with_hidden_keys() -> None:
    """Records are typed (dataclasses); a dict key like ``"_created"`` is a field hiding from the wire."""
    found: list[str] = []
    for path in sorted(WORKSPACE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            keys: list[ast.expr | None] = []
            if isinstance(node, ast.Dict):
                keys = list(node.keys)
            elif isinstance(node, ast.Subscript):
                keys = [node.slice]
            for key in keys:
                if (
                    isinstance(key, ast.Constant)
                    and isinstance(key.value, str)
                    and key.value.startswith("_")
                    and not key.value.startswith("__")
                    and key.value not in _FOREIGN_UNDERSCORE_KEYS
                ):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno} {key.value}")
    assert found == []
