"""Tasks of a job with ``git_source``: the notebook or Python file comes from the repository at that ref.

Each run checks out again (a branch may have moved), records the commit it used as
``git_source.git_snapshot.used_commit`` (reported on the run, as on Databricks) and runs the task with the
checkout as its working directory. ``notebook_path`` and ``python_file`` are relative to the repository's root;
a notebook is ``<path>.py`` (with or without the ``Databricks notebook source`` header), ``<path>.sql`` or
``<path>.ipynb``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.jobs.run import TaskRun
from airbricks.workspace.repos.git import GitRepos
from airbricks.workspace.storage.workspace_objects import from_jupyter, to_source


class TaskCheckout(NamedTuple):
    directory: Path
    #: The kernel spec's task part (kind, source or python_file, name).
    spec: dict[str, Any]


class GitCheckouts:
    def __init__(self, git: GitRepos) -> None:
        self.git = git

    def checkout_for(self, task: TaskRun) -> TaskCheckout | None:
        """None for a task without ``git_source``; raises (failing the task) when git or the file fails."""
        source = task.settings.get("git_source")
        if not source:
            return None
        ref = {"branch": source.get("git_branch"), "tag": source.get("git_tag"), "commit": source.get("git_commit")}
        done = self.git.checkout(source["git_url"], **ref)
        source["git_snapshot"] = {"used_commit": done.commit}
        root = done.directory
        notebook = task.settings.get("notebook_task")
        if notebook:
            path = str(notebook["notebook_path"]).lstrip("/")
            return TaskCheckout(root, {"kind": "notebook", "source": _notebook(root, path, source), "name": path})
        file = str(task.settings["spark_python_task"]["python_file"]).lstrip("/")
        local = _inside(root, file)
        if not local.is_file():
            raise InvalidParameterValue(
                f"Cannot read the python file {file}: it does not exist in {source['git_url']} at {done.commit[:12]}."
            )
        return TaskCheckout(root, {"kind": "python", "python_file": str(local), "argv": task.argv, "name": file})


def _inside(root: Path, relative: str) -> Path:
    local = (root / relative).resolve()
    if local != root.resolve() and root.resolve() not in local.parents:
        raise InvalidParameterValue(f"Invalid path {relative}: it leads outside the repository.")
    return local


def _notebook(root: Path, path: str, source: dict[str, Any]) -> str:
    for suffix in ("", ".py", ".ipynb", ".sql"):
        local = _inside(root, path + suffix)
        if local.is_file() and (suffix or local.suffix in (".py", ".ipynb")):
            raw = local.read_bytes()
            if local.suffix == ".ipynb":
                language, text = from_jupyter(raw, None)
            elif local.suffix == ".sql":
                raise InvalidParameterValue(
                    f"Notebook {path} is a SQL notebook; the local workspace runs Python notebooks only."
                )
            else:
                language, text = "PYTHON", to_source(raw.decode("utf-8", "replace"), "PYTHON")
            if language != "PYTHON":
                raise InvalidParameterValue(
                    f"Notebook {path} is a {language} notebook; the local workspace runs Python notebooks only."
                )
            return text
    raise InvalidParameterValue(
        f"Notebook {path} does not exist in {source['git_url']} (looked for {path}.py and {path}.ipynb)."
    )
