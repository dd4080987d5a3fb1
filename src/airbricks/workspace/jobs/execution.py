"""Running one task: getting its cluster, building its process's spec, starting, watching and killing it.

:class:`airbricks.workspace.jobs.runs.Runs` decides *when* (the phases and outcomes); this decides *how*, so a new
kind of task (Spark, SQL, a jar) adds to this module only. Processes come from ``launch`` (by default
:class:`airbricks.workspace.jobs.process.TaskProcess`), so unit tests can script them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from airbricks.workspace.compute.clusters import Clusters
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.errors import DatabricksError, InvalidParameterValue
from airbricks.workspace.jobs import process as runner
from airbricks.workspace.jobs.git_source import GitCheckouts
from airbricks.workspace.jobs.redaction import Redactor
from airbricks.workspace.jobs.references import References
from airbricks.workspace.jobs.run import Run, TaskRun
from airbricks.workspace.jobs.tasks import SERVER_TYPES, task_type
from airbricks.workspace.jobs.tasks.start import Host, job_context, start_server_task
from airbricks.workspace.kernel.cells import CELLS_FILE
from airbricks.workspace.shared import Shared
from airbricks.workspace.storage.local_paths import LocalPaths
from airbricks.workspace.storage.workspace_objects import NotebookSource


class Process(Protocol):
    """What the state machine needs of a task's process (see :class:`airbricks.workspace.jobs.process.TaskProcess`)."""

    pid: int
    pgid: int

    def poll(self) -> dict[str, Any] | None: ...
    def kill(self) -> None: ...
    def reaped(self) -> bool: ...


Launcher = Callable[[Path, dict[str, Any]], Process]


class RunIdentity(Protocol):
    """Who a run runs as, and the per-run tokens and cluster environments its process gets
    (:class:`airbricks.workspace.jobs.run_as.RunIdentity`)."""

    def open(self, task_run_id: int, run_as: str, cluster: dict[str, Any] | None) -> dict[str, str]: ...
    def close(self, task_run_id: int) -> set[str]: ...
    def close_all(self) -> None: ...
    def values_read(self, task_run_id: int) -> set[str]: ...


class ClusterLibraries(Protocol):
    """What a cluster has installed (:class:`airbricks.workspace.compute.libraries.Libraries`)."""

    def site_dir(self, cluster_id: str) -> Path: ...
    def jars(self, cluster_id: str) -> list[Path]: ...


class NotebookSources(Protocol):
    def notebook_source(self, path: str) -> NotebookSource: ...
    def normalize(self, path: object) -> str: ...
    def export(self, path: object, fmt: str | None) -> Any: ...


