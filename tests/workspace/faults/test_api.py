"""Fault injection, driven like a chaos run would: rules set over HTTP (or at start), real clients see them."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InternalError, OperationFailed, TemporarilyUnavailable

from airbricks.workspace.server.serve import LocalWorkspace, free_port

FAULTS = "/api/2.0/airbricks/faults"
CLUSTER = {
    "cluster_name": "faults-test",
    "spark_version": "15.4.x-scala2.12",
    "node_type_id": "i3.xlarge",
    "num_workers": 0,
}


def _auth(ws: LocalWorkspace) -> dict[str, str]:
    return {"Authorization": f"Bearer {ws.token}"}


def add_faults(ws: LocalWorkspace, *rules: dict[str, Any], **extra: Any) -> list[str]:
    response = requests.post(ws.url + FAULTS, json={"rules": list(rules), **extra}, headers=_auth(ws), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["rule_ids"]


def fault_state(ws: LocalWorkspace) -> dict[str, Any]:
    response = requests.get(ws.url + FAULTS, headers=_auth(ws), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(autouse=True)
def no_rules_left(local_ws: LocalWorkspace) -> Iterator[None]:
    """Every test starts and ends with no rules: the session's workspace is shared with other tests."""
    requests.delete(local_ws.url + FAULTS, headers=_auth(local_ws), timeout=10).raise_for_status()
    yield
    requests.delete(local_ws.url + FAULTS, headers=_auth(local_ws), timeout=10).raise_for_status()


def _hits(ws: LocalWorkspace, rule_id: str) -> int:
    return next(r["hits"] for r in fault_state(ws)["rules"] if r["id"] == rule_id)


def test_429_with_retry_after_is_retried_by_the_provider_hook(local_ws, sdk):
    from airflow.providers.databricks.hooks.databricks import DatabricksHook

    cluster_id = sdk.clusters.create(**CLUSTER).cluster_id
    try:
        [rule] = add_faults(
            local_ws, {"path": "clusters/get", "method": "GET", "status": 429, "retry_after": 1, "count": 3}
        )
        first = requests.get(
            local_ws.url + "/api/2.0/clusters/get",
            params={"cluster_id": cluster_id},
            headers=_auth(local_ws),
            timeout=10,
        )
        assert first.status_code == 429
        assert first.headers["Retry-After"] == "1"
        body = first.json()
        assert body["error_code"] == "REQUEST_LIMIT_EXCEEDED" and "rate limit" in body["message"]

        hook = DatabricksHook(retry_limit=3, retry_delay=0.1)
        state = hook.get_cluster_state(cluster_id)  # two more 429s, then the real answer
        assert state.state in ("PENDING", "RUNNING")
        assert _hits(local_ws, rule) == 3
        assert fault_state(local_ws)["injected"]["http_429"] >= 3
    finally:
        sdk.clusters.delete(cluster_id)


def test_hook_gives_up_when_429s_outlast_its_retries(local_ws):
    from airflow.providers.databricks.hooks.databricks import DatabricksHook

    add_faults(local_ws, {"path": "clusters/get", "status": 429, "retry_after": 1})
    hook = DatabricksHook(retry_limit=2, retry_delay=0.1)
    with pytest.raises(Exception, match="REQUEST_LIMIT_EXCEEDED|429"):
        hook.get_cluster_state("0000-000000-missing0")


def test_503_makes_the_sdk_retry_then_fail_with_temporarily_unavailable(local_ws):
    from databricks.sdk.config import Config

    config = Config(host=local_ws.url, token=local_ws.token, auth_type="pat", retry_timeout_seconds=2)
    client = WorkspaceClient(config=config)
    add_faults(local_ws, {"path": "clusters/list-node-types", "status": 503, "probability": 1})
    with pytest.raises(TimeoutError) as caught:
        client.clusters.list_node_types()
    cause = caught.value.__cause__
    assert isinstance(cause, TemporarilyUnavailable), repr(cause)
    assert cause.error_code == "TEMPORARILY_UNAVAILABLE"
    assert "/api/2.1/clusters/list-node-types is temporarily unavailable" in str(cause)


