"""The airbricks operators on Spark-backed clusters, in real Airflow (``dag.test()``)."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import pytest

from airbricks.workspace.server.serve import LocalWorkspace

from .conftest import CLUSTER

CONN_ID = "databricks_spark"


@pytest.fixture
def spark_conn(spark_ws: LocalWorkspace, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", spark_ws.connection_uri)
    return CONN_ID


def test_create_cluster_operator_reports_a_driver_beyond_capacity(
    run_dag, spark_ws: LocalWorkspace, spark_cluster: str, spark_conn: str, spark_sdk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk import DAG

    from airbricks.operators.clusters import DatabricksCreateClusterOperator

    monkeypatch.setattr(spark_ws.workspace.clusters.engine, "max_drivers", 1)  # the shared cluster holds it
    sink: dict[str, Any] = {}
    dag_id = f"spark_capacity_{uuid.uuid4().hex[:6]}"
    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
        DatabricksCreateClusterOperator(
            task_id="start_cluster",
            # its own environment: the default pool's idle driver does not fit it, so it needs a driver of its own
            cluster_spec={**CLUSTER, "cluster_name": dag_id, "spark_env_vars": {"NO_ROOM": "1"}},
            databricks_conn_id=spark_conn,
            poll_interval=1,
            deferrable=False,
            on_failure_callback=lambda context: sink.update(error=str(context["exception"])),
        )
    dr = run_dag(dag)
    assert {ti.task_id: ti.state for ti in dr.get_task_instances()} == {"start_cluster": "failed"}
    code = re.search(r"termination_reason code=(\w+) type=(\w+)", sink["error"])
    assert code and (code[1], code[2]) == ("CLOUD_PROVIDER_RESOURCE_STOCKOUT", "CLOUD_FAILURE"), sink["error"]
    assert "at most 1 Spark drivers" in sink["error"]
    left = [c for c in spark_sdk.clusters.list() if c.cluster_name == dag_id]
    assert left == []  # the operator deleted the cluster that could not launch