class TaskExecutor:
    """Clusters, processes and files for task runs.

    :param clusters: where tasks get (and give back) their clusters.
    :param notebooks: the workspace objects, for a notebook task's source.
    :param local_paths: turns ``python_file`` and the kernel's roots into files under the data dir.
    :param identity: gives each task run's process its token and cluster environment (None: none).
    :param cluster_libraries: what clusters have installed (None: no cluster libraries).
    :param git_checkouts: checks out a task's ``git_source`` (None: no checkouts).
    :param launch: starts a task's process in a directory with a spec.
    :param kernels: warm kernel processes a run's process is taken from when it fits one (None: every run cold).
    """

    def __init__(
        self,
        shared: Shared,
        *,
        clusters: Clusters,
        notebooks: NotebookSources,
        local_paths: LocalPaths,
        identity: RunIdentity | None = None,
        cluster_libraries: ClusterLibraries | None = None,
        git_checkouts: GitCheckouts | None = None,
        launch: Launcher | None = None,
        kernels: runner.WarmKernels | None = None,
    ) -> None:
        self.shared = shared
        self.clusters = clusters
        self.notebooks = notebooks
        self.local_paths = local_paths
        self.identity = identity
        self.cluster_libraries = cluster_libraries
        self.git_checkouts = git_checkouts
        self._scripted = launch
        self.kernels = kernels
        self._procs: dict[int, Process] = {}
        self._dying: list[Process] = []

    def start(self, run: Run, task: TaskRun, host: Host) -> Process:
        """Start the task's process as the run's ``run_as`` (its creator by default), or its in-server driver
        on ``host`` (raises when its notebook or file is missing)."""
        if task_type(task.settings) in SERVER_TYPES:
            proc: Process = start_server_task(host, run, task)
        else:
            spec = self.process_spec(task, host.references(run, task), job_context(run, task))
            if self._scripted is not None:
                proc = self._scripted(self.run_dir(task), spec)
            else:
                cluster = self.clusters.get(task.cluster_id) if task.cluster_id else None
                run_as = run.run_as or run.creator_user_name
                env = self.identity.open(task.run_id, run_as, cluster) if self.identity is not None else {}
                try:
                    proc = runner.TaskProcess(
                        self.run_dir(task), spec, self.shared.config.python_executable, env=env, kernels=self.kernels
                    )
                except BaseException:
                    self._end_identity(task)
                    raise
        self._procs[task.run_id] = proc
        return proc

    def live_redactor(self, task: TaskRun) -> Redactor:
        """The redaction of what a run in flight has read so far (its files are redacted when it ends)."""
        return Redactor(self.identity.values_read(task.run_id) if self.identity is not None else ())

    def _end_identity(self, task: TaskRun) -> None:
        """Revoke the run's token; redact the secret values it read from its outcome and files."""
        if self.identity is None:
            return
        redactor = Redactor(self.identity.close(task.run_id))
        if not redactor:
            return
        if task.output is not None:
            task.output = redactor.data(task.output)
        directory = self.run_dir(task)
        redactor.text_file(directory / runner.LOG)
        redactor.json_file(directory / CELLS_FILE)
        redactor.json_file(directory / runner.OUTCOME)
        redactor.json_file(directory / runner.SPEC)  # a jar task's command carries resolved spark_conf

    def process(self, task: TaskRun) -> Process | None:
        return self._procs.get(task.run_id)

    def run_dir(self, task: TaskRun) -> Path:
        return runner.run_dir(self.shared.data_dir, task.run_id)

    def reap(self) -> None:
        """Forget killed processes that have exited."""
        self._dying = [p for p in self._dying if not p.reaped()]

    def kill_leftover(self, task: TaskRun) -> None:
        """Kill the process a previous server left running for this task (if it still is ours)."""
        runner.kill_leftover(task.pid, task.pgid, self.run_dir(task))

    def shutdown(self) -> None:
        for proc in list(self._procs.values()):
            proc.kill()
        self._procs.clear()
        if self.identity is not None:
            self.identity.close_all()

    def acquire_cluster(self, run: Run, task: TaskRun) -> str | None:
        """The cluster the task runs on (started or created as its settings say), or None for a local process."""
        settings = task.settings
        if settings.get("existing_cluster_id"):
            cid = str(settings["existing_cluster_id"])
            self.clusters.ensure_started(cid)
            return cid
        if settings.get("new_cluster"):
            return self.clusters.create_job_cluster(settings["new_cluster"], run_id=run.run_id, task_key=task.key)
        key = settings.get("job_cluster_key")
        if not key:
            return None  # serverless-like: runs directly in a local process
        if key not in run.job_cluster_ids:
            spec = next(c for c in run.job_clusters or [] if c["job_cluster_key"] == key)
            if not isinstance(spec.get("new_cluster"), dict):
                raise InvalidParameterValue(f"job_clusters entry {key} has no new_cluster specification.")
            run.job_cluster_ids[key] = self.clusters.create_job_cluster(
                spec["new_cluster"], run_id=run.run_id, task_key=key
            )
        return run.job_cluster_ids[key]

    def cluster_gone(self, cid: str, *, starting: bool = False) -> str | None:
        """Why a cluster can no longer run the task, or None while it can (or still may: a cluster that
        ``ensure_started`` found TERMINATING restarts after its termination)."""
        try:
            doc = self.clusters.get(cid)
        except DatabricksError as err:
            return err.message
        if doc["state"] in (("TERMINATED", "ERROR") if starting else ("TERMINATING", "TERMINATED", "ERROR")):
            reason = doc.get("termination_reason") or {}
            why = f" Reason: {reason.get('code')} ({reason.get('type', 'SUCCESS')})." if reason.get("code") else ""
            return f"Cluster {cid} was terminated.{why} {doc.get('state_message') or ''}".strip()
        return None

    def process_spec(
        self, task: TaskRun, refs: References | None = None, context: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """What the kernel needs to run this task (value references resolved with ``refs``; ``context``: the
        job run, task values of finished tasks); raises when the notebook or file is missing."""
        widgets = {k: refs.text(v) for k, v in task.widgets.items()} if refs else task.widgets
        argv = [refs.text(a) for a in task.argv] if refs else task.argv
        base = {
            "widgets": widgets,
            **(context or {}),
            **self.local_paths.roots(),
            "cells_path": str(self.run_dir(task) / CELLS_FILE),
            "libraries": self.pip_requirements(task),
            **self.spark_for(task),
            **self._cluster_site(task),
            "jars": [str(j) for j in self.jars(task)],
        }
        notebook = task.settings.get("notebook_task")
        checkout = self.git_checkouts.checkout_for(task) if self.git_checkouts else None
        if checkout is not None:
            base["cwd"] = str(checkout.directory)
            return {**base, **checkout.spec}
        if notebook:
            path = notebook["notebook_path"]
            language, source = self.notebooks.notebook_source(path)
            if language != "PYTHON":
                raise InvalidParameterValue(
                    f"Notebook {path} is a {language} notebook; the local workspace runs Python notebooks only."
                )
            name = self.notebooks.normalize(path)
            if name.startswith("/Repos/"):  # in a Git folder, as on Databricks: its folder is cwd and importable
                base["cwd"] = str(self.local_paths.objects.local_path(name).parent)
            return {**base, "kind": "notebook", "source": source, "name": name}
        if task.settings.get("spark_jar_task") or task.settings.get("spark_submit_task"):
            return {**base, "kind": "spark_submit", "command": self.submit_command(task, argv), "name": task.key}
        wheel = task.settings.get("python_wheel_task")
        if wheel:
            return {
                **base,
                "kind": "wheel",
                "package_name": wheel["package_name"],
                "entry_point": wheel["entry_point"],
                "argv": argv,
                "name": wheel["package_name"],
            }
        file = task.settings["spark_python_task"]["python_file"]
        local = self.local_paths.local_file(file, field="python_file")
        if not local.is_file():
            raise InvalidParameterValue(f"Cannot read the python file {file}: it does not exist.")
        return {**base, "kind": "python", "python_file": str(local), "argv": argv, "name": file}

    def submit_command(self, task: TaskRun, argv: list[str] | None = None) -> list[str]:
        """The spark-submit command of a jar or submit task, on its cluster's Spark settings."""
        settings = task.settings
        if settings.get("spark_jar_task"):
            jar_task = settings["spark_jar_task"]
            jars = self.jars(task)
            if jar_task.get("jar_uri"):
                jars.insert(0, self.local_paths.local_file(jar_task["jar_uri"], field="spark_jar_task.jar_uri"))
            if not jars:
                raise InvalidParameterValue(
                    f'Task {task.key}: a spark_jar_task needs its jar in libraries ([{{"jar": "dbfs:/path/app.jar"}}]).'
                )
            missing = [str(j) for j in jars if not j.is_file()]
            if missing:
                raise InvalidParameterValue(f"Cannot read the jar {missing[0]}: it does not exist.")
            extra = ["--jars", ",".join(str(j) for j in jars[1:])] if len(jars) > 1 else []
            given = argv if argv is not None else task.argv  # parameters, or run-now's jar_params
            arguments = ["--class", jar_task["main_class_name"], *extra, str(jars[0]), *[str(p) for p in given]]
        else:
            jars = self.jars(task)
            extra = ["--jars", ",".join(str(j) for j in jars)] if jars else []
            arguments = [*extra, *[self._local_argument(str(p)) for p in settings["spark_submit_task"]["parameters"]]]
        command = self.clusters.spark_submit_command(task.cluster_id, arguments) if task.cluster_id else None
        if command is None:
            raise InvalidParameterValue(
                f"Task {task.key} runs spark-submit, which needs a cluster with a Spark "
                "driver: start the local workspace with Spark (airbricks serve --spark)."
            )
        return command

    def _local_argument(self, argument: str) -> str:
        """A spark-submit argument naming a file on DBFS, a volume or the workspace, as its local path."""
        if argument.startswith(("dbfs:/", "/dbfs/", "/Volumes/", "/Workspace/")):
            return str(self.local_paths.local_file(argument, field="spark_submit_task.parameters"))
        return argument

    def pip_requirements(self, task: TaskRun) -> list[str]:
        """What ``pip install`` gets for the task's ``libraries``: PyPI requirements and wheel files."""
        out = []
        for i, library in enumerate(task.settings.get("libraries") or []):
            if not isinstance(library, dict):
                raise InvalidParameterValue(f"Invalid value for field 'libraries[{i}]': expected an object")
            if isinstance(library.get("pypi"), dict) and library["pypi"].get("package"):
                out.append(str(library["pypi"]["package"]))
            elif isinstance(library.get("whl"), str):
                out.append(str(self.local_paths.local_file(library["whl"], field=f"libraries[{i}].whl")))
            elif library.get("jar") is not None:
                continue  # for the Spark engine (spark-submit / the driver's class path)
            else:
                kind = next(iter(library), "?")
                raise InvalidParameterValue(
                    f"Library type {kind} (libraries[{i}]) is not supported by the local "
                    "workspace: use pypi, whl or jar."
                )
        return out

    def _cluster_site(self, task: TaskRun) -> dict[str, str]:
        if task.cluster_id and self.cluster_libraries is not None:
            return {"cluster_site": str(self.cluster_libraries.site_dir(task.cluster_id))}
        return {}

    def jars(self, task: TaskRun) -> list[Path]:
        """The task's jar libraries, then its cluster's installed jars."""
        own = [
            self.local_paths.local_file(lib["jar"], field=f"libraries[{i}].jar")
            for i, lib in enumerate(task.settings.get("libraries") or [])
            if isinstance(lib, dict) and lib.get("jar")
        ]
        cluster = (
            self.cluster_libraries.jars(task.cluster_id)
            if task.cluster_id and self.cluster_libraries is not None
            else []
        )
        return own + [j for j in cluster if j not in own]

    def spark_for(self, task: TaskRun) -> dict[str, str]:
        """The Spark driver the task's process connects to, with a session of its own (none: no driver)."""
        remote = self.clusters.spark_remote(task.cluster_id) if task.cluster_id else None
        if remote:
            return {"spark_remote": remote, "spark_session_id": str(uuid.uuid4())}
        return {}

    def kill(self, task: TaskRun) -> None:
        """Kill the task's process (if it has one; the zombie is reaped by a later :meth:`reap`), then end its
        token and redact what it produced: every way a task run ends passes here."""
        proc = self._procs.pop(task.run_id, None)
        if proc is not None:
            proc.kill()
            self._dying.append(proc)
        self._end_identity(task)

    def release_job_cluster(self, cid: str) -> None:
        try:
            self.clusters.terminate(cid, reason=TerminationReason("JOB_FINISHED"))
        except DatabricksError:
            pass

    def mark_active(self, cid: str) -> None:
        try:
            self.clusters.mark_active(cid)
        except DatabricksError:
            pass
