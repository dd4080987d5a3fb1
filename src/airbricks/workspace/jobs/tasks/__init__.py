"""Task types beyond the kernel's notebook and Python-file tasks, and the job features around them.

- :mod:`.validation`: what ``jobs/create`` / ``runs/submit`` check per task type (every type the Jobs API
  knows is accepted; the ones the local workspace cannot run end FAILED at run time, never a 400).
- :mod:`.references`: dynamic value references (``{{job.id}}``, ``{{tasks.<key>.values.<name>}}``...).
- :mod:`.drivers`, :mod:`.for_each`, :mod:`.sql`: task types that run inside the server (condition,
  run job, for each, SQL, the refused ones) as process-like objects the run state machine polls.
- :mod:`.attempts`: retries (``max_retries``) and ``runs/repair``; :mod:`.queueing`: ``max_concurrent_runs``.
- :mod:`.queries`: the minimal ``/api/2.0/sql/queries`` model a ``sql_task`` with a ``query`` needs.
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
