"""The run state machine on a manual clock with scripted processes: phases, clusters, endings, recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.workspace.model_kit import SPEC, START_MS, STOP_MS, Processes, make_workspace

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue, InvalidState

NOTEBOOK = "/Shared/unit/nb"


@pytest.fixture(autouse=True)
def notebook(ws: Workspace) -> None:
    ws.objects.mkdirs("/Shared/unit")
    ws.objects.import_(NOTEBOOK, b"x = 1\n", "SOURCE", "PYTHON", False)


def task(key: str = "t", **extra: Any) -> dict[str, Any]:
    return {"task_key": key, "notebook_task": {"notebook_path": NOTEBOOK}, **extra}


def submit(ws: Workspace, *tasks: dict[str, Any], **kwargs: Any) -> int:
    return ws.jobs.submit(tasks=list(tasks) or [task()], run_name="unit", **kwargs)["run_id"]


def state(ws: Workspace, run_id: int) -> dict[str, Any]:
    return ws.runs.get(run_id)["state"]


def task_state(ws: Workspace, run_id: int, key: str) -> dict[str, Any]:
    return next(t for t in ws.runs.get(run_id)["tasks"] if t["task_key"] == key)["state"]


def test_a_task_without_cluster_runs_at_once_and_succeeds(ws: Workspace, procs: Processes) -> None:
    run_id = submit(ws)
    assert state(ws, run_id)["life_cycle_state"] == "PENDING"
    ws.step(10)
    assert len(procs) == 1 and procs[0].spec["kind"] == "notebook" and procs[0].spec["name"] == NOTEBOOK
    assert state(ws, run_id)["life_cycle_state"] == "RUNNING"
    ws.step(1_000)
    procs[0].finish(result="done")
    ws.step(10)
    run = ws.runs.get(run_id)
    assert run["state"] == {
        "life_cycle_state": "TERMINATED",
        "result_state": "SUCCESS",
        "state_message": "",
        "user_cancelled_or_timedout": False,
    }
    assert run["status"]["termination_details"]["code"] == "SUCCESS"
    assert run["tasks"][0]["execution_duration"] == 1_010 and run["run_duration"] == 1_020
    output = ws.runs.output(run["tasks"][0]["run_id"], single_task_parent_ok=False)
    assert output["notebook_output"] == {"result": "done", "truncated": False}


def test_an_existing_terminated_cluster_is_started_and_waited_for(ws: Workspace, procs: Processes) -> None:
    cid = ws.clusters.create(dict(SPEC))
    ws.step(START_MS)
    ws.clusters.delete(cid)
    ws.step(STOP_MS)
    run_id = submit(ws, task(existing_cluster_id=cid))
    ws.step(10)
    assert ws.clusters.state(cid) == "PENDING"
    assert task_state(ws, run_id, "t")["state_message"] == "Waiting for cluster" and not procs
    ws.step(START_MS)
    assert len(procs) == 1 and task_state(ws, run_id, "t")["life_cycle_state"] == "RUNNING"
    assert ws.runs.get(run_id)["cluster_instance"] == {"cluster_id": cid}


def test_a_new_cluster_is_made_for_the_task_and_terminated_after_it(ws: Workspace, procs: Processes) -> None:
    run_id = submit(ws, task(new_cluster=dict(SPEC)))
    ws.step(10)
    cid = ws.runs.get(run_id)["tasks"][0]["cluster_instance"]["cluster_id"]
    job_cluster = ws.clusters.get(cid)
    assert job_cluster["cluster_source"] == "JOB" and job_cluster["cluster_name"] == f"job-{run_id}-run-t"
    ws.step(START_MS)
    procs[0].finish()
    ws.step(10)
    assert ws.clusters.get(cid)["termination_reason"]["code"] == "JOB_FINISHED"
    assert state(ws, run_id)["result_state"] == "SUCCESS"


def test_tasks_sharing_a_job_cluster_use_one_cluster(ws: Workspace, procs: Processes) -> None:
    clusters = [{"job_cluster_key": "shared", "new_cluster": dict(SPEC)}]
    run_id = submit(
        ws,
        task("a", job_cluster_key="shared"),
        task("b", job_cluster_key="shared", depends_on=[{"task_key": "a"}]),
        job_clusters=clusters,
    )
    ws.step(10)
    ws.step(START_MS)
    procs[0].finish()
    ws.step(10)
    ws.step(10)
    procs[1].finish()
    ws.step(10)
    tasks = ws.runs.get(run_id)["tasks"]
    assert tasks[0]["cluster_instance"] == tasks[1]["cluster_instance"]
    assert [c["cluster_source"] for c in ws.clusters.list()] == ["JOB"]
    assert ws.clusters.state(tasks[0]["cluster_instance"]["cluster_id"]) == "TERMINATING"


def test_a_failed_task_skips_its_dependants_and_fails_the_run(ws: Workspace, procs: Processes) -> None:
    run_id = submit(
        ws,
        task("a"),
        task("b", depends_on=[{"task_key": "a"}]),
        task("c", depends_on=[{"task_key": "a"}], run_if="ALL_DONE"),
    )
    ws.step(10)
    procs[0].finish("FAILED", error="ZeroDivisionError: division by zero")
    ws.step(10)
    assert task_state(ws, run_id, "b")["result_state"] == "UPSTREAM_FAILED"
    assert task_state(ws, run_id, "c")["life_cycle_state"] == "RUNNING"
    procs[1].finish()
    ws.step(10)
    run_state = state(ws, run_id)
    assert run_state["result_state"] == "FAILED"
    assert run_state["state_message"] == (
        "Task a failed with message: Workload failed, see run output for "
        "details. This caused all downstream tasks to get skipped."
    )


def test_a_failed_task_with_a_successful_leaf_is_success_with_failures(ws: Workspace, procs: Processes) -> None:
    run_id = submit(ws, task("a"), task("b", depends_on=[{"task_key": "a"}], run_if="ALL_DONE"))
    ws.step(10)
    procs[0].finish("FAILED")
    ws.step(10)
    procs[1].finish()
    ws.step(10)
    assert state(ws, run_id)["result_state"] == "SUCCESS_WITH_FAILURES"


def test_run_timeout_kills_the_process(ws: Workspace, procs: Processes) -> None:
    run_id = submit(ws, timeout_seconds=5)
    ws.step(10)
    ws.step(5_000)
    run_state = state(ws, run_id)
    assert (run_state["result_state"], run_state["state_message"]) == ("TIMEDOUT", "Run timed out")
    assert run_state["user_cancelled_or_timedout"] and procs[0].killed


def test_task_timeout_ends_the_task_as_timedout(ws: Workspace, procs: Processes) -> None:
    run_id = submit(ws, task(timeout_seconds=2))
    ws.step(10)
    ws.step(2_000)
    assert task_state(ws, run_id, "t")["life_cycle_state"] == "RUNNING"  # the limit itself is still allowed
    ws.step(1)
    assert task_state(ws, run_id, "t")["state_message"] == "Task timed out"
    assert state(ws, run_id)["result_state"] == "TIMEDOUT" and procs[0].killed


def test_cancel_ends_every_task_and_kills_processes(ws: Workspace, procs: Processes) -> None:
    run_id = submit(ws, task("a"), task("b", depends_on=[{"task_key": "a"}]))
    ws.step(10)
    ws.runs.cancel(run_id)
    assert state(ws, run_id)["result_state"] == "CANCELED" and procs[0].killed
    assert task_state(ws, run_id, "b")["result_state"] == "CANCELED"
    ws.runs.cancel(run_id)  # cancelling a finished run does nothing
    assert state(ws, run_id)["result_state"] == "CANCELED"


def test_a_cluster_dying_under_the_run_fails_it_with_the_reason(ws: Workspace, procs: Processes) -> None:
    cid = ws.clusters.create(dict(SPEC))
    ws.step(START_MS)
    run_id = submit(ws, task(existing_cluster_id=cid))
    ws.step(10)
    ws.clusters.kill(cid)
    ws.step(10)
    run_state = state(ws, run_id)
    assert run_state["life_cycle_state"] == "INTERNAL_ERROR" and procs[0].killed
    assert run_state["state_message"].startswith(f"Cluster {cid} was terminated. Reason: DRIVER_UNREACHABLE")


def test_a_missing_cluster_or_notebook_is_an_internal_error(ws: Workspace) -> None:
    gone = submit(ws, task(existing_cluster_id="0000-000000-missing0"))
    missing = submit(ws, task(notebook_task={"notebook_path": "/Shared/unit/nope"}))
    ws.step(10)
    assert ws.runs.get(gone)["status"]["termination_details"]["code"] == "RESOURCE_NOT_FOUND"
    assert "0000-000000-missing0 does not exist" in state(ws, gone)["state_message"]
    assert ws.runs.get(missing)["status"]["termination_details"]["code"] == "RESOURCE_NOT_FOUND"


def test_the_idempotency_token_returns_the_same_run(ws: Workspace) -> None:
    first = submit(ws, idempotency_token="same")
    assert submit(ws, idempotency_token="same") == first
    assert submit(ws, idempotency_token="other") != first


def test_runs_in_flight_are_lost_when_the_workspace_restarts(
    tmp_path: Path, clock: ManualClock, procs: Processes
) -> None:
    first = make_workspace(tmp_path / "restarting", clock, procs)
    first.objects.mkdirs("/Shared/unit")
    first.objects.import_(NOTEBOOK, b"x = 1\n", "SOURCE", "PYTHON", False)
    run_id = submit(first)
    first.step(10)
    first.stop()
    second = make_workspace(tmp_path / "restarting", clock, procs)
    try:
        run = second.runs.get(run_id)
        assert run["state"]["life_cycle_state"] == "INTERNAL_ERROR"
        assert run["state"]["state_message"].startswith("The local workspace restarted")
        assert second.runs.list(active_only=True).items == []
    finally:
        second.stop()


def test_reading_and_deleting_runs_follow_the_service_rules(ws: Workspace, procs: Processes) -> None:
    run_id = submit(ws, task("a"), task("b"))
    with pytest.raises(InvalidParameterValue, match="multiple tasks is not supported"):
        ws.runs.output(run_id, single_task_parent_ok=True)
    with pytest.raises(InvalidState, match="cancel it first"):
        ws.runs.delete(run_id)
    with pytest.raises(InvalidParameterValue, match="cannot both be true"):
        ws.runs.list(active_only=True, completed_only=True)
    ws.runs.cancel(run_id)
    task_run = ws.runs.get(run_id)["tasks"][0]["run_id"]
    with pytest.raises(InvalidParameterValue, match="is a task run"):
        ws.runs.delete(task_run)
    ws.runs.delete(run_id)
    with pytest.raises(InvalidParameterValue, match=f"Run {run_id} does not exist"):
        ws.runs.get(run_id)


def test_run_lists_are_newest_first_and_paged(ws: Workspace) -> None:
    ids = [submit(ws) for _ in range(5)]
    page = ws.runs.list(offset=0, limit=2)
    assert [r["run_id"] for r in page.items] == ids[::-1][:2] and page.has_more and page.next_offset == 2
    last = ws.runs.list(offset=4, limit=2)
    assert [r["run_id"] for r in last.items] == [ids[0]] and not last.has_more and last.prev_offset == 2


def test_job_parameters_become_widgets_of_run_now(ws: Workspace, procs: Processes) -> None:
    job_id = ws.jobs.create({"name": "j", "tasks": [task()], "parameters": [{"name": "day", "default": "mon"}]})
    run = ws.jobs.run_now(job_id, notebook_params={"extra": "1"})
    ws.step(10)
    assert procs[0].spec["widgets"] == {"day": "mon", "extra": "1"}
    assert ws.runs.get(run["run_id"])["job_parameters"] == [
        {"name": "day", "value": "mon"},
        {"name": "extra", "value": "1"},
    ]
