"""Which driver runs an in-server task, and what a kernel learns of its job run (task values, ids)."""

from __future__ import annotations

import logging
from typing import Any

from airbricks.workspace.jobs.run import Phase, Run, TaskRun
from airbricks.workspace.jobs.tasks import task_type
from airbricks.workspace.jobs.tasks.drivers import REFUSED, Condition, Done, Host, RunJob, ServerTask, failed
from airbricks.workspace.jobs.tasks.for_each import ForEach
from airbricks.workspace.jobs.tasks.sql import Sql

log = logging.getLogger("airbricks.workspace.jobs.runs")

DRIVERS = {"condition_task": Condition, "run_job_task": RunJob, "for_each_task": ForEach, "sql_task": Sql}

__all__ = ["Host", "job_context", "start_server_task"]


def start_server_task(host: Host, run: Run, task: TaskRun) -> ServerTask:
    """The driver of an in-server task; a driver that cannot start fails its task, never the whole run."""
    kind = task_type(task.settings)
    if kind in REFUSED:
        return Done(host, run, task, failed(REFUSED[kind]))
    try:
        return DRIVERS[kind](host, run, task)
    except Exception as err:
        log.exception("task run %s (%s) could not start", task.run_id, kind)
        return Done(host, run, task, failed(f"The {kind} {task.key} could not start: {type(err).__name__}: {err}"))


def task_values(run: Run) -> dict[str, dict[str, Any]]:
    """The values set by the run's finished tasks (``dbutils.jobs.taskValues.get`` reads them)."""
    return {
        t.key: dict((t.output or {}).get("task_values") or {})
        for t in run.current
        if t.phase is Phase.DONE and (t.output or {}).get("task_values")
    }


def job_context(run: Run, task: TaskRun) -> dict[str, Any]:
    """What a kernel knows of the run it is part of (task values, ids for ``getContext``)."""
    return {
        "task_values": task_values(run),
        "job": {
            "job_id": run.job_id,
            "run_id": run.run_id,
            "task_run_id": task.run_id,
            "task_key": task.key,
            "attempt_number": task.attempt_number,
        },
    }
