"""Making runs and task runs: a new run of a job (``run-now``, ``runs/submit``) and a for-each iteration.

Construction only - fresh ids, page URLs, widgets and arguments - as plain functions of a :class:`NewRun`
request; :class:`airbricks.workspace.jobs.runs.Runs` indexes what they make, admits it (``max_concurrent_runs``)
and moves it, so the state machine's module holds no record-building code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airbricks.workspace.jobs.run import Run, TaskRun
from airbricks.workspace.shared import Shared


@dataclass(frozen=True)
class NewRun:
    """What a new run is made of: its job, its tasks' validated settings, and the call's parameters."""

    job_id: int
    run_name: str
    run_type: str
    tasks: list[dict[str, Any]]
    job_clusters: list[dict[str, Any]] | None
    timeout_seconds: int | None
    #: ``idempotency_token``: a second call with it answers the first run.
    token: str | None
    #: Job and notebook parameters, over each notebook task's ``base_parameters``.
    widgets: dict[str, str]
    python_params: list[str] | None
    creator: str
    jar_params: list[str] | None = None
    job_parameters: list[dict[str, str]] | None = None
    concurrency_limit: int | None = None
    queue_enabled: bool = False
    parent_task_run_id: int | None = None
    run_as: str = ""
    #: How the run started (``Run.trigger``) and Databricks' ``trigger_info`` for it.
    trigger: str = "ONE_TIME"
    trigger_info: dict[str, Any] | None = None


def task_arguments(spec: dict[str, Any]) -> list[str]:
    """The command-line arguments of a Python-file or wheel task (``named_parameters`` as ``--name=value``)."""
    body = spec.get("spark_python_task") or spec.get("python_wheel_task") or spec.get("spark_jar_task") or {}
    if body.get("named_parameters"):
        return [f"--{k}={v}" for k, v in body["named_parameters"].items()]
    return [str(p) for p in body.get("parameters") or []]


def _widgets(spec: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """A notebook task's ``base_parameters``, overlaid with ``given`` (job parameters win)."""
    base = (spec.get("notebook_task") or {}).get("base_parameters") or {}
    return {**{str(k): str(v) for k, v in base.items()}, **given}


def build_run(shared: Shared, request: NewRun) -> Run:
    """A PENDING run of ``request`` with a task run per task (ids from the store: the run's first)."""
    store = shared.store
    rid = store.next_id("run_id", start=1001)
    task_runs = []
    for spec in request.tasks:
        trid = store.next_id("run_id", start=1001)
        override = request.jar_params if spec.get("spark_jar_task") is not None else request.python_params
        argv = override if override is not None else task_arguments(spec)
        task_runs.append(
            TaskRun(
                run_id=trid,
                settings={**spec, "run_if": spec.get("run_if", "ALL_SUCCESS")},
                page_url=shared.page_url(f"job/{request.job_id}/run/{trid}"),
                widgets=_widgets(spec, request.widgets),
                argv=list(argv),
            )
        )
    return Run(
        run_id=rid,
        job_id=request.job_id,
        run_name=request.run_name,
        run_type=request.run_type,
        creator_user_name=request.creator,
        page_url=shared.page_url(f"job/{request.job_id}/run/{rid}"),
        tasks=task_runs,
        timeout_seconds=int(request.timeout_seconds or 0),
        job_clusters=request.job_clusters or None,
        idempotency_token=request.token,
        job_parameters=request.job_parameters,
        concurrency_limit=request.concurrency_limit,
        parent_task_run_id=request.parent_task_run_id,
        run_as=request.run_as,
        trigger=request.trigger,
        trigger_info=request.trigger_info,
    )


def iteration(parent: TaskRun, index: int, item: Any, run_id: int, page_url: str) -> TaskRun:
    """Iteration ``index`` of a for-each task run: its nested task with ``{{input}}`` set to ``item``."""
    spec = dict(parent.settings["for_each_task"]["task"])
    return TaskRun(
        run_id=run_id,
        settings={**spec, "run_if": spec.get("run_if", "ALL_SUCCESS"), "depends_on": []},
        page_url=page_url,
        argv=task_arguments(spec),
        iteration_of=parent.run_id,
        extra={"input": item, "index": index},
        widgets=_widgets(spec, parent.widgets),
    )
