"""What a job's kernel adds to ``dbutils``: task values, ``dbutils.notebook.run``, and wheel entry points.

Runs inside the kernel process (standard library only). Task values need no channel back to the server:
``taskValues.set`` values go into the task run's outcome file, and ``taskValues.get`` reads the values of
the run's finished tasks, which the server put into the kernel's spec. ``dbutils.notebook.run`` runs the
child notebook as a kernel process of its own (a fresh namespace and Spark session, killable at its
timeout), as Databricks runs it as an ephemeral notebook job on the same cluster.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from airbricks.workspace.kernel.cells import find_notebook
from airbricks.workspace.kernel.channel import WorkspaceChannel
from airbricks.workspace.kernel.dbutils import DBUtils, Notebook
from airbricks.workspace.kernel.dbutils_help import module_help

#: A task value's JSON may be at most this big (as on Databricks).
MAX_VALUE_BYTES = 48 * 1024
WORKFLOW = "com.databricks.WorkflowException: com.databricks.NotebookExecutionException"


class WorkflowException(Exception):
    """What ``dbutils.notebook.run`` raises when the child notebook fails or times out."""


class TaskValues:
    """``dbutils.jobs.taskValues``: ``set`` for later tasks, ``get`` from earlier tasks of the same run."""

    def __init__(self, upstream: dict[str, dict[str, Any]], in_job: bool) -> None:
        self._upstream = upstream
        self._in_job = in_job
        self.values: dict[str, Any] = {}

    def help(self, method: str | None = None) -> None:
        print(module_help("jobs.taskValues", method))

    def set(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError("The key of a task value must be a non-empty string")
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            raise TypeError(f"The task value {key} must be JSON serializable, got {type(value).__name__}") from None
        if len(text.encode("utf-8")) > MAX_VALUE_BYTES:
            raise ValueError(f"The task value {key} is larger than {MAX_VALUE_BYTES // 1024} KiB as JSON")
        self.values[key] = json.loads(text)

    def get(self, taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any:
        if not self._in_job:
            if debugValue is None:
                raise TypeError(
                    "Must pass debugValue when calling get outside of a job context. debugValue cannot be None."
                )
            return debugValue
        values = self._upstream.get(taskKey) or {}
        if key in values:
            return values[key]
        if default is not None:
            return default
        raise ValueError(
            f"No task value found for key '{key}' of task '{taskKey}': the task did not set it, has "
            "not finished, or is not a task of this run. Pass default= to read it optionally."
        )


class Jobs:
    def __init__(self, task_values: TaskValues) -> None:
        self.taskValues = task_values

    def help(self, method: str | None = None) -> None:
        print(module_help("jobs", method))


class Option:
    """A Scala ``Option`` as the context's accessors return it (``.get()``, ``.isDefined()``)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def get(self) -> Any:
        if self._value is None:
            raise ValueError("None.get")
        return self._value

    def isDefined(self) -> bool:
        return self._value is not None

    def getOrElse(self, default: Any) -> Any:
        return default if self._value is None else self._value


class RunId:
    def __init__(self, value: int) -> None:
        self._value = value

    def id(self) -> int:
        return self._value


class Context:
    """``getContext()``: the job and run a notebook runs in (``toJson()``, ``tags()``, ``jobId()``...). The
    real context also carries an API token; this one never does."""

    def __init__(self, spec: dict[str, Any]) -> None:
        job = spec.get("job") or {}
        self._job = job
        tags = {
            "jobId": job.get("job_id"),
            "runId": job.get("task_run_id"),
            "multitaskParentRunId": job.get("run_id"),
            "taskKey": job.get("task_key"),
        }
        self._tags = {k: str(v) for k, v in tags.items() if v is not None}
        self._path = spec.get("name")

    def toJson(self) -> str:
        data: dict[str, Any] = {"tags": self._tags, "extraContext": {"notebook_path": self._path}}
        if self._job:
            data["currentRunId"] = {"id": self._job["task_run_id"]}
            data["rootRunId"] = {"id": self._job["run_id"]}
        return json.dumps(data)

    def tags(self) -> Any:
        return _Tags(self._tags)

    def jobId(self) -> Option:
        return Option(self._tags.get("jobId"))

    def currentRunId(self) -> Option:
        return Option(RunId(self._job["task_run_id"]) if self._job else None)

    def notebookPath(self) -> Option:
        return Option(self._path)


class _Tags(dict):
    def apply(self, name: str) -> str:
        return self[name]