def test_500_is_an_internal_error_for_the_sdk_and_error_code_overrides(local_ws, sdk):
    add_faults(local_ws, {"path": "clusters/spark-versions", "status": 500, "count": 1})
    with pytest.raises(InternalError):
        sdk.clusters.spark_versions()
    assert sdk.clusters.spark_versions().versions  # count=1: the next call passes

    add_faults(
        local_ws,
        {
            "path": "re:/clusters/(spark-versions|list-node-types)$",
            "status": 400,
            "error_code": "INVALID_STATE",
            "message": "custom failure",
            "count": 1,
        },
    )
    response = requests.get(local_ws.url + "/api/2.1/clusters/spark-versions", headers=_auth(local_ws), timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error_code": "INVALID_STATE", "message": "custom failure"}


def test_dropped_connection_is_a_connection_error(local_ws):
    [rule] = add_faults(local_ws, {"path": "/api/2.0/dbfs/get-status", "drop": True, "count": 1})
    url = local_ws.url + "/api/2.0/dbfs/get-status"
    with pytest.raises(requests.ConnectionError):
        requests.get(url, params={"path": "/"}, headers=_auth(local_ws), timeout=10)
    after = requests.get(url, params={"path": "/"}, headers=_auth(local_ws), timeout=10)
    assert after.status_code == 200 and after.json()["is_dir"] is True
    assert _hits(local_ws, rule) == 1
    assert fault_state(local_ws)["injected"]["drop"] >= 1


def test_latency_delays_then_passes_through(local_ws):
    add_faults(local_ws, {"path": "dbfs/get-status", "method": "GET", "latency_ms": 300, "count": 1})
    started = time.monotonic()
    response = requests.get(
        local_ws.url + "/api/2.0/dbfs/get-status", params={"path": "/"}, headers=_auth(local_ws), timeout=10
    )
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200 and response.json()["is_dir"] is True


def test_method_filter_and_admin_paths_are_never_faulted(local_ws):
    add_faults(local_ws, {"path": "*", "method": "POST", "status": 503})
    ok = requests.get(
        local_ws.url + "/api/2.0/dbfs/get-status", params={"path": "/"}, headers=_auth(local_ws), timeout=10
    )
    assert ok.status_code == 200  # GET is not matched
    refused = requests.post(
        local_ws.url + "/api/2.0/dbfs/mkdirs", json={"path": "/faults-never"}, headers=_auth(local_ws), timeout=10
    )
    assert refused.status_code == 503 and refused.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert fault_state(local_ws)["rules"][0]["hits"] == 1  # the admin POST/GET themselves were not faulted


@pytest.mark.parametrize(
    "rule, field",
    [
        ({"path": "x"}, "status"),
        ({"path": "x", "status": 200}, "status"),
        ({"path": "x", "status": 503, "probability": 1.5}, "probability"),
        ({"path": "x", "status": 503, "count": 0}, "count"),
        ({"path": "re:(", "status": 503}, "path"),
        ({"path": "x", "status": 503, "colour": "red"}, "colour"),
        ({"kind": "cluster_launch_failure", "code": "NOPE"}, "code"),
        ({"kind": "slow_cluster_start"}, "seconds"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(local_ws, rule, field):
    response = requests.post(local_ws.url + FAULTS, json={"rules": [rule]}, headers=_auth(local_ws), timeout=10)
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE" and field in body["message"]
    assert fault_state(local_ws)["rules"] == []


def test_seeded_probability_is_reproducible(local_ws):
    def pattern() -> list[int]:
        requests.delete(local_ws.url + FAULTS, headers=_auth(local_ws), timeout=10).raise_for_status()
        add_faults(local_ws, {"path": "dbfs/get-status", "status": 503, "probability": 0.5}, seed=1234)
        return [
            requests.get(
                local_ws.url + "/api/2.0/dbfs/get-status", params={"path": "/"}, headers=_auth(local_ws), timeout=10
            ).status_code
            for _ in range(24)
        ]

    first, second = pattern(), pattern()
    assert first == second
    assert set(first) == {200, 503}  # 24 draws at p=0.5 with this seed hit both outcomes


def test_cluster_launch_failure_fails_create_and_wait(local_ws, sdk):
    add_faults(local_ws, {"kind": "cluster_launch_failure", "code": "CLOUD_PROVIDER_LAUNCH_FAILURE", "count": 1})
    with pytest.raises(OperationFailed, match="CLOUD_PROVIDER_LAUNCH_FAILURE"):
        sdk.clusters.create_and_wait(**CLUSTER, timeout=datetime.timedelta(seconds=60))
    failed = [
        c
        for c in sdk.clusters.list()
        if c.cluster_name == CLUSTER["cluster_name"]
        and c.termination_reason is not None
        and c.termination_reason.code.value == "CLOUD_PROVIDER_LAUNCH_FAILURE"
    ]
    assert failed and failed[0].state.value == "TERMINATED"
    assert failed[0].termination_reason.type.value == "CLOUD_FAILURE"
    assert fault_state(local_ws)["injected"]["cluster_launch_failure"] >= 1
    # only one launch was armed: starting it again works
    sdk.clusters.start_and_wait(failed[0].cluster_id)
    sdk.clusters.delete(failed[0].cluster_id)


def test_cluster_death_by_id_and_slow_start(local_ws, sdk):
    add_faults(local_ws, {"kind": "slow_cluster_start", "seconds": 3, "count": 1})
    cluster_id = sdk.clusters.create(**CLUSTER).cluster_id
    try:
        time.sleep(1.5)  # the configured start is 0.5 s; the slowed one is 3 s
        assert sdk.clusters.get(cluster_id).state.value == "PENDING"
        sdk.clusters.wait_get_cluster_running(cluster_id)
        add_faults(local_ws, {"kind": "cluster_death", "cluster_id": cluster_id, "code": "DRIVER_UNREACHABLE"})
        dead = sdk.clusters.get(cluster_id)
        assert dead.state.value == "TERMINATED"
        assert dead.termination_reason.code.value == "DRIVER_UNREACHABLE"
        assert dead.termination_reason.type.value == "SERVICE_FAULT"
        injected = fault_state(local_ws)["injected"]
        assert injected["slow_cluster_start"] >= 1 and injected["cluster_death"] >= 1
    finally:
        sdk.clusters.delete(cluster_id)


def test_rules_from_workspace_config_apply_from_the_start(tmp_path):
    rules = [
        {"path": "clusters/list", "status": 429, "retry_after": 2, "count": 1},
        {"kind": "cluster_launch_failure", "code": "CLOUD_FAILURE"},
    ]
    with LocalWorkspace(tmp_path, cluster_start_seconds=0.2, cluster_stop_seconds=0.1, faults=rules) as ws:
        first = requests.get(ws.url + "/api/2.1/clusters/list", headers=_auth(ws), timeout=10)
        assert first.status_code == 429 and first.headers["Retry-After"] == "2"
        assert requests.get(ws.url + "/api/2.1/clusters/list", headers=_auth(ws), timeout=10).status_code == 200
        client = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        with pytest.raises(OperationFailed, match="CLOUD_FAILURE"):
            client.clusters.create_and_wait(**CLUSTER)
        assert fault_state(ws)["injected"] == {"http_429": 1, "cluster_launch_failure": 1}


def test_serve_fault_flags(tmp_path: Path):
    port = free_port()
    token = "dapi-faults-cli-test"
    command = [
        sys.executable,
        "-m",
        "airbricks.cli",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path),
        "--token",
        token,
        "--fault-seed",
        "7",
        "--spark",
        "off",
        "--fault",
        "path=clusters/list,status=429,retry_after=3,count=1",
        "--fault",
        '{"path": "dbfs/get-status", "status": 503, "count": 1}',
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                listed = requests.get(url + "/api/2.1/clusters/list", headers=headers, timeout=5)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "airbricks serve did not start"
                time.sleep(0.2)
        assert listed.status_code == 429 and listed.headers["Retry-After"] == "3"
        status = requests.get(url + "/api/2.0/dbfs/get-status", params={"path": "/"}, headers=headers, timeout=5)
        assert status.status_code == 503
        state = requests.get(url + FAULTS, headers=headers, timeout=5).json()
        assert state["seed"] == 7 and state["injected"] == {"http_429": 1, "http_503": 1}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_cluster_death_kills_the_next_cluster_that_gets_a_run(local_ws, sdk):
    import base64

    from databricks.sdk.service import jobs, workspace

    notebook = "/Shared/airbricks-faults/sleepy"
    sdk.workspace.mkdirs("/Shared/airbricks-faults")
    sdk.workspace.import_(
        notebook,
        content=base64.b64encode(b"import time\ntime.sleep(60)\n").decode(),
        format=workspace.ImportFormat.SOURCE,
        language=workspace.Language.PYTHON,
        overwrite=True,
    )
    cluster_id = sdk.clusters.create_and_wait(**CLUSTER).cluster_id
    try:
        [rule] = add_faults(local_ws, {"kind": "cluster_death", "code": "DRIVER_UNREACHABLE"})
        waiter = sdk.jobs.submit(
            run_name="faults-death",
            tasks=[
                jobs.SubmitTask(
                    task_key="sleep",
                    existing_cluster_id=cluster_id,
                    notebook_task=jobs.NotebookTask(notebook_path=notebook),
                )
            ],
        )
        with pytest.raises(OperationFailed, match="INTERNAL_ERROR") as caught:  # the cluster was lost under it
            waiter.result()
        message = str(caught.value)
        assert f"Cluster {cluster_id} was terminated" in message and "DRIVER_UNREACHABLE" in message, message
        run = sdk.jobs.get_run(waiter.run_id)
        assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
        dead = sdk.clusters.get(cluster_id)
        assert dead.state.value == "TERMINATED" and dead.termination_reason.code.value == "DRIVER_UNREACHABLE"
        assert _hits(local_ws, rule) == 1 and fault_state(local_ws)["injected"]["cluster_death"] >= 1
    finally:
        sdk.clusters.delete(cluster_id)
