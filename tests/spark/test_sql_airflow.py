"""The provider's SQL operators and sensor, unmodified, in real Airflow (``dag.test()``) on the session's warehouse.

Runs after tests/spark/test_sql.py (file order); the last test stops and starts the shared warehouse, and
leaves it running for tests/spark/test_sql_connector.py, whose module teardown stops it.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient

from airbricks.workspace.server.serve import LocalWorkspace

CONN_ID = "databricks_spark_sql"


@pytest.fixture
def sql_conn(spark_ws: LocalWorkspace, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", spark_ws.connection_uri)
    return CONN_ID


def _states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def test_statements_operator_sync_deferrable_and_sensor(
    run_dag, sql_conn: str, spark_sdk: WorkspaceClient, spark_warehouse: str
) -> None:
    from airflow.providers.databricks.operators.databricks import DatabricksSQLStatementsOperator
    from airflow.providers.databricks.sensors.databricks import DatabricksSQLStatementsSensor
    from airflow.sdk import DAG

    table = f"orders_{uuid.uuid4().hex[:8]}"
    errors: dict[str, str] = {}
    common = {"warehouse_id": spark_warehouse, "databricks_conn_id": sql_conn, "polling_period_seconds": 1}
    with DAG(f"sql_statements_{table}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        create = DatabricksSQLStatementsOperator(
            task_id="create",
            deferrable=False,
            **common,
            statement=f"CREATE TABLE {table} USING parquet AS SELECT id, id * 3 AS amount FROM range(4)",
        )
        count = DatabricksSQLStatementsOperator(
            task_id="count_deferred",
            deferrable=True,
            **common,
            statement=f"SELECT count(*) FROM {table} WHERE amount >= :least",
            parameters=[{"name": "least", "value": "3", "type": "INT"}],
        )
        sensor = DatabricksSQLStatementsSensor(
            task_id="sensor", statement=f"SELECT max(amount) FROM {table}", poke_interval=1, **common
        )
        broken = DatabricksSQLStatementsOperator(
            task_id="broken",
            deferrable=False,
            **common,
            statement="SELECT * FROM no_such_table_here",
            on_failure_callback=lambda context: errors.update(broken=str(context["exception"])),
        )
        create >> [count, sensor, broken]
    dag_run = run_dag(dag)
    assert _states(dag_run) == {
        "create": "success",
        "count_deferred": "success",
        "sensor": "success",
        "broken": "failed",
    }
    assert "TABLE_OR_VIEW_NOT_FOUND" in errors["broken"] and "BAD_REQUEST" in errors["broken"]
    check = spark_sdk.statement_execution.execute_statement(
        f"SELECT sum(amount) FROM {table}", spark_warehouse, wait_timeout="30s"
    )
    assert check.result.data_array == [["18"]]


def test_warehouse_operators_stop_and_a_statement_starts_it_again(
    run_dag, sql_conn: str, spark_sdk: WorkspaceClient, spark_warehouse: str
) -> None:
    from airflow.providers.databricks.operators.databricks import DatabricksSQLStatementsOperator
    from airflow.providers.databricks.operators.warehouse import (
        DatabricksStartWarehouseOperator,
        DatabricksStopWarehouseOperator,
    )
    from airflow.sdk import DAG

    common = {"warehouse_id": spark_warehouse, "databricks_conn_id": sql_conn, "polling_period_seconds": 1}
    with DAG(f"sql_warehouse_{uuid.uuid4().hex[:6]}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        stop = DatabricksStopWarehouseOperator(task_id="stop", **common)
        query = DatabricksSQLStatementsOperator(
            task_id="query_starts_it", statement="SELECT 1", deferrable=False, **common
        )
        start = DatabricksStartWarehouseOperator(task_id="start_is_a_no_op", **common)
        stop >> query >> start
    dag_run = run_dag(dag)
    assert _states(dag_run) == {"stop": "success", "query_starts_it": "success", "start_is_a_no_op": "success"}
    assert spark_sdk.warehouses.get(spark_warehouse).state.value == "RUNNING"
    stopped = spark_sdk.warehouses.stop(spark_warehouse).result(timeout=datetime.timedelta(minutes=2))
    assert stopped.state.value == "STOPPED"
    started = spark_sdk.warehouses.start(spark_warehouse).result(timeout=datetime.timedelta(minutes=5))
    assert started.state.value == "RUNNING" and started.health.status.value == "HEALTHY"
    # Left running for tests/spark/test_sql_connector.py (next in file order), which hands the driver back.
