"""Task settings: the legacy single-task form, and validation of a task list as the Jobs API does it.

Used by ``jobs/create``/``reset``/``update`` and ``runs/submit``, so a bad task list is refused (400 naming
the field) before any run starts.
"""

from __future__ import annotations

from typing import Any

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.jobs.tasks import TASK_TYPES
from airbricks.workspace.jobs.tasks.validation import check_body, check_outcomes, check_retries

RUN_IF = ("ALL_SUCCESS", "ALL_DONE", "NONE_FAILED", "AT_LEAST_ONE_SUCCESS", "ALL_FAILED", "AT_LEAST_ONE_FAILED")
#: Task types that run with spark-submit: they need a cluster (its Spark settings are theirs).
SUBMIT_TYPES = ("spark_jar_task", "spark_submit_task")
LEGACY_TASK_FIELDS = (
    "notebook_task",
    "spark_python_task",
    "spark_jar_task",
    "spark_submit_task",
    "python_wheel_task",
    "existing_cluster_id",
    "new_cluster",
    "libraries",
    "timeout_seconds",
    "max_retries",
    "min_retry_interval_millis",
    "retry_on_timeout",
)
DEFAULT_TASK_KEY = "__default__"


def lift_legacy_task(body: dict[str, Any], default_key: str) -> dict[str, Any]:
    """Settings in the multi-task form: a request's legacy top-level task fields (``notebook_task``,
    ``existing_cluster_id``, ...) become one task named ``default_key``; request-only fields are dropped."""
    settings = {
        k: v
        for k, v in body.items()
        if k == "timeout_seconds"
        or k not in LEGACY_TASK_FIELDS
        and k not in ("access_control_list", "idempotency_token")
    }
    tasks = body.get("tasks")
    if tasks is not None:
        if not isinstance(tasks, list):
            raise InvalidParameterValue("Invalid value for field 'tasks': expected an array")
        settings["tasks"] = tasks
    elif any(
        body.get(f) is not None
        for f in ("notebook_task", "spark_python_task", "spark_jar_task", "spark_submit_task", "python_wheel_task")
    ):
        task = {f: body[f] for f in LEGACY_TASK_FIELDS if body.get(f) is not None and f != "timeout_seconds"}
        task["task_key"] = default_key
        settings["tasks"] = [task]
    else:
        settings["tasks"] = []
    return settings


def key_from_name(name: str | None) -> str:
    """A task_key from a run name (letters, digits, ``_-``), as the service derives it for legacy submits."""
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in (name or ""))[:100]
    return cleaned or DEFAULT_TASK_KEY


def validate_tasks(tasks: list[Any], job_cluster_keys: set[str]) -> list[dict[str, Any]]:
    """Check a task list (keys, types, clusters, dependencies without cycles); 400 naming the field."""
    if not tasks:
        raise InvalidParameterValue(
            "At least one task is required: pass 'tasks' (or a legacy notebook_task / "
            "spark_python_task at the top level)."
        )
    keys: list[str] = []
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise InvalidParameterValue(f"Invalid value for field 'tasks[{i}]': expected an object")
        key = task.get("task_key")
        if not isinstance(key, str) or not key:
            raise InvalidParameterValue(f"Missing required field: tasks[{i}].task_key")
        if key in keys:
            raise InvalidParameterValue(f"Task key {key} is duplicated: task_key must be unique within a job.")
        keys.append(key)
        kinds = [t for t in TASK_TYPES if task.get(t) is not None]
        if len(kinds) != 1:
            raise InvalidParameterValue(f"Task {key} must have exactly one of {', '.join(TASK_TYPES)}.")
        check_body(f"tasks[{i}]", key, kinds[0], task[kinds[0]])
        check_retries(f"tasks[{i}]", task)
        body = task[kinds[0]]
        if kinds[0] == "spark_submit_task" and not isinstance(body.get("parameters"), list):
            raise InvalidParameterValue(
                f"Missing required field: tasks[{i}].spark_submit_task.parameters (the "
                'spark-submit arguments, e.g. ["--class", "Main", "dbfs:/app.jar"])'
            )
        if kinds[0] == "for_each_task" and isinstance(body["task"], dict):
            validate_tasks([body["task"]], job_cluster_keys)
        if kinds[0] in SUBMIT_TYPES and not any(
            task.get(c) for c in ("existing_cluster_id", "new_cluster", "job_cluster_key")
        ):
            raise InvalidParameterValue(
                f"Task {key}: a {kinds[0]} needs a cluster (existing_cluster_id, new_cluster or job_cluster_key)."
            )
        clusters = [c for c in ("existing_cluster_id", "new_cluster", "job_cluster_key") if task.get(c)]
        if len(clusters) > 1:
            raise InvalidParameterValue(
                f"Task {key} can set only one of existing_cluster_id, new_cluster, job_cluster_key."
            )
        jck = task.get("job_cluster_key")
        if jck and jck not in job_cluster_keys:
            raise InvalidParameterValue(
                f"Task {key} refers to job_cluster_key {jck}, which is not defined in job_clusters."
            )
        run_if = task.get("run_if", "ALL_SUCCESS")
        if run_if not in RUN_IF:
            raise InvalidParameterValue(f"Invalid run_if '{run_if}' for task {key}: use one of {', '.join(RUN_IF)}.")
    for task in tasks:
        for dep in task.get("depends_on") or []:
            if not isinstance(dep, dict) or dep.get("task_key") not in keys:
                raise InvalidParameterValue(
                    f"Task {task['task_key']} depends on {dep!r}, which is not a task_key of this job."
                )
    check_outcomes(tasks)
    order: list[str] = []
    deps = {t["task_key"]: {d["task_key"] for d in t.get("depends_on") or []} for t in tasks}
    while len(order) < len(keys):
        ready = [k for k in keys if k not in order and deps[k] <= set(order)]
        if not ready:
            raise InvalidParameterValue(
                f"The task dependencies contain a cycle: {', '.join(k for k in keys if k not in order)}."
            )
        order.extend(ready)
    return tasks


def job_cluster_keys(job_clusters: Any) -> set[str]:
    if job_clusters is None:
        return set()
    if not isinstance(job_clusters, list) or not all(
        isinstance(c, dict) and c.get("job_cluster_key") for c in job_clusters
    ):
        raise InvalidParameterValue(
            "Invalid value for field 'job_clusters': each entry needs a job_cluster_key and a new_cluster."
        )
    return {c["job_cluster_key"] for c in job_clusters}
