"""Running a Python notebook in SOURCE format cell by cell, as a Databricks notebook runs: magics, outputs.

Magic cells: ``%md`` (shown, not run), ``%python``, ``%sql`` (each statement through ``spark.sql``; the last
result is displayed and bound to ``_sqldf``), ``%run`` (another notebook in the same globals), ``%pip``
(installs for real into this run's own package directory), ``%sh`` (a shell on the driver). Every cell's
printed text, displayed tables and error are recorded in a :class:`CellLog`, which the kernel writes next
to the run's log, for ``runs/export`` and the run page. Runs in the kernel process: standard library only
(pyspark is imported by the session proxy when a notebook first touches ``spark``).
"""

from __future__ import annotations

import json
import linecache
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airbricks.workspace.kernel import redacting

SEPARATOR = re.compile(r"^# COMMAND -{10}\s*$", re.MULTILINE)
HEADER = "# Databricks notebook source"
MAGIC = "# MAGIC"
CELLS_FILE = "cells.json"


class UnsupportedCellError(RuntimeError):
    """A cell in a language the local workspace cannot run (Scala, R)."""


class CellLog:
    """What each cell of the run showed: its source, printed text, displayed tables, and its error."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.cells: list[dict[str, Any]] = []

    def start(self, notebook: str, number: int, source: str) -> None:
        self.cells.append({"notebook": notebook, "number": number, "source": source, "outputs": []})

    def add(self, output: dict[str, Any]) -> None:
        if not self.cells:
            self.start("", 0, "")
        outputs = self.cells[-1]["outputs"]
        if output["type"] == "text" and outputs and outputs[-1]["type"] == "text":
            outputs[-1]["text"] += output["text"]
        else:
            outputs.append(output)

    def fail(self, error: str, trace: str) -> None:
        if self.cells:
            self.cells[-1]["error"] = {"error": error, "trace": trace}

    def save(self) -> None:
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(redacting.data(self.cells)), encoding="utf-8")  # no secret on disk
            os.replace(tmp, self.path)


class Tee:
    """A text stream writing both to the process's output (the run log) and into the cell log."""

    def __init__(self, stream: Any, log: CellLog) -> None:
        self._stream = stream
        self._log = log

    def write(self, text: str) -> int:
        if text:
            self._log.add({"type": "text", "text": text})
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def cells(source: str) -> list[str]:
    """The code cells of a Python notebook in SOURCE format (the header line dropped)."""
    text = source.lstrip("\ufeff")
    if text.startswith(HEADER):
        text = text[len(HEADER) :]
    return [c.strip("\n") for c in SEPARATOR.split(text)]


def magic_body(cell: str) -> list[str] | None:
    """The lines of a ``# MAGIC`` cell without the prefix, or None for a plain Python cell."""
    lines = [ln for ln in cell.splitlines() if ln.strip()]
    if not lines or not all(ln.startswith(MAGIC) for ln in lines):
        return None
    return [ln[len(MAGIC) :].removeprefix(" ") for ln in cell.splitlines() if ln.startswith(MAGIC)]


def sql_statements(text: str) -> list[str]:
    """``;``-separated statements, ignoring ``;`` inside quotes and ``--`` comments."""
    statements: list[str] = []
    current: list[str] = []
    quote = ""
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("--")]
    for char in "\n".join(lines):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == ";":
            statements.append("".join(current))
            current = []
            continue
        current.append(char)
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


