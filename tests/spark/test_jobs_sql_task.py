"""``sql_task`` in jobs on the session's warehouse: a saved query (``/api/2.0/sql/queries``) with parameters,
a workspace SQL file, a failing query, and an alert refused at run time - all in one job run."""

from __future__ import annotations

import datetime
import io
import time
import uuid

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs, sql
from databricks.sdk.service.workspace import ImportFormat


def test_sql_tasks_run_queries_and_files_on_the_warehouse(spark_sdk: WorkspaceClient, spark_warehouse: str) -> None:
    table = f"sql_task_{uuid.uuid4().hex[:8]}"
    create = spark_sdk.queries.create(
        query=sql.CreateQueryRequestQuery(
            display_name="create",
            warehouse_id=spark_warehouse,
            query_text=f"CREATE TABLE {table} USING parquet AS SELECT CAST(:n AS INT) AS n",
        )
    )
    broken = spark_sdk.queries.create(
        query=sql.CreateQueryRequestQuery(
            display_name="broken", warehouse_id=spark_warehouse, query_text="SELECT * FROM no_such_table_here"
        )
    )
    path = f"/Shared/spark-tests/{table}.sql"
    spark_sdk.workspace.mkdirs("/Shared/spark-tests")
    spark_sdk.workspace.upload(
        path,
        io.BytesIO(f"-- adds two rows\nINSERT INTO {table} VALUES (2);\nINSERT INTO {table} VALUES (3);\n".encode()),
        format=ImportFormat.RAW,
    )
    run_id = spark_sdk.jobs.submit(
        run_name="sql-tasks",
        tasks=[
            jobs.SubmitTask(
                task_key="create",
                sql_task=jobs.SqlTask(
                    warehouse_id=spark_warehouse, query=jobs.SqlTaskQuery(query_id=create.id), parameters={"n": "40"}
                ),
            ),
            jobs.SubmitTask(
                task_key="insert",
                depends_on=[jobs.TaskDependency("create")],
                sql_task=jobs.SqlTask(warehouse_id=spark_warehouse, file=jobs.SqlTaskFile(path=path)),
            ),
            jobs.SubmitTask(
                task_key="broken",
                sql_task=jobs.SqlTask(warehouse_id=spark_warehouse, query=jobs.SqlTaskQuery(query_id=broken.id)),
            ),
            jobs.SubmitTask(
                task_key="alert",
                sql_task=jobs.SqlTask(warehouse_id=spark_warehouse, alert=jobs.SqlTaskAlert(alert_id="a1")),
            ),
        ],
    ).response.run_id
    deadline = time.monotonic() + 120
    while (run := spark_sdk.jobs.get_run(run_id)).state.life_cycle_state.value not in ("TERMINATED", "INTERNAL_ERROR"):
        assert time.monotonic() < deadline, run.state
        time.sleep(0.1)
    states = {t.task_key: t.state for t in run.tasks}
    assert {k: s.result_state.value for k, s in states.items()} == {
        "create": "SUCCESS",
        "insert": "SUCCESS",
        "broken": "FAILED",
        "alert": "FAILED",
    }, states
    assert "no_such_table_here" in states["broken"].state_message
    assert "it has no SQL alerts" in states["alert"].state_message
    insert = next(t for t in run.tasks if t.task_key == "insert")
    query_output = spark_sdk.jobs.get_run_output(insert.run_id).sql_output.query_output
    assert query_output.warehouse_id == spark_warehouse and f"INSERT INTO {table} VALUES (3)" in query_output.query_text
    assert len(query_output.sql_statements) == 2
    total = spark_sdk.statement_execution.execute_statement(
        statement=f"SELECT sum(n) FROM {table}", warehouse_id=spark_warehouse, wait_timeout="30s"
    )
    assert total.result.data_array == [["45"]]
    spark_sdk.statement_execution.execute_statement(
        statement=f"DROP TABLE {table}", warehouse_id=spark_warehouse, wait_timeout="30s"
    )
    for query in (create, broken):
        spark_sdk.queries.delete(query.id)
    assert spark_sdk.queries.get(create.id).lifecycle_state == sql.LifecycleState.TRASHED


def test_run_now_sql_params_reach_the_jobs_sql_task(spark_sdk: WorkspaceClient, spark_warehouse: str) -> None:
    """``sql_params`` (run-now's older form of job parameters for SQL tasks) fill the query's ``:names``."""
    table = f"sql_params_{uuid.uuid4().hex[:8]}"
    query = spark_sdk.queries.create(
        query=sql.CreateQueryRequestQuery(
            display_name="create",
            warehouse_id=spark_warehouse,
            query_text=f"CREATE TABLE {table} USING parquet AS SELECT CAST(:n AS INT) AS n, :who AS who",
        )
    )
    job = spark_sdk.jobs.create(
        name=table,
        tasks=[
            jobs.Task(
                task_key="create",
                sql_task=jobs.SqlTask(
                    warehouse_id=spark_warehouse,
                    query=jobs.SqlTaskQuery(query_id=query.id),
                    parameters={"n": "1", "who": "x"},
                ),
            )
        ],
    )
    try:
        run = spark_sdk.jobs.run_now(job.job_id, sql_params={"n": "7", "who": "airflow"}).result(
            timeout=datetime.timedelta(minutes=2)
        )
        assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
        rows = spark_sdk.statement_execution.execute_statement(
            statement=f"SELECT n, who FROM {table}", warehouse_id=spark_warehouse, wait_timeout="30s"
        )
        assert rows.result.data_array == [["7", "airflow"]]
    finally:
        spark_sdk.statement_execution.execute_statement(
            statement=f"DROP TABLE IF EXISTS {table}", warehouse_id=spark_warehouse, wait_timeout="30s"
        )
        spark_sdk.jobs.delete(job.job_id)
        spark_sdk.queries.delete(query.id)
