"""The request schemas of the Jobs API's composite fields, as the generated OpenAPI description shows them.

A task, a job's settings and a task's ``new_cluster`` are nested objects several rows of
:mod:`airbricks.workspace.jobs.routes` share (``jobs/create``, ``runs/submit``); they are declared once here so
the route table stays a table. They describe what fuzzers send, not everything the models accept.
"""

from __future__ import annotations

from typing import Any

from airbricks.workspace.compute.routes import CLUSTER_SPEC_FIELDS
from airbricks.workspace.server.openapi import BOOL, INT, STR, STRS, TAGS, array, obj

Schema = dict[str, Any]

#: A task's ``new_cluster`` is what ``clusters/create`` takes.
NEW_CLUSTER: Schema = obj(**CLUSTER_SPEC_FIELDS)
NOTEBOOK_TASK: Schema = obj(notebook_path=STR, base_parameters=TAGS, source=STR)
TASK: Schema = obj(
    task_key=STR,
    existing_cluster_id=STR,
    new_cluster=NEW_CLUSTER,
    job_cluster_key=STR,
    notebook_task=NOTEBOOK_TASK,
    depends_on=array(obj(task_key=STR)),
    timeout_seconds=INT,
    max_retries=INT,
    run_if=STR,
    min_retry_interval_millis=INT,
    condition_task=obj(op=STR, left=STR, right=STR),
    python_wheel_task=obj(package_name=STR, entry_point=STR, parameters=STRS),
    run_job_task=obj(job_id=INT, job_parameters=TAGS),
    sql_task=obj(warehouse_id=STR, parameters=TAGS, query=obj(query_id=STR)),
    for_each_task=obj(inputs=STR, concurrency=INT, task=obj(task_key=STR, notebook_task=NOTEBOOK_TASK)),
)
TASKS: Schema = array(TASK)
#: ``jobs/create``'s body (the job's settings).
JOB_SETTINGS: dict[str, Schema] = {
    "name": STR,
    "tasks": TASKS,
    "timeout_seconds": INT,
    "max_concurrent_runs": INT,
    "tags": TAGS,
    "job_clusters": array(obj(job_cluster_key=STR, new_cluster=NEW_CLUSTER)),
    "parameters": array(obj(name=STR, default=STR)),
    "queue": obj(enabled=BOOL),
    "schedule": obj(quartz_cron_expression=STR, timezone_id=STR, pause_status=STR),
    "trigger": obj(
        pause_status=STR,
        periodic=obj(interval=INT, unit=STR),
        file_arrival=obj(url=STR, min_time_between_triggers_seconds=INT, wait_after_last_change_seconds=INT),
        table_update=obj(
            table_names=STRS, condition=STR, min_time_between_triggers_seconds=INT, wait_after_last_change_seconds=INT
        ),
    ),
    "continuous": obj(pause_status=STR),
}
