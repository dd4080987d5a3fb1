"""The provider's ``DatabricksWorkflowTaskGroup`` on the local workspace with notebook tasks and a
``sql_task`` in one job (the job is accepted, the notebook tasks succeed), and its repair path
(``get_latest_repair_id`` then ``runs/repair``, as the provider's repair view sends it)."""

from __future__ import annotations

import datetime
import time
import uuid

from databricks.sdk.service import sql
from databricks.sdk.service.workspace import ImportFormat, Language

from operators.conftest import dag_id, ti_states  # noqa: F401

POLL = 0.2
GREET = "# Databricks notebook source\ndbutils.notebook.exit('hello ' + dbutils.widgets.get('name'))\n"
#: Fails on its first attempt (a counter file on DBFS), passes on the retry.
FLAKY = (
    "# Databricks notebook source\np = dbutils.widgets.get('counter')\ntry:\n    n = int(dbutils.fs.head(p))\n"
    "except Exception:\n    n = 0\ndbutils.fs.put(p, str(n + 1), True)\nif n == 0:\n"
    "    raise RuntimeError('first attempt fails')\ndbutils.notebook.exit('passed')\n"
)


def test_workflow_group_with_notebooks_and_a_sql_task_then_repair(run_dag, dag_id, ti_states, sdk):
    from airflow.providers.databricks.hooks.databricks import DatabricksHook
    from airflow.providers.databricks.operators.databricks import DatabricksNotebookOperator, DatabricksTaskOperator
    from airflow.providers.databricks.operators.databricks_workflow import DatabricksWorkflowTaskGroup
    from airflow.sdk import DAG

    path = f"/Shared/job-features/{uuid.uuid4().hex[:8]}"
    sdk.workspace.mkdirs("/Shared/job-features")
    sdk.workspace.upload(path, GREET.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON)
    sdk.workspace.upload(path + "-flaky", FLAKY.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON)
    warehouse = sdk.warehouses.create(
        name=f"wf-{uuid.uuid4().hex[:6]}", cluster_size="2X-Small", max_num_clusters=1
    ).response.id
    query = sdk.queries.create(
        query=sql.CreateQueryRequestQuery(display_name="one", query_text="SELECT 1", warehouse_id=warehouse)
    )
    assert sdk.queries.get(query.id).query_text == "SELECT 1"
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
        with DatabricksWorkflowTaskGroup(group_id="workflow", databricks_conn_id="databricks_default"):
            first = DatabricksNotebookOperator(
                task_id="first",
                notebook_path=path,
                source="WORKSPACE",
                polling_period_seconds=POLL,
                notebook_params={"name": "first"},
            )
            second = DatabricksNotebookOperator(
                task_id="second",
                notebook_path=path,
                source="WORKSPACE",
                polling_period_seconds=POLL,
                notebook_params={"name": "second"},
            )
            query_task = DatabricksTaskOperator(
                task_id="query",
                polling_period_seconds=POLL,
                task_config={"sql_task": {"warehouse_id": warehouse, "query": {"query_id": query.id}}},
            )
            flaky = DatabricksNotebookOperator(
                task_id="flaky",
                notebook_path=path + "-flaky",
                source="WORKSPACE",
                polling_period_seconds=POLL,
                max_retries=1,
                min_retry_interval_millis=50,
                notebook_params={"counter": f"dbfs:/tmp/job-features/{uuid.uuid4().hex}"},
            )
            first >> [second, query_task, flaky]
    states = ti_states(run_dag(dag))
    assert states["workflow.launch"] == "success" and states["workflow.first"] == "success", states
    assert states["workflow.second"] == "success", states
    # Databricks retried the flaky task itself; the provider waited for the retry and saw it pass.
    assert states["workflow.flaky"] == "success", states
    (job,) = sdk.jobs.list(name=f"{dag_id}.workflow")
    (run,) = sdk.jobs.list_runs(job_id=job.job_id, expand_tasks=True)
    deadline = time.monotonic() + 30
    while sdk.jobs.get_run(run.run_id).state.life_cycle_state.value not in ("TERMINATED", "INTERNAL_ERROR"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run = sdk.jobs.get_run(run.run_id)
    tasks = {t.task_key: t for t in sorted(run.tasks, key=lambda t: t.attempt_number)}
    flaky_key = next(
        k for k, t in tasks.items() if t.notebook_task and t.notebook_task.notebook_path.endswith("-flaky")
    )
    attempts = [(t.attempt_number, t.state.result_state.value) for t in run.tasks if t.task_key == flaky_key]
    assert sorted(attempts) == [(0, "FAILED"), (1, "SUCCESS")]
    sql_key = next(k for k, t in tasks.items() if t.sql_task is not None)
    assert tasks[sql_key].sql_task.query.query_id == query.id
    # No Spark in this workspace: the sql_task ends FAILED saying what is missing, the others are not blocked.
    assert tasks[sql_key].state.result_state.value == "FAILED"
    assert "SQL warehouses run on Spark" in tasks[sql_key].state.state_message
    outputs = sorted(
        sdk.jobs.get_run_output(t.run_id).notebook_output.result for t in tasks.values() if t.notebook_task is not None
    )
    assert outputs == ["hello first", "hello second", "passed"]

    hook = DatabricksHook(databricks_conn_id="databricks_default", retry_delay=0.1)
    assert hook.get_latest_repair_id(run.run_id) is None
    first_key = next(
        k for k, t in tasks.items() if t.notebook_task and t.notebook_task.base_parameters["name"] == "first"
    )
    repair_id = hook.repair_run({"run_id": run.run_id, "latest_repair_id": None, "rerun_tasks": [first_key]})
    deadline = time.monotonic() + 30
    while sdk.jobs.get_run(run.run_id).state.life_cycle_state.value not in ("TERMINATED", "INTERNAL_ERROR"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert hook.get_latest_repair_id(run.run_id) == repair_id
    repaired = sdk.jobs.get_run(run.run_id)
    firsts = [t for t in repaired.tasks if t.task_key == first_key]
    assert len(firsts) == 2 and firsts[1].state.result_state.value == "SUCCESS"
    assert len([t for t in repaired.tasks if t.task_key == sql_key]) == 1, "only the asked task reran"
    sdk.jobs.delete(job.job_id)
    sdk.queries.delete(query.id)
    sdk.warehouses.delete(warehouse)
