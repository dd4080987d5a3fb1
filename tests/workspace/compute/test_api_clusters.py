"""Clusters over real HTTP: the lifecycle as databricks-sdk sees it, the real errors, events, auto-termination,
fault hooks (through the airbricks admin endpoints) and durability across a restart of the workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, InvalidState, ResourceDoesNotExist
from databricks.sdk.service.compute import (
    AutoScale,
    EventType,
    GetEventsOrder,
    State,
    TerminationReasonCode,
    TerminationReasonType,
)

from airbricks.workspace.server.serve import LocalWorkspace
from waiting import wait_cluster_state

SPEC: dict[str, Any] = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}


def _client(ws: LocalWorkspace) -> WorkspaceClient:
    return WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")


def _post(ws: LocalWorkspace, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{ws.url}{path}", json=body, headers={"Authorization": f"Bearer {ws.token}"}, timeout=10)


@pytest.fixture
def running(sdk: WorkspaceClient) -> Iterator[str]:
    """A RUNNING all-purpose cluster, permanently deleted afterwards."""
    cluster_id = sdk.clusters.create(cluster_name="fixture", **SPEC).cluster_id
    wait_cluster_state(sdk, cluster_id, State.RUNNING)
    yield cluster_id
    sdk.clusters.permanent_delete(cluster_id)


def test_create_and_wait_reaches_running_with_real_fields(sdk: WorkspaceClient) -> None:
    info = sdk.clusters.create_and_wait(
        cluster_name="etl",
        spark_version="15.4.x-scala2.12",
        node_type_id="m5d.large",
        num_workers=2,
        custom_tags={"team": "data"},
        spark_conf={"spark.speculation": "true"},
        autotermination_minutes=60,
    )
    assert info.state == State.RUNNING
    parts = info.cluster_id.split("-")
    assert [len(p) for p in parts] == [4, 6, 8], info.cluster_id
    assert info.cluster_source.value == "API"
    assert info.creator_user_name == "airbricks@localhost"
    assert info.driver_node_type_id == "m5d.large"
    assert info.custom_tags == {"team": "data"} and info.spark_conf == {"spark.speculation": "true"}
    assert info.default_tags == {
        "Vendor": "Databricks",
        "Creator": "airbricks@localhost",
        "ClusterName": "etl",
        "ClusterId": info.cluster_id,
    }
    assert info.autotermination_minutes == 60 and info.num_workers == 2
    assert info.start_time and info.driver is not None and len(info.executors) == 2
    listed = {c.cluster_id: c for c in sdk.clusters.list()}
    assert listed[info.cluster_id].cluster_name == "etl"
    sdk.clusters.permanent_delete(info.cluster_id)


def test_lifecycle_start_delete_restart_and_events(sdk: WorkspaceClient, running: str) -> None:
    with pytest.raises(InvalidState, match=rf"Cluster {running} is in unexpected state Running\."):
        sdk.clusters.start(running)

    sdk.clusters.delete(running)
    assert sdk.clusters.get(running).state in (State.TERMINATING, State.TERMINATED)
    info = wait_cluster_state(sdk, running, State.TERMINATED)
    assert info.termination_reason.code == TerminationReasonCode.USER_REQUEST
    assert info.termination_reason.type == TerminationReasonType.SUCCESS
    assert info.terminated_time and info.driver is None
    sdk.clusters.delete(running)  # terminating a terminated cluster is a no-op, as on the real service
    with pytest.raises(InvalidState, match="unexpected state Terminated"):
        sdk.clusters.restart(running)

    sdk.clusters.start(running)
    assert sdk.clusters.get(running).state == State.PENDING
    with pytest.raises(InvalidState, match="unexpected state Pending"):
        sdk.clusters.start(running)
    info = wait_cluster_state(sdk, running, State.RUNNING)
    assert info.termination_reason is None and info.terminated_time is None

    sdk.clusters.restart(running)
    assert sdk.clusters.get(running).state == State.RESTARTING
    assert wait_cluster_state(sdk, running, State.RUNNING).last_restarted_time

    types = [e.type for e in sdk.clusters.events(running, order=GetEventsOrder.ASC)]
    assert types == [
        EventType.CREATING,
        EventType.RUNNING,
        EventType.TERMINATING,
        EventType.STARTING,
        EventType.RUNNING,
        EventType.RESTARTING,
        EventType.RUNNING,
    ]
    newest_first = [e.type for e in sdk.clusters.events(running)]
    assert newest_first == types[::-1]
    # The SDK follows next_page: a page size of 2 still yields every event.
    assert [e.type for e in sdk.clusters.events(running, order=GetEventsOrder.ASC, limit=2)] == types
    only = list(sdk.clusters.events(running, event_types=[EventType.RUNNING]))
    assert len(only) == 3 and {e.type for e in only} == {EventType.RUNNING}


def test_events_pages_over_raw_http(local_ws: LocalWorkspace, sdk: WorkspaceClient, running: str) -> None:
    body = {"cluster_id": running, "order": "ASC", "limit": 1}
    first = _post(local_ws, "/api/2.1/clusters/events", body).json()
    assert first["total_count"] == 2 and [e["type"] for e in first["events"]] == ["CREATING"]
    assert first["next_page"]["offset"] == 1 and first["next_page"]["cluster_id"] == running
    second = _post(local_ws, "/api/2.1/clusters/events", first["next_page"]).json()
    assert [e["type"] for e in second["events"]] == ["RUNNING"] and "next_page" not in second
    too_many = _post(local_ws, "/api/2.1/clusters/events", {"cluster_id": running, "limit": 501})
    assert too_many.status_code == 400 and "limit" in too_many.json()["message"]


def test_resize_and_edit(sdk: WorkspaceClient, running: str) -> None:
    sdk.clusters.resize(running, num_workers=3)
    assert sdk.clusters.get(running).state == State.RESIZING
    with pytest.raises(InvalidState, match="unexpected state Resizing"):
        sdk.clusters.resize(running, num_workers=4)
    info = wait_cluster_state(sdk, running, State.RUNNING)
    assert info.num_workers == 3 and len(info.executors) == 3
    sdk.clusters.resize(running, autoscale=AutoScale(min_workers=1, max_workers=4))
    info = wait_cluster_state(sdk, running, State.RUNNING)
    assert info.autoscale.max_workers == 4 and info.num_workers is None

    sdk.clusters.edit(
        running, cluster_name="renamed", spark_version="16.4.x-scala2.12", node_type_id="m5d.xlarge", num_workers=2
    )
    assert sdk.clusters.get(running).state == State.RESTARTING  # editing a running cluster restarts it
    info = wait_cluster_state(sdk, running, State.RUNNING)
    assert (info.cluster_name, info.spark_version, info.node_type_id, info.num_workers) == (
        "renamed",
        "16.4.x-scala2.12",
        "m5d.xlarge",
        2,
    )
    assert info.autoscale is None and info.default_tags["ClusterName"] == "renamed"

    sdk.clusters.delete(running)
    wait_cluster_state(sdk, running, State.TERMINATED)
    with pytest.raises(InvalidState, match="unexpected state Terminated"):
        sdk.clusters.resize(running, num_workers=1)
    sdk.clusters.edit(
        running, cluster_name="offline", spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1
    )
    info = sdk.clusters.get(running)
    assert info.state == State.TERMINATED and info.cluster_name == "offline"  # edited while down: stays down
    types = [e.type for e in sdk.clusters.events(running, order=GetEventsOrder.ASC)]
    assert types[1:] == [
        EventType.RUNNING,
        EventType.RESIZING,
        EventType.UPSIZE_COMPLETED,
        EventType.RESIZING,
        EventType.EDITED,
        EventType.RESTARTING,
        EventType.RUNNING,
        EventType.TERMINATING,
        EventType.EDITED,
    ]


def test_permanent_delete_hides_but_keeps_history(local_ws: LocalWorkspace, sdk: WorkspaceClient) -> None:
    cluster_id = sdk.clusters.create(cluster_name="doomed", **SPEC).cluster_id
    wait_cluster_state(sdk, cluster_id, State.RUNNING)
    sdk.clusters.permanent_delete(cluster_id)
    with pytest.raises(ResourceDoesNotExist, match=f"Cluster {cluster_id} does not exist"):
        sdk.clusters.get(cluster_id)
    assert cluster_id not in {c.cluster_id for c in sdk.clusters.list()}
    # The SDK maps "does not exist" to ResourceDoesNotExist only for clusters/get; other calls keep the code.
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        sdk.clusters.permanent_delete(cluster_id)
    # The timeline stays readable for the demo, and the admin usage view still accounts for it.
    assert [e.type for e in sdk.clusters.events(cluster_id, order=GetEventsOrder.ASC)][-1] == EventType.TERMINATING
    usage = requests.get(
        f"{local_ws.url}/api/2.0/airbricks/clusters", headers={"Authorization": f"Bearer {local_ws.token}"}, timeout=10
    ).json()["clusters"]
    mine = next(c for c in usage if c["cluster_id"] == cluster_id)
    assert mine["deleted"] is True and mine["state"] == "TERMINATED" and mine["compute_type"] == "ALL_PURPOSE"
    assert [t["state"] for t in mine["transitions"]] == ["PENDING", "RUNNING", "TERMINATED", "DELETED"]
    assert mine["running_seconds"] > 0


def test_get_accepts_json_body_and_query_string(local_ws: LocalWorkspace, running: str) -> None:
    headers = {"Authorization": f"Bearer {local_ws.token}"}
    by_body = requests.get(f"{local_ws.url}/api/2.0/clusters/get", json={"cluster_id": running}, headers=headers)
    by_query = requests.get(f"{local_ws.url}/api/2.1/clusters/get", params={"cluster_id": running}, headers=headers)
    assert by_body.status_code == by_query.status_code == 200
    assert by_body.json()["cluster_id"] == by_query.json()["cluster_id"] == running
    missing = requests.get(f"{local_ws.url}/api/2.1/clusters/get", headers=headers)
    assert missing.status_code == 400 and "cluster_id" in missing.json()["message"]


def test_unknown_cluster_is_400_does_not_exist(local_ws: LocalWorkspace, sdk: WorkspaceClient) -> None:
    with pytest.raises(ResourceDoesNotExist):
        sdk.clusters.get("0101-000000-nothere0")
    for path in ("start", "delete", "restart", "events"):
        response = _post(local_ws, f"/api/2.0/clusters/{path}", {"cluster_id": "0101-000000-nothere0"})
        assert response.status_code == 400, path
        assert response.json() == {
            "error_code": "INVALID_PARAMETER_VALUE",
            "message": "Cluster 0101-000000-nothere0 does not exist",
        }


@pytest.mark.parametrize(
    ("drop", "named"),
    [("spark_version", "spark_version"), ("node_type_id", "node_type_id"), ("num_workers", "num_workers")],
)
def test_create_missing_field_names_it(local_ws: LocalWorkspace, drop: str, named: str) -> None:
    body = {k: v for k, v in SPEC.items() if k != drop}
    response = _post(local_ws, "/api/2.1/clusters/create", body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE" and named in response.json()["message"]


def test_create_refuses_bad_values(sdk: WorkspaceClient) -> None:
    with pytest.raises(InvalidParameterValue, match="Node type i3.huge is not supported"):
        sdk.clusters.create(spark_version="15.4.x-scala2.12", node_type_id="i3.huge", num_workers=1)
    with pytest.raises(InvalidParameterValue, match="autotermination_minutes"):
        sdk.clusters.create(autotermination_minutes=5, **SPEC)
    with pytest.raises(InvalidParameterValue, match="min_workers"):
        sdk.clusters.create(
            spark_version="15.4.x-scala2.12",
            node_type_id="i3.xlarge",
            autoscale=AutoScale(min_workers=5, max_workers=2),
        )


def test_node_types_and_spark_versions_serve_sdk_selectors(sdk: WorkspaceClient) -> None:
    node_types = {n.node_type_id: n for n in sdk.clusters.list_node_types().node_types}
    assert {"i3.xlarge", "m5d.large", "r3.xlarge"} <= set(node_types) and "Standard_DS3_v2" not in node_types
    assert node_types["i3.xlarge"].memory_mb > 0 and node_types["i3.xlarge"].num_cores == 4
    assert sdk.clusters.select_node_type(local_disk=True, min_memory_gb=16)
    assert sdk.clusters.select_spark_version(long_term_support=True) == "16.4.x-scala2.12"


def test_launch_failure_and_kill_hooks(local_ws: LocalWorkspace, sdk: WorkspaceClient, running: str) -> None:
    assert (
        _post(local_ws, "/api/2.0/airbricks/faults", {"kind": "cluster_launch_failure", "count": 1}).status_code == 200
    )
    cluster_id = sdk.clusters.create(cluster_name="unlucky", **SPEC).cluster_id
    info = wait_cluster_state(sdk, cluster_id, State.TERMINATED)
    assert info.termination_reason.code == TerminationReasonCode.CLOUD_PROVIDER_LAUNCH_FAILURE
    assert info.termination_reason.type == TerminationReasonType.CLOUD_FAILURE
    assert "launch" in info.state_message
    sdk.clusters.start(cluster_id)  # only one launch was doomed: the retry works
    wait_cluster_state(sdk, cluster_id, State.RUNNING)
    sdk.clusters.permanent_delete(cluster_id)

    assert (
        _post(local_ws, "/api/2.0/airbricks/faults", {"kind": "cluster_death", "cluster_id": running}).status_code
        == 200
    )
    info = sdk.clusters.get(running)
    assert info.state == State.TERMINATED
    assert info.termination_reason.code == TerminationReasonCode.DRIVER_UNREACHABLE
    assert info.termination_reason.type == TerminationReasonType.SERVICE_FAULT


def test_autotermination_after_inactivity(tmp_path: Path) -> None:
    with LocalWorkspace(tmp_path, cluster_start_seconds=0.1, cluster_stop_seconds=0.1, seconds_per_minute=0.05) as ws:
        sdk = _client(ws)
        idle = sdk.clusters.create(autotermination_minutes=10, **SPEC).cluster_id  # 10 "minutes" = 0.5 s
        never = sdk.clusters.create(autotermination_minutes=0, **SPEC).cluster_id
        info = wait_cluster_state(sdk, idle, State.TERMINATED)
        assert info.termination_reason.code == TerminationReasonCode.INACTIVITY
        assert info.termination_reason.parameters == {"inactivity_duration_min": "10"}
        assert info.state_message == "Inactive cluster terminated (inactive for 10 minutes)."
        assert sdk.clusters.get(never).state == State.RUNNING


def test_state_survives_restart_and_pending_resumes(tmp_path: Path) -> None:
    settings = {"cluster_start_seconds": 0.3, "cluster_stop_seconds": 0.1}
    with LocalWorkspace(tmp_path, **settings) as ws:
        sdk = _client(ws)
        kept = sdk.clusters.create(cluster_name="kept", custom_tags={"a": "b"}, **SPEC).cluster_id
        wait_cluster_state(sdk, kept, State.RUNNING)
        gone = sdk.clusters.create(cluster_name="gone", **SPEC).cluster_id
        sdk.clusters.permanent_delete(gone)
        pending = sdk.clusters.create(cluster_name="pending", **SPEC).cluster_id
        assert sdk.clusters.get(pending).state == State.PENDING
    with LocalWorkspace(tmp_path, **settings) as ws:
        sdk = _client(ws)
        info = sdk.clusters.get(kept)
        assert info.state == State.RUNNING and info.custom_tags == {"a": "b"}
        with pytest.raises(ResourceDoesNotExist):
            sdk.clusters.get(gone)
        wait_cluster_state(sdk, pending, State.RUNNING)
        assert [e.type for e in sdk.clusters.events(pending, order=GetEventsOrder.ASC)] == [
            EventType.CREATING,
            EventType.RUNNING,
        ]
        assert {c.cluster_name for c in sdk.clusters.list()} == {"kept", "pending"}
        assert sdk.clusters.create(**SPEC).cluster_id not in {kept, gone, pending}
