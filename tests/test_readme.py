"""The imports the README and the docs show exist: a reader who copies one gets a working line.

The code blocks are fragments (``json={...}``), so only their import statements are run, in a fresh
interpreter, all of a document's together; a renamed or moved module or name fails the test with Python's
own error. Dotted names the prose cites (``airbricks.retry.DATABRICKS_RETRY_ARGS``) are resolved too.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCED_PYTHON = re.compile(r"^```python[ \t]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
_FENCED_ANY = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_IMPORT_START = re.compile(r"^\s*(?:import\s+[\w.]|from\s+[\w.]+\s+import\b)")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_CITED_NAME = re.compile(r"\bairbricks(?:\.[A-Za-z_]\w*)+")


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the document's fenced ```python blocks."""
    return [match.group(1) for match in _FENCED_PYTHON.finditer(markdown)]


def import_statements(block: str) -> list[str]:
    """Each ``import x`` / ``from x import a, b`` of a block, a parenthesised one with all its lines."""
    statements: list[str] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        if not _IMPORT_START.match(lines[i]):
            i += 1
            continue
        statement = [lines[i].split("#")[0].strip()]
        while "(" in statement[0] and ")" not in statement[-1] and i + 1 < len(lines):
            i += 1
            statement.append(lines[i].split("#")[0].strip())
        text = "\n".join(statement)
        ast.parse(text)  # a statement cut wrongly fails here, naming it, not in the subprocess
        statements.append(text)
        i += 1
    return statements


def cited_names(markdown: str) -> list[str]:
    """``airbricks.x.y`` names cited in inline code of the prose (code blocks left out)."""
    prose = _FENCED_ANY.sub("", markdown)
    names = {name for code in _INLINE_CODE.findall(prose) for name in _CITED_NAME.findall(code)}
    return sorted(names)


def run_python(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``source`` in a fresh interpreter of this environment, with its own (empty) Airflow home."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow")}
    return subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path
    )


_RESOLVE = textwrap.dedent(
    """
    import importlib, sys
    missing = []
    for name in sys.argv[1:]:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(name)
            break
        else:
            missing.append(name)
    print("\\n".join(missing))
    sys.exit(1 if missing else 0)
    """
)


def test_the_extraction_sees_plain_and_parenthesised_imports() -> None:
    block = (
        "import json\nx = 1  # import nothing\nfrom a.b import (\n    C, D,\n    e)\n"
        "    from f import g  # indented, in a function\nprint('from x import y')\n"
    )
    assert import_statements(block) == ["import json", "from a.b import (\nC, D,\ne)", "from f import g"]
    assert python_blocks("text\n```python\nimport os\n```\n```bash\nimport no\n```\n") == ["import os\n"]
    assert cited_names(
        "see `airbricks.retry.X` and `from airbricks.operators... import ...`\n```\nairbricks.no\n```"
    ) == [
        "airbricks.operators",
        "airbricks.retry.X",
    ]


def shown_imports(document: Path) -> list[str]:
    return [s for block in python_blocks(document.read_text()) for s in import_statements(block)]


def test_the_readme_shows_its_imports() -> None:
    """The extraction finds the README's imports (so the parametrized checks below are not vacuous)."""
    assert any("airbricks.operators.clusters" in s for s in shown_imports(ROOT / "README.md"))
    assert any("airbricks." in name for name in cited_names((ROOT / "README.md").read_text()))


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if shown_imports(d)], ids=lambda path: path.name)
def test_every_import_a_document_shows_works(document: Path, tmp_path: Path) -> None:
    statements = shown_imports(document)
    result = run_python("\n".join(statements), tmp_path)
    assert result.returncode == 0, f"{document.name}: an import it shows fails:\n{result.stderr[-3000:]}"


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if cited_names(d.read_text())], ids=lambda path: path.name)
def test_every_airbricks_name_a_document_cites_exists(document: Path, tmp_path: Path) -> None:
    names = cited_names(document.read_text())
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow")}
    result = subprocess.run(
        [sys.executable, "-c", _RESOLVE, *names], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, f"{document.name} cites names that do not exist: {result.stdout.split()}"


def test_the_operators_package_exports_what_it_lists(tmp_path: Path) -> None:
    """``from airbricks.operators import X`` for each listed name, and the cluster operators in one module."""
    source = textwrap.dedent(
        """
        import airbricks.operators as package
        names = list(package.__all__)
        exec("from airbricks.operators import " + ", ".join(names))
        from airbricks.operators import clusters
        for name in names:
            obj = getattr(package, name)
            home = obj.__module__
            assert home.startswith("airbricks.operators."), (name, home)
            if home.rpartition(".")[2].startswith("cluster"):
                assert getattr(clusters, name) is obj, name  # every cluster operator from one place
        exec("from airbricks.operators.clusters import " + ", ".join(clusters.__all__))
        print(len(names))
        """
    )
    result = run_python(source, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout) >= 7