class NotebookRunner:
    """Runs notebooks in one globals dict; ``pip_dir`` is where ``%pip install`` puts packages."""

    def __init__(
        self, env: dict[str, Any], log: CellLog, *, workspace_root: Path, pip_dir: Path, display: Callable[..., None]
    ) -> None:
        self.env = env
        self.log = log
        self.workspace_root = workspace_root
        self.pip_dir = pip_dir
        self.display = display

    def run(self, source: str, name: str, depth: int = 0) -> None:
        for number, cell in enumerate(cells(source), start=1):
            self.log.start(name, number, cell)
            self.run_cell(cell, name, number, depth)

    def run_cell(self, cell: str, name: str, number: int, depth: int) -> None:
        body = magic_body(cell)
        if body is not None:
            command = body[0].strip().split(None, 1)
            magic = command[0] if command else ""
            rest = "\n".join(([command[1]] if len(command) > 1 else []) + body[1:])
            if magic == "%md" or magic.startswith("%md-"):
                self.log.add({"type": "markdown", "text": rest})
                return
            if magic == "%python":
                cell = rest
            elif magic == "%sql":
                self.run_sql(rest)
                return
            elif magic == "%run":
                self.run_included(command[1] if len(command) > 1 else "", name, depth)
                return
            elif magic == "%pip":
                self.pip(rest)
                return
            elif magic == "%sh":
                self.shell(rest)
                return
            else:
                raise UnsupportedCellError(
                    f"Cell {number} of {name} is a {magic or 'magic'} cell, which the local airbricks workspace "
                    "cannot run: it executes Python, %sql, %sh, %pip, %run and %md cells (no %scala, %r)."
                )
        filename = f"<notebook {name}, cell {number}>"
        # Registered so tracebacks show the notebook's own lines, as a notebook's error trace does.
        linecache.cache[filename] = (len(cell), None, cell.splitlines(True), filename)
        exec(compile(cell, filename, "exec"), self.env)

    def run_sql(self, text: str) -> None:
        """Each statement through ``spark.sql``; the last one's result is displayed and kept as ``_sqldf``."""
        result = None
        for statement in sql_statements(text):
            result = self.env["spark"].sql(statement)
        if result is not None:
            self.env["_sqldf"] = result
            self.display(result)

    def run_included(self, target: str, name: str, depth: int) -> None:
        """``%run ./other``: run another workspace notebook in the same globals."""
        if not target.strip().strip("\"'"):
            raise UnsupportedCellError(f"%run in {name} names no notebook")
        if depth > 10:
            raise RecursionError(f"%run nesting is deeper than 10 notebooks at {name}")
        path, source = find_notebook(self.workspace_root, target, name, why=f"in %run of {name}")
        self.run(source, path, depth + 1)

    def pip(self, text: str) -> None:
        """``%pip install ...`` into this run's own directory (first on ``sys.path``), for real."""
        args = text.split()
        if not args or args[0] != "install":
            raise UnsupportedCellError(f"%pip {text.strip()[:60]}: the local workspace runs '%pip install' only")
        self.pip_dir.mkdir(parents=True, exist_ok=True)
        install(args[1:], self.pip_dir)
        if str(self.pip_dir) not in sys.path:
            sys.path.insert(0, str(self.pip_dir))
        import importlib

        importlib.invalidate_caches()

    def shell(self, text: str) -> None:
        import subprocess

        done = subprocess.run(["bash", "-c", text], capture_output=True, text=True, cwd=os.getcwd(), check=False)
        sys.stdout.write(done.stdout + done.stderr)
        if done.returncode:
            raise RuntimeError(f"%sh cell exited with code {done.returncode}")


def find_notebook(root: Path, target: str, name: str, *, why: str = "") -> tuple[str, str]:
    """(path, SOURCE text) of the workspace notebook ``target`` names, relative to the notebook ``name``."""
    target = target.strip().strip("\"'")
    base = os.path.dirname(name) if not target.startswith("/") else ""
    path = os.path.normpath(os.path.join("/", base, target))
    if path.startswith("/Workspace/"):
        path = path[len("/Workspace") :]
    local = root / path.lstrip("/")
    for candidate in (local, local.with_name(local.name + ".py")):
        if candidate.is_file() and os.path.realpath(candidate).startswith(os.path.realpath(root) + os.sep):
            return path, candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(f"Notebook not found: {path}" + (f" ({why})" if why else ""))


class InstallError(RuntimeError):
    """pip could not install what a notebook, task or cluster asked for; the message is pip's."""


def install(requirements: list[str], target: Path) -> None:
    """``pip install --target``: raises :class:`InstallError` with pip's own message when it fails."""
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--no-input",
            "--target",
            str(target),
            *requirements,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        message = (done.stderr or done.stdout).strip()
        raise InstallError(f"Library installation failed: pip install {' '.join(requirements)}: {message}")
