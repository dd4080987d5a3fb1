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
        mk = DatabricksApiOperator(
            task_id="mkdirs", method="POST", endpoint="api/2.0/dbfs/mkdirs", json={"path": "/ops-api/{{ dag.dag_id }}"}
        )
        status = DatabricksApiOperator(
            task_id="status", method="GET", endpoint="2.0/dbfs/get-status", json={"path": "/ops-api/{{ dag.dag_id }}"}
        )

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
    from airbricks.errors import DatabricksRequestError
    from airbricks.hooks import AirbricksDatabricksHook
    from airbricks.operators.api import DatabricksApiOperator

    op = DatabricksApiOperator(
        task_id="x", method="GET", endpoint="/api/2.0/dbfs/get-status", json={"path": "/no/such/file"}
    )
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
        DatabricksApiOperator(
            task_id="bad", method="GET", endpoint="2.0/dbfs/get-status", json={"path": "relative/path"}
        )
    dr = run_dag(dag)
    assert ti_states(dr) == {"bad": "failed"}
    assert dr.state == "failed"


def test_endpoint_without_version_is_refused():
    from airbricks.hooks import normalize_endpoint

    assert normalize_endpoint("api/2.0/clusters/get") == "2.0/clusters/get"
    assert normalize_endpoint("/2.1/jobs/runs/get") == "2.1/jobs/runs/get"
    with pytest.raises(ValueError, match="API version"):
        normalize_endpoint("clusters/get")


def test_hook_raw_bytes_roundtrip_through_files_api(local_ws, sdk, create_volume):
    """PUT/GET/HEAD and directory listing with the provider hook's own auth, sync and async."""
    import asyncio

    from airbricks.errors import DatabricksRequestError
    from airbricks.hooks import AirbricksDatabricksHook

    hook = AirbricksDatabricksHook()
    path = "/Volumes/main/raw/hooks/dir with space/data.bin"
    create_volume("main.raw.hooks")
    payload = bytes(range(256)) * 10
    hook.files_upload(path, payload)
    assert hook.files_download(path) == payload
    assert sdk.files.download(path).contents.read() == payload
    head = hook.files_head(path)
    assert head["file_size"] == len(payload) and head["modification_time"] > 0
    listing = hook.files_list_directory("/Volumes/main/raw/hooks/dir with space")
    assert [(e["name"], e["file_size"]) for e in listing] == [("data.bin", len(payload))]

    async def async_side():
        return (await hook.a_files_head(path), await hook.a_files_list_directory("/Volumes/main/raw/hooks"))

    a_head, a_listing = asyncio.run(async_side())
    assert a_head == head
    assert [e["name"] for e in a_listing] == ["dir with space"]
    with pytest.raises(DatabricksRequestError) as err:
        hook.files_download("/Volumes/main/raw/hooks/missing.bin")
    assert err.value.status == 404 and err.value.is_not_found
    assert local_ws.token not in str(err.value)


def test_operator_head_and_delete_go_through_the_raw_path(run_dag, dag_id, sink, sdk, ti_states, create_volume):
    import io

    from airflow.sdk import task

    from airbricks.operators.api import DatabricksApiOperator

    path = f"{create_volume(f'main.raw.{dag_id}')}/f.txt"
    sdk.files.upload(path, io.BytesIO(b"hello"), overwrite=True)
    with _dag(dag_id) as dag:
        head = DatabricksApiOperator(task_id="head", method="HEAD", endpoint=f"api/2.0/fs/files{path}")
        delete = DatabricksApiOperator(task_id="delete", method="DELETE", endpoint=f"2.0/fs/files{path}")

        @task
        def record(value):
            sink["head"] = value

        record(head.output) >> delete
    dr = run_dag(dag)
    assert ti_states(dr) == {"head": "success", "record": "success", "delete": "success"}
    assert sink["head"] == {}
    from databricks.sdk.errors import NotFound

    with pytest.raises(NotFound):
        sdk.files.get_metadata(path)


def test_async_provider_errors_are_typed_too(local_ws):
    """The provider's async path keeps only the reason phrase; the status still classifies the error."""
    import asyncio
    import pickle

    from airbricks.errors import DatabricksRequestError
    from airbricks.hooks import AirbricksDatabricksHook

    hook = AirbricksDatabricksHook()
    with pytest.raises(DatabricksRequestError) as err:
        asyncio.run(hook.a_dbfs_get_status("/no/such/file"))
    assert err.value.status == 404 and err.value.is_not_found
    with pytest.raises(DatabricksRequestError) as err:
        hook.get_cluster("0000-000000-nosuchcluster")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE" and err.value.is_not_found
    again = pickle.loads(pickle.dumps(err.value))
    assert (again.status, again.error_code, again.message) == (400, "INVALID_PARAMETER_VALUE", err.value.message)
