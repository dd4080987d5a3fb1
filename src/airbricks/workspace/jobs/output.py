"""What ``runs/get-output`` and ``runs/export`` show of a task run (plain data from the run and its files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.jobs import process as runner
from airbricks.workspace.jobs.run import Run, TaskRun
from airbricks.workspace.kernel.cells import CELLS_FILE

LOG_TYPES = ("spark_python_task", "spark_jar_task", "spark_submit_task", "python_wheel_task")


def output(run: Run, task: TaskRun | None, data_dir: Path, *, single_task_parent_ok: bool) -> dict[str, Any]:
    """``runs/get-output`` of a task run; a parent run is refused (API 2.0: unless it has one task)."""
    if task is None:
        if len(run.current) != 1 or not single_task_parent_ok:
            raise InvalidParameterValue(
                "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the "
                "output of each individual task run instead."
            )
        task = run.current[0]
    out: dict[str, Any] = {"metadata": run.task_view(task)}
    if task.extra.get("child_run_id"):
        out["run_job_output"] = {"run_id": task.extra["child_run_id"]}
    if task.extra.get("sql_output"):
        out["sql_output"] = task.extra["sql_output"]
    outcome = task.output
    if outcome is None:
        if task.state.life_cycle_state == "INTERNAL_ERROR":
            out["error"] = task.state.state_message
        return out
    if outcome["status"] == "FAILED":
        out["error"] = outcome.get("error", "")
        out["error_trace"] = outcome.get("error_trace", "")
    elif task.settings.get("notebook_task"):
        out["notebook_output"] = (
            {"result": outcome["result"], "truncated": bool(outcome.get("truncated"))}
            if outcome.get("result") is not None
            else {}
        )
    if any(task.settings.get(k) for k in LOG_TYPES):
        out["logs"] = runner.log_tail(runner.run_dir(data_dir, task.run_id))
        out["logs_truncated"] = False
    return out


def exported(run: Run, task: TaskRun | None, run_dir: Callable[[TaskRun], Path]) -> tuple[str, Path]:
    """(notebook path, cells file) of the notebook task run ``runs/export`` renders."""
    if task is None:
        if len(run.current) != 1:
            raise InvalidParameterValue(
                "Exporting runs with multiple tasks is not supported. Please export each task run instead."
            )
        task = run.current[0]
    notebook = task.settings.get("notebook_task")
    if not notebook:
        raise InvalidParameterValue(f"Run {task.run_id} is not a notebook run: only notebook runs can be exported.")
    return notebook["notebook_path"], run_dir(task) / CELLS_FILE
