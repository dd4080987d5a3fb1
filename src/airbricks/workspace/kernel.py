"""The process that runs one task run: ``python -m airbricks.workspace.kernel <spec.json>``.

The spec (written by :mod:`airbricks.workspace.runner`) says what to run - a notebook's SOURCE text or a
Python file - with which widgets/arguments, and where to write the outcome. The outcome file is written
atomically; its absence after exit means the process died (killed, crashed) before finishing.
It imports only the standard library and :mod:`airbricks.workspace.dbutils`: start-up time is run latency.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from airbricks.workspace.dbutils import MAX_EXIT_BYTES, DBUtils, NotebookExit, UnavailableSpark

SEPARATOR = re.compile(r"^# COMMAND -{10}\s*$", re.MULTILINE)
HEADER = "# Databricks notebook source"
MAGIC = "# MAGIC"


class UnsupportedCellError(RuntimeError):
    """A cell in a language the local workspace cannot run (SQL, Scala, R, shell)."""


def cells(source: str) -> list[str]:
    """The code cells of a Python notebook in SOURCE format (the header line dropped)."""
    text = source.lstrip("\ufeff")
    if text.startswith(HEADER):
        text = text[len(HEADER):]
    return [c.strip("\n") for c in SEPARATOR.split(text)]


def magic_body(cell: str) -> list[str] | None:
    """The lines of a ``# MAGIC`` cell without the prefix, or None for a plain Python cell."""
    lines = [ln for ln in cell.splitlines() if ln.strip()]
    if not lines or not all(ln.startswith(MAGIC) for ln in lines):
        return None
    return [ln[len(MAGIC):].removeprefix(" ") for ln in cell.splitlines() if ln.startswith(MAGIC)]


def run_notebook(source: str, name: str, env: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> None:
    for number, cell in enumerate(cells(source), start=1):
        body = magic_body(cell)
        if body is not None:
            command = body[0].strip().split(None, 1)
            magic = command[0] if command else ""
            if magic == "%md" or magic.startswith("%md-"):
                continue
            if magic == "%python":
                cell = "\n".join(body[1:] + ([command[1]] if len(command) > 1 else []))
            elif magic == "%run":
                run_included(command[1] if len(command) > 1 else "", name, env, spec, depth)
                continue
            elif magic in ("%pip", "%conda"):
                continue  # the local kernel uses the server's environment
            else:
                raise UnsupportedCellError(
                    f"Cell {number} of {name} is a {magic or 'magic'} cell, which the local airbricks workspace "
                    "cannot run: it executes Python cells only (no Spark engine for %sql, no %scala/%r/%sh).")
        filename = f"<notebook {name}, cell {number}>"
        # Registered so tracebacks show the notebook's own lines, as a notebook's error trace does.
        linecache.cache[filename] = (len(cell), None, cell.splitlines(True), filename)
        code = compile(cell, filename, "exec")
        exec(code, env)  # noqa: S102 - running the user's notebook is the point


def run_included(target: str, name: str, env: dict[str, Any], spec: dict[str, Any], depth: int) -> None:
    """``%run ./other``: run another workspace notebook in the same globals (best effort, files on disk)."""
    target = target.strip().strip("\"'")
    if not target:
        raise UnsupportedCellError(f"%run in {name} names no notebook")
    if depth > 10:
        raise RecursionError(f"%run nesting is deeper than 10 notebooks at {name}")
    base = os.path.dirname(name) if not target.startswith("/") else ""
    path = os.path.normpath(os.path.join("/", base, target))
    if path.startswith("/Workspace/"):
        path = path[len("/Workspace"):]
    root = Path(spec["workspace_root"])
    local = root / path.lstrip("/")
    for candidate in (local, local.with_name(local.name + ".py")):
        if candidate.is_file() and os.path.realpath(candidate).startswith(os.path.realpath(root) + os.sep):
            run_notebook(candidate.read_text(encoding="utf-8"), path, env, spec, depth + 1)
            return
    raise FileNotFoundError(f"Notebook not found: {path} (in %run of {name})")


def write_outcome(path: str, outcome: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def exit_outcome(value: str) -> dict[str, Any]:
    data = value.encode("utf-8")
    if len(data) <= MAX_EXIT_BYTES:
        return {"status": "SUCCESS", "result": value, "truncated": False}
    return {"status": "SUCCESS", "result": data[:MAX_EXIT_BYTES].decode("utf-8", "ignore"), "truncated": True}


def failure_outcome(exc: BaseException) -> dict[str, Any]:
    tb = exc.__traceback__
    # Drop the kernel's own frames: the user sees their code first, as in a notebook.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    trace = "".join(traceback.format_exception(type(exc), exc, tb))
    text = str(exc)
    error = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return {"status": "FAILED", "error": error, "error_trace": trace}


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    dbutils = DBUtils(spec.get("widgets") or {}, Path(spec["dbfs_root"]), Path(spec["volumes_root"]))
    env: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__, "dbutils": dbutils,
                           "spark": UnavailableSpark(), "display": print, "displayHTML": print}
    if spec.get("cwd"):
        os.chdir(spec["cwd"])
    try:
        if spec["kind"] == "notebook":
            run_notebook(spec["source"], spec["name"], env, spec)
        else:
            file = spec["python_file"]
            sys.argv = [file, *[str(a) for a in spec.get("argv") or []]]
            env["__file__"] = file
            sys.path.insert(0, os.path.dirname(file))
            code = compile(Path(file).read_text(encoding="utf-8"), spec.get("name") or file, "exec")
            exec(code, env)  # noqa: S102
        outcome: dict[str, Any] = {"status": "SUCCESS", "result": None, "truncated": False}
    except NotebookExit as done:
        outcome = exit_outcome(done.value)
    except SystemExit as stop:
        code = stop.code
        if code in (None, 0):
            outcome = {"status": "SUCCESS", "result": None, "truncated": False}
        else:
            outcome = failure_outcome(stop)
            outcome["error"] = f"SystemExit: {code}"
    except BaseException as exc:  # noqa: BLE001 - every failure of user code is the run's outcome
        traceback.print_exc()
        outcome = failure_outcome(exc)
    sys.stdout.flush()
    sys.stderr.flush()
    write_outcome(spec["result_path"], outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
