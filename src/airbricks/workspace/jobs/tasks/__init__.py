"""Task types beyond the kernel's notebook and Python-file tasks, and the job features around them.

- :mod:`.validation`: what ``jobs/create`` / ``runs/submit`` check per task type (every type the Jobs API
  knows is accepted; the ones the local workspace cannot run end FAILED at run time, never a 400).
- :mod:`.drivers`, :mod:`.for_each`, :mod:`.sql`: task types that run inside the server (condition,
  run job, for each, SQL, the refused ones) as process-like objects the run state machine polls;
  :mod:`.start` picks a task's driver.
- Beside this package: :mod:`airbricks.workspace.jobs.references` (dynamic value references such as
  ``{{job.id}}``), :mod:`airbricks.workspace.jobs.attempts` (retries and ``runs/repair``),
  :mod:`airbricks.workspace.jobs.queueing` (``max_concurrent_runs``); the saved queries a ``sql_task`` runs
  are :mod:`airbricks.workspace.sql.queries`.
"""

#: Task types the server runs itself (no kernel process).
SERVER_TYPES = (
    "condition_task",
    "run_job_task",
    "for_each_task",
    "sql_task",
    "dbt_task",
    "pipeline_task",
    "clean_rooms_notebook_task",
    "dashboard_task",
    "power_bi_task",
    "gen_ai_compute_task",
)
#: Task types run by the kernel process.
KERNEL_TYPES = ("notebook_task", "spark_python_task", "python_wheel_task", "spark_jar_task", "spark_submit_task")
TASK_TYPES = KERNEL_TYPES + SERVER_TYPES


def task_type(settings: dict) -> str:
    """The task's type (its one ``*_task`` field)."""
    return next((t for t in TASK_TYPES if settings.get(t) is not None), "")
