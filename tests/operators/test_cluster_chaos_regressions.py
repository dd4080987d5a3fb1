"""Regressions found by the chaos run (benchmarks/chaos.py): a create task whose last try fails on the API.

Seen in the 30-run chaos run: ``start_cluster`` (deferrable, second and last try) created its cluster, then
``clusters/get`` answered 503 more times than the hook retries.  The task failed, the teardown was skipped
(its setup failed) and nothing deleted the cluster; the task log said only "503 Server Error", not
Databricks' ``error_code``.
"""

from __future__ import annotations

import datetime

import pytest


def _setup_teardown_dag(dag_id: str, sink: dict, deferrable: bool):
    from airflow.sdk import DAG

    from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator
    from airbricks.operators.clusters import DatabricksCreateClusterOperator

    def record(context):
        sink["error"] = str(context.get("exception"))

    with DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
        create = DatabricksCreateClusterOperator(
            task_id="start_cluster",
            poll_interval=0.2,
            timeout=60,
            deferrable=deferrable,
            retries=0,
            databricks_retry_limit=2,
            databricks_retry_delay=0.1,
            on_failure_callback=record,
            cluster_spec={
                "cluster_name": "chaos-regression",
                "spark_version": "15.4.x-scala2.12",
                "node_type_id": "i3.xlarge",
                "num_workers": 1,
            },
        )
        delete = DatabricksDeleteClusterOperator(
            task_id="delete_cluster", cluster_id="{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}"
        )
        create >> delete.as_teardown(setups=create)
    return dag


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_last_try_failing_on_api_errors_deletes_its_cluster_and_names_the_error(
    run_dag, dag_id, sink, ti_states, clusters_ever, add_faults, deferrable
):
    add_faults({"path": "clusters/get", "method": "GET", "status": 503})  # every clusters/get, no count
    dr = run_dag(_setup_teardown_dag(dag_id, sink, deferrable))
    states = ti_states(dr)
    assert states["start_cluster"] == "failed"
    assert states["delete_cluster"] != "success"  # the teardown does not run after a failed setup
    assert "TEMPORARILY_UNAVAILABLE" in sink["error"], sink["error"]  # Databricks' reason, not just "503"
    created = clusters_ever(dag_id)
    assert len(created) == 1
    assert created[0]["deleted"] is True, created  # the task deleted what it created


def test_hook_names_the_databricks_error_when_retries_run_out(local_ws, add_faults):
    from airbricks.errors import DatabricksRequestError
    from airbricks.hooks import AirbricksDatabricksHook

    add_faults({"path": "clusters/list", "status": 429, "retry_after": 0})
    hook = AirbricksDatabricksHook(retry_limit=2, retry_delay=0.1)
    with pytest.raises(DatabricksRequestError) as info:
        hook.call("GET", "2.1/clusters/list")
    assert info.value.status == 429
    assert info.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert local_ws.token not in str(info.value)
