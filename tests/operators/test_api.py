"""DatabricksApiOperator: any REST call through the provider's hook, against the local workspace."""

from __future__ import annotations

import datetime

import pytest


def _dag(dag_id: str):
    from airflow.sdk import DAG

    return DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)


def test_seed_form_and_hook_form_both_call_the_api(run_dag, dag_id, sink, sdk, ti_states):
    from airflow.sdk import task

    from airbricks.operators.api import DatabricksApiOperator

    with _dag(dag_id) as dag:
        mk = DatabricksApiOperator(task_id="mkdirs", method="POST", endpoint="api/2.0/dbfs/mkdirs",
                                   json={"path": "/ops-api/{{ dag.dag_id }}"})
        status = DatabricksApiOperator(task_id="status", method="GET", endpoint="2.0/dbfs/get-status",
                                       json={"path": "/ops-api/{{ dag.dag_id }}"})

        @task
        def record(value):
            sink["status"] = value

        mk >> status
        record(status.output)

    dr = run_dag(dag)
    assert ti_states(dr) == {"mkdirs": "success", "status": "success", "record": "success"}
    assert sink["status"]["path"] == f"/ops-api/{dag_id}"
    assert sink["status"]["is_dir"] is True
    assert sdk.dbfs.get_status(f"/ops-api/{dag_id}").is_dir


def test_failed_call_carries_error_code_and_message(local_ws):
    from airbricks.hooks import AirbricksDatabricksHook, DatabricksRequestError
    from airbricks.operators.api import DatabricksApiOperator

    op = DatabricksApiOperator(task_id="x", method="GET", endpoint="/api/2.0/dbfs/get-status",
                               json={"path": "/no/such/file"})
    assert isinstance(op.hook, AirbricksDatabricksHook)
    with pytest.raises(DatabricksRequestError) as err:
        op.hook.call(op.method, op.endpoint, op.json)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert err.value.status == 404
    assert "/no/such/file" in err.value.message
    assert "RESOURCE_DOES_NOT_EXIST" in str(err.value)
    assert local_ws.token not in str(err.value)


def test_failed_call_fails_the_task(run_dag, dag_id, ti_states):
    from airbricks.operators.api import DatabricksApiOperator

    with _dag(dag_id) as dag:
        DatabricksApiOperator(task_id="bad", method="GET", endpoint="2.0/dbfs/get-status",
                              json={"path": "relative/path"})
    dr = run_dag(dag)
    assert ti_states(dr) == {"bad": "failed"}
    assert dr.state == "failed"


def test_endpoint_without_version_is_refused():
    from airbricks.hooks import normalize_endpoint

    assert normalize_endpoint("api/2.0/clusters/get") == "2.0/clusters/get"
    assert normalize_endpoint("/2.1/jobs/runs/get") == "2.1/jobs/runs/get"
    with pytest.raises(ValueError, match="API version"):
        normalize_endpoint("clusters/get")
