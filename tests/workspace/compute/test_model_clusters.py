"""The cluster state machine, step by step on a manual clock (what the conformance suite checks over HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.workspace.model_kit import SPEC, START_MS, STOP_MS, Processes, make_workspace

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue, InvalidState


def running(ws: Workspace, **spec: object) -> str:
    cid = ws.clusters.create({**SPEC, **spec})
    ws.step(START_MS)
    assert ws.clusters.state(cid) == "RUNNING"
    return cid


def event_types(ws: Workspace, cid: str) -> list[str]:
    return [e["type"] for e in ws.clusters.events(cid, order="ASC", limit=500).items]


def test_create_is_pending_until_the_start_time_then_running(ws: Workspace) -> None:
    cid = ws.clusters.create(dict(SPEC))
    assert ws.clusters.get(cid)["state"] == "PENDING"
    ws.step(START_MS - 1)
    assert ws.clusters.state(cid) == "PENDING"
    ws.step(1)
    doc = ws.clusters.get(cid)
    assert doc["state"] == "RUNNING" and doc["driver"]["private_ip"] == "127.0.0.1"
    assert len(doc["executors"]) == 1 and doc["cluster_cores"] == 8.0
    assert event_types(ws, cid) == ["CREATING", "RUNNING"]


def test_delete_terminates_through_terminating_and_is_idempotent(ws: Workspace) -> None:
    cid = running(ws)
    ws.clusters.delete(cid)
    assert ws.clusters.state(cid) == "TERMINATING"
    ws.step(STOP_MS)
    doc = ws.clusters.get(cid)
    assert doc["state"] == "TERMINATED" and doc["termination_reason"]["code"] == "USER_REQUEST"
    assert "driver" not in doc and doc["state_message"].startswith("Termination requested by")
    ws.clusters.delete(cid)  # again: nothing happens
    assert ws.clusters.state(cid) == "TERMINATED"
    assert event_types(ws, cid) == ["CREATING", "RUNNING", "TERMINATING"]


def test_start_only_from_terminated(ws: Workspace) -> None:
    cid = running(ws)
    with pytest.raises(InvalidState, match="unexpected state Running"):
        ws.clusters.start(cid)
    ws.clusters.delete(cid)
    ws.step(STOP_MS)
    ws.clusters.start(cid)
    assert ws.clusters.state(cid) == "PENDING"
    ws.step(START_MS)
    assert ws.clusters.state(cid) == "RUNNING"
    assert event_types(ws, cid)[-2:] == ["STARTING", "RUNNING"]


def test_restart_goes_through_restarting(ws: Workspace) -> None:
    cid = ws.clusters.create(dict(SPEC))
    with pytest.raises(InvalidState, match="unexpected state Pending"):
        ws.clusters.restart(cid)
    ws.step(START_MS)
    ws.clusters.restart(cid)
    assert ws.clusters.state(cid) == "RESTARTING"
    ws.step(STOP_MS + START_MS)
    assert ws.clusters.state(cid) == "RUNNING"


def test_resize_goes_through_resizing_and_records_the_upsize(ws: Workspace) -> None:
    cid = running(ws)
    ws.clusters.resize(cid, num_workers=3)
    assert ws.clusters.state(cid) == "RESIZING"
    ws.step(500)
    doc = ws.clusters.get(cid)
    assert doc["state"] == "RUNNING" and doc["num_workers"] == 3 and len(doc["executors"]) == 3
    assert "UPSIZE_COMPLETED" in event_types(ws, cid)
    with pytest.raises(InvalidParameterValue, match="Only one of num_workers and autoscale"):
        ws.clusters.resize(cid, num_workers=1, autoscale={"min_workers": 1, "max_workers": 2})


def test_edit_restarts_a_running_cluster_and_refuses_job_clusters(ws: Workspace) -> None:
    cid = running(ws)
    ws.clusters.edit(cid, {**SPEC, "num_workers": 2, "cluster_name": "renamed"})
    assert ws.clusters.state(cid) == "RESTARTING"
    assert ws.clusters.get(cid)["default_tags"]["ClusterName"] == "renamed"
    job_cluster = ws.clusters.create_job_cluster(dict(SPEC), run_id=7, task_key="t")
    with pytest.raises(InvalidParameterValue, match="is a job cluster"):
        ws.clusters.edit(job_cluster, dict(SPEC))


def test_idle_cluster_auto_terminates_busy_one_does_not(ws: Workspace) -> None:
    idle = running(ws, autotermination_minutes=10)
    busy = running(ws, autotermination_minutes=10)
    ws.clusters.is_busy = lambda cluster_id: cluster_id == busy
    ws.step(10 * 60_000 - START_MS - 1)  # idle has been RUNNING (unused) since busy's creation
    assert ws.clusters.state(idle) == "RUNNING"
    ws.step(1)
    assert ws.clusters.state(idle) == "TERMINATING"
    ws.step(STOP_MS)
    doc = ws.clusters.get(idle)
    assert doc["termination_reason"] == {
        "code": "INACTIVITY",
        "type": "SUCCESS",
        "parameters": {"inactivity_duration_min": "10"},
    }
    assert doc["state_message"] == "Inactive cluster terminated (inactive for 10 minutes)."
    assert ws.clusters.state(busy) == "RUNNING"


def test_permanent_delete_hides_the_cluster_but_keeps_events_and_usage(ws: Workspace) -> None:
    cid = running(ws)
    ws.step(3_000)
    ws.clusters.permanent_delete(cid)
    with pytest.raises(InvalidParameterValue, match=f"Cluster {cid} does not exist"):  # the real quirk: a 400
        ws.clusters.get(cid)
    assert cid not in [c["cluster_id"] for c in ws.clusters.list()]
    assert event_types(ws, cid)[-1] == "TERMINATING"
    usage = next(u for u in ws.clusters.usage() if u["cluster_id"] == cid)
    assert usage["deleted"] and usage["running_seconds"] == 3.0
    assert [t["state"] for t in usage["transitions"]] == ["PENDING", "RUNNING", "TERMINATED", "DELETED"]


def test_injected_launch_failure_terminates_with_the_cloud_reason(ws: Workspace) -> None:
    ws.clusters.fail_next_launches(1)
    cid = ws.clusters.create(dict(SPEC))
    ws.step(START_MS)
    assert ws.clusters.state(cid) == "TERMINATING"
    ws.step(STOP_MS)
    doc = ws.clusters.get(cid)
    assert doc["termination_reason"]["code"] == "CLOUD_PROVIDER_LAUNCH_FAILURE"
    assert doc["termination_reason"]["type"] == "CLOUD_FAILURE"
    assert "Injected launch failure" in doc["state_message"]
    ws.clusters.start(cid)  # the next launch succeeds
    ws.step(START_MS)
    assert ws.clusters.state(cid) == "RUNNING"


def test_slow_start_stays_pending_for_its_seconds(ws: Workspace) -> None:
    ws.clusters.slow_next_starts(1, 30)
    cid = ws.clusters.create(dict(SPEC))
    ws.step(29_999)
    assert ws.clusters.state(cid) == "PENDING"
    ws.step(1)
    assert ws.clusters.state(cid) == "RUNNING"


def test_ensure_started_waits_out_a_termination_then_launches(ws: Workspace) -> None:
    cid = running(ws)
    ws.clusters.delete(cid)
    ws.clusters.ensure_started(cid)
    ws.step(STOP_MS)
    assert ws.clusters.state(cid) == "PENDING"
    ws.step(START_MS)
    assert ws.clusters.state(cid) == "RUNNING"


def test_kill_is_a_service_fault(ws: Workspace) -> None:
    cid = running(ws)
    ws.clusters.kill(cid)
    doc = ws.clusters.get(cid)
    assert doc["state"] == "TERMINATED" and doc["termination_reason"]["code"] == "DRIVER_UNREACHABLE"
    assert doc["termination_reason"]["type"] == "SERVICE_FAULT" and doc["last_state_loss_time"] > 0


def test_a_pending_cluster_resumes_its_timeline_after_a_restart(
    tmp_path: Path, clock: ManualClock, procs: Processes
) -> None:
    first = make_workspace(tmp_path / "ws", clock, procs)
    cid = first.clusters.create(dict(SPEC))
    first.stop()
    clock.advance(START_MS)
    second = make_workspace(tmp_path / "ws", clock, procs)
    try:
        assert second.clusters.state(cid) == "PENDING"
        second.step(0)
        assert second.clusters.state(cid) == "RUNNING"
        assert second.clusters.create(dict(SPEC)) != cid
    finally:
        second.stop()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"spark_version": "15.4.x-scala2.12", "num_workers": 1}, "Missing required field: node_type_id"),
        ({**SPEC, "node_type_id": "x9.huge"}, "Node type x9.huge is not supported"),
        ({**SPEC, "autotermination_minutes": 5}, "autotermination_minutes"),
        ({"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge"}, "Missing required field: num_workers"),
        ({**SPEC, "num_workers": None, "autoscale": {"min_workers": 3, "max_workers": 2}}, "Invalid autoscale range"),
    ],
)
def test_create_refuses_bad_specs_naming_the_field(ws: Workspace, spec: dict, message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        ws.clusters.create(spec)
    assert ws.clusters.list() == []
