"""Per-type checks of a task's body, as ``jobs/create`` and ``runs/submit`` make them (400 naming the field).

Every task type of the Jobs API is accepted here when its required fields are there; whether the local
workspace can run it is decided at run time (:mod:`.drivers`), so one unsupported task never blocks a job.
"""

from __future__ import annotations

from typing import Any

from airbricks.workspace.errors import InvalidParameterValue

CONDITION_OPS = ("EQUAL_TO", "NOT_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL")
#: The fields each type needs (none listed: its body may be empty, e.g. a jar task's jar is a library).
REQUIRED: dict[str, tuple[str, ...]] = {
    "notebook_task": ("notebook_path",),
    "spark_python_task": ("python_file",),
    "spark_jar_task": ("main_class_name",),
    "spark_submit_task": (),
    "python_wheel_task": ("package_name", "entry_point"),
    "sql_task": ("warehouse_id",),
    "run_job_task": ("job_id",),
    "condition_task": ("op", "left", "right"),
    "for_each_task": ("inputs", "task"),
    "dbt_task": ("commands",),
    "pipeline_task": ("pipeline_id",),
    "clean_rooms_notebook_task": ("clean_room_name", "notebook_name"),
    "dashboard_task": (),
    "power_bi_task": (),
    "gen_ai_compute_task": ("dl_runtime_image",),
}
SQL_KINDS = ("query", "file", "alert", "dashboard")
MAX_CONCURRENCY = 100


def check_body(where: str, key: str, kind: str, body: Any) -> None:
    """Raise 400 when the ``kind`` body of task ``key`` (at ``where``, e.g. ``tasks[0]``) is malformed."""
    if not isinstance(body, dict):
        raise InvalidParameterValue(f"Invalid value for field '{where}.{kind}': expected an object")
    for name in REQUIRED[kind]:
        value = body.get(name)
        if value is None or value == "" or value == []:
            raise InvalidParameterValue(f"Missing required field: {where}.{kind}.{name}")
    if kind == "condition_task":
        if body["op"] not in CONDITION_OPS:
            raise InvalidParameterValue(
                f"Invalid value for field '{where}.condition_task.op': {body['op']!r}; use "
                f"one of {', '.join(CONDITION_OPS)}."
            )
    elif kind == "sql_task":
        given = [k for k in SQL_KINDS if body.get(k) is not None]
        if len(given) != 1:
            raise InvalidParameterValue(f"Task {key}: a sql_task needs exactly one of {', '.join(SQL_KINDS)}.")
        if body.get("parameters") is not None and not isinstance(body["parameters"], dict):
            raise InvalidParameterValue(
                f"Invalid value for field '{where}.sql_task.parameters': expected an object of strings"
            )
        needed = {"query": "query_id", "file": "path", "alert": "alert_id", "dashboard": "dashboard_id"}[given[0]]
        if not isinstance(body[given[0]], dict) or not body[given[0]].get(needed):
            raise InvalidParameterValue(f"Missing required field: {where}.sql_task.{given[0]}.{needed}")
    elif kind == "for_each_task":
        concurrency = body.get("concurrency", 1)
        if not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
            raise InvalidParameterValue(
                f"Invalid value for field '{where}.for_each_task.concurrency': it must be "
                f"between 1 and {MAX_CONCURRENCY}."
            )
        if not isinstance(body["inputs"], str):
            raise InvalidParameterValue(
                f"Invalid value for field '{where}.for_each_task.inputs': expected a JSON "
                "array as a string, or a reference such as {{tasks.t.values.v}}."
            )
        if not isinstance(body["task"], dict):
            raise InvalidParameterValue(
                f"Invalid value for field '{where}.for_each_task.task': expected a task "
                "object (task_key and one *_task)."
            )
        if body["task"].get("for_each_task") is not None:
            raise InvalidParameterValue(f"Task {key}: a for_each_task cannot contain another for_each_task.")
    elif kind == "run_job_task":
        try:
            int(body["job_id"])
        except (TypeError, ValueError):
            raise InvalidParameterValue(
                f"Invalid value for field '{where}.run_job_task.job_id': expected a job id"
            ) from None


def check_retries(where: str, task: dict[str, Any]) -> None:
    """``max_retries`` (-1: retry forever), ``min_retry_interval_millis`` and ``retry_on_timeout``."""
    retries = task.get("max_retries")
    if retries is not None and (not isinstance(retries, int) or retries < -1):
        raise InvalidParameterValue(f"Invalid value for field '{where}.max_retries': use -1 (unlimited), 0 or more.")
    interval = task.get("min_retry_interval_millis")
    if interval is not None and (not isinstance(interval, int) or interval < 0):
        raise InvalidParameterValue(
            f"Invalid value for field '{where}.min_retry_interval_millis': expected a number of milliseconds >= 0."
        )


def check_outcomes(tasks: list[dict[str, Any]]) -> None:
    """``depends_on[].outcome`` only on a condition task, as ``"true"`` or ``"false"``."""
    conditions = {t["task_key"] for t in tasks if t.get("condition_task") is not None}
    for task in tasks:
        for dep in task.get("depends_on") or []:
            outcome = dep.get("outcome")
            if outcome is None:
                continue
            if dep["task_key"] not in conditions:
                raise InvalidParameterValue(
                    f"Task {task['task_key']} depends on {dep['task_key']} with an outcome, "
                    "but only a condition_task has an outcome."
                )
            if outcome not in ("true", "false"):
                raise InvalidParameterValue(
                    f'Invalid outcome {outcome!r} in the depends_on of task {task["task_key"]}: use "true" or "false".'
                )