class _EntryPoint:
    """``dbutils.notebook.entry_point.getDbutils().notebook().getContext()``."""

    def __init__(self, context: Context) -> None:
        self._context = context

    def getDbutils(self) -> Any:
        return self

    def notebook(self) -> Any:
        return self

    def getContext(self) -> Context:
        return self._context


class WorkflowNotebook(Notebook):
    """``dbutils.notebook`` with ``run`` (the child notebook in a kernel process of its own) and the context."""

    def __init__(self, spec: dict[str, Any], run_dir: Path) -> None:
        self._spec = spec
        self._run_dir = run_dir
        self._count = 0
        self.entry_point = _EntryPoint(Context(spec))

    def getContext(self) -> Context:
        return self.entry_point.getContext()

    def run(self, path: str, timeout_seconds: int = 0, arguments: dict[str, str] | None = None) -> str:
        from airbricks.workspace.jobs.process import TaskProcess  # here: only notebooks that call run pay for it

        spec = self._spec
        name, source = find_notebook(Path(spec["workspace_root"]), path, spec.get("name") or "/")
        self._count += 1
        directory = self._run_dir / "notebook-runs" / str(self._count)
        child = {k: spec[k] for k in ("dbfs_root", "volumes_root", "workspace_root", "job") if k in spec}
        child.update(
            {
                "kind": "notebook",
                "source": source,
                "name": name,
                "cells_path": str(directory / "cells.json"),
                "widgets": {str(k): str(v) for k, v in (arguments or {}).items()},
            }
        )
        if spec.get("spark_remote"):
            child.update(spark_remote=spec["spark_remote"], spark_session_id=str(uuid.uuid4()))
        if spec.get("cluster_site"):
            child["cluster_site"] = spec["cluster_site"]
        proc = TaskProcess(directory, child, sys.executable)
        deadline = time.monotonic() + timeout_seconds if timeout_seconds and timeout_seconds > 0 else None
        while (outcome := proc.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                proc.kill()
                raise WorkflowException(
                    f"{WORKFLOW}: Notebook {name} timed out after {timeout_seconds} seconds "
                    "(the timeout_seconds of dbutils.notebook.run)."
                )
            time.sleep(0.02)
        if outcome["status"] != "SUCCESS":
            raise WorkflowException(f"{WORKFLOW}: FAILED: Notebook {name} failed: {outcome.get('error', '')}")
        result = outcome.get("result")
        return "" if result is None else str(result)


class JobDBUtils(DBUtils):
    """``dbutils`` of a task run: the notebook's, plus its job parts (``jobs.taskValues``, ``notebook.run``).

    :param spec: the task run's spec (its ``task_values`` and ``job``, what ``notebook.run`` needs).
    :param run_dir: the task run's directory (child notebooks' runs go under it).
    """

    def __init__(
        self,
        widgets: dict[str, str],
        dbfs_root: Path,
        volumes_root: Path,
        channel: WorkspaceChannel | None,
        spec: dict[str, Any],
        run_dir: Path,
    ) -> None:
        super().__init__(widgets, dbfs_root, volumes_root, channel)
        self.jobs = Jobs(TaskValues(spec.get("task_values") or {}, in_job=bool(spec.get("job"))))
        self.notebook = WorkflowNotebook(spec, run_dir)


def outcome_extras(dbutils: JobDBUtils) -> dict[str, Any]:
    """What goes into the outcome file besides the status: the task values set."""
    values = dbutils.jobs.taskValues.values
    return {"task_values": values} if values else {}


def run_wheel(package: str, entry_point: str, argv: list[str]) -> None:
    """Call a wheel's entry point as ``python_wheel_task`` does: the named entry point of the package's
    distribution, else ``<package>.<entry_point>()``."""
    import importlib
    from importlib import metadata

    importlib.invalidate_caches()
    wanted = package.lower().replace("-", "_")
    found = [
        ep
        for dist in metadata.distributions()
        if str(dist.metadata["Name"] or "").lower().replace("-", "_") == wanted
        for ep in dist.entry_points
        if ep.name == entry_point
    ]
    sys.argv = [entry_point, *[str(a) for a in argv]]
    if found:
        function = found[0].load()
    else:
        try:
            module = importlib.import_module(package)
        except ImportError:
            raise ImportError(
                f"Package {package} is not installed: add its wheel to the task's libraries "
                '([{"whl": "dbfs:/path/pkg.whl"}]).'
            ) from None
        function = getattr(module, entry_point, None)
        if function is None:
            raise AttributeError(
                f"Package {package} has no entry point {entry_point} (neither in its metadata "
                f"nor as {package}.{entry_point})."
            )
    function()
