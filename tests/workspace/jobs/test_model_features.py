"""Retries, repair, queueing, condition and for-each tasks on a manual clock with scripted task processes."""

from __future__ import annotations

from typing import Any

import pytest
from tests.workspace.model_kit import Processes

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue, InvalidState

NOTEBOOK = "/Shared/unit/features"


@pytest.fixture(autouse=True)
def notebook(ws: Workspace) -> None:
    ws.objects.mkdirs("/Shared/unit")
    ws.objects.import_(NOTEBOOK, b"x = 1\n", "SOURCE", "PYTHON", False)


def nb(key: str, **extra: Any) -> dict[str, Any]:
    return {"task_key": key, "notebook_task": {"notebook_path": NOTEBOOK}, **extra}


def submit(ws: Workspace, *tasks: dict[str, Any]) -> int:
    return ws.jobs.submit(tasks=list(tasks), run_name="unit")["run_id"]


def tasks_of(ws: Workspace, run_id: int, key: str) -> list[dict[str, Any]]:
    return [t for t in ws.runs.get(run_id)["tasks"] if t["task_key"] == key]


def test_a_failed_task_is_retried_after_its_interval_and_every_attempt_is_listed(
    ws: Workspace, procs: Processes
) -> None:
    run_id = submit(ws, nb("flaky", max_retries=2, min_retry_interval_millis=1_000))
    ws.step(10)
    procs[0].finish("FAILED", error="boom 1")
    ws.step(10)
    attempts = tasks_of(ws, run_id, "flaky")
    assert [a["attempt_number"] for a in attempts] == [0, 1]
    assert attempts[1]["state"]["life_cycle_state"] == "WAITING_FOR_RETRY"
    assert ws.runs.get(run_id)["state"]["life_cycle_state"] == "RUNNING"
    ws.step(500)
    assert len(procs) == 1, "the retry waits for min_retry_interval_millis"
    ws.step(600)
    assert len(procs) == 2
    procs[1].finish("FAILED", error="boom 2")
    ws.step(10)
    ws.step(1_000)
    procs[2].finish()
    ws.step(10)
    attempts = tasks_of(ws, run_id, "flaky")
    assert [(a["attempt_number"], a["state"]["result_state"]) for a in attempts] == [
        (0, "FAILED"),
        (1, "FAILED"),
        (2, "SUCCESS"),
    ]
    assert len({a["run_id"] for a in attempts}) == 3
    assert ws.runs.get(run_id)["state"]["result_state"] == "SUCCESS"


def test_retries_end_at_max_retries_and_timeouts_retry_only_with_retry_on_timeout(
    ws: Workspace, procs: Processes
) -> None:
    run_id = submit(ws, nb("once", max_retries=1), nb("slow", max_retries=3, timeout_seconds=1))
    ws.step(10)
    procs[0].finish("FAILED")
    ws.step(10)
    ws.step(10)
    procs[2].finish("FAILED")
    ws.step(1_500)
    assert [a["state"]["result_state"] for a in tasks_of(ws, run_id, "once")] == ["FAILED", "FAILED"]
    assert [a["state"]["result_state"] for a in tasks_of(ws, run_id, "slow")] == ["TIMEDOUT"]
    assert ws.runs.get(run_id)["state"]["result_state"] == "FAILED"


def test_repair_reruns_the_failed_task_and_its_dependents_only(ws: Workspace, procs: Processes) -> None:
    run_id = submit(ws, nb("a"), nb("b", depends_on=[{"task_key": "a"}]), nb("c", depends_on=[{"task_key": "b"}]))
    ws.step(10)
    procs[0].finish()
    ws.step(10)
    procs[1].finish("FAILED")
    ws.step(10)
    assert tasks_of(ws, run_id, "c")[0]["state"]["result_state"] == "UPSTREAM_FAILED"
    with pytest.raises(InvalidParameterValue, match="not a task of run"):
        ws.runs.repair(run_id, rerun_tasks=["nope"])
    repair_id = ws.runs.repair(run_id, rerun_tasks=["b"], rerun_dependent_tasks=True)["repair_id"]
    with pytest.raises(InvalidState):
        ws.runs.repair(run_id, rerun_tasks=["b"], latest_repair_id=repair_id)
    ws.step(10)
    assert len(procs) == 3 and ws.runs.get(run_id)["state"]["life_cycle_state"] == "RUNNING"
    procs[2].finish()
    ws.step(10)
    procs[3].finish()
    ws.step(10)
    run = ws.runs.get(run_id, include_history=True)
    assert run["state"]["result_state"] == "SUCCESS"
    assert [len(tasks_of(ws, run_id, k)) for k in "abc"] == [1, 2, 2]
    history = run["repair_history"]
    assert [h["type"] for h in history] == ["ORIGINAL", "REPAIR"] and history[1]["id"] == repair_id
    assert history[0]["state"]["result_state"] == "FAILED" and history[1]["state"]["result_state"] == "SUCCESS"
    new_ids = {t["run_id"] for t in run["tasks"] if t["attempt_number"] == 1}
    assert set(history[1]["task_run_ids"]) == new_ids and len(new_ids) == 2
    with pytest.raises(InvalidParameterValue, match="latest_repair_id"):
        ws.runs.repair(run_id, rerun_all_failed_tasks=True)


def _job(ws: Workspace, **settings: Any) -> int:
    return ws.jobs.create({"name": "limited", "tasks": [nb("t")], **settings})


def test_beyond_max_concurrent_runs_a_run_is_skipped_without_queueing(ws: Workspace, procs: Processes) -> None:
    job_id = _job(ws, max_concurrent_runs=1)
    first = ws.jobs.run_now(job_id)["run_id"]
    second = ws.jobs.run_now(job_id)["run_id"]
    state = ws.runs.get(second)["state"]
    assert state["life_cycle_state"] == "SKIPPED"
    assert state["state_message"] == (
        "Skipping this run because the limit of 1 maximum concurrent runs has been reached."
    )
    ws.step(10)
    assert len(procs) == 1 and ws.runs.get(first)["state"]["life_cycle_state"] == "RUNNING"


def test_with_queueing_a_run_waits_queued_and_starts_when_the_slot_frees(ws: Workspace, procs: Processes) -> None:
    job_id = _job(ws, max_concurrent_runs=1, queue={"enabled": True})
    first = ws.jobs.run_now(job_id)["run_id"]
    second = ws.jobs.run_now(job_id)["run_id"]
    ws.step(10)
    queued = ws.runs.get(second)
    assert queued["state"]["life_cycle_state"] == "QUEUED"
    assert queued["state"]["queue_reason"] == "Queued due to reaching maximum concurrent runs of 1."
    assert queued["status"]["queue_details"]["code"] == "MAX_CONCURRENT_RUNS_REACHED"
    assert len(procs) == 1
    procs[0].finish()
    ws.step(10)
    ws.step(10)
    assert ws.runs.get(first)["state"]["result_state"] == "SUCCESS"
    assert ws.runs.get(second)["state"]["life_cycle_state"] == "RUNNING" and len(procs) == 2
    ws.jobs.cancel_all(job_id)
    assert ws.runs.get(second)["state"]["result_state"] == "CANCELED"


def _condition(key: str, left: str, op: str, right: str) -> dict[str, Any]:
    return {"task_key": key, "condition_task": {"op": op, "left": left, "right": right}}


def test_a_condition_task_gates_its_dependents_by_outcome(ws: Workspace, procs: Processes) -> None:
    run_id = submit(
        ws,
        _condition("check", "{{job.id}}", "GREATER_THAN", "0"),
        nb("yes", depends_on=[{"task_key": "check", "outcome": "true"}]),
        nb("no", depends_on=[{"task_key": "check", "outcome": "false"}]),
        nb("after_no", depends_on=[{"task_key": "no"}]),
    )
    ws.step(10)
    ws.step(10)
    check = tasks_of(ws, run_id, "check")[0]
    assert check["condition_task"]["outcome"] == "true" and check["state"]["result_state"] == "SUCCESS"
    assert tasks_of(ws, run_id, "no")[0]["state"]["result_state"] == "EXCLUDED"
    ws.step(10)
    assert tasks_of(ws, run_id, "after_no")[0]["state"]["result_state"] == "EXCLUDED"
    assert len(procs) == 1 and procs[0].spec["kind"] == "notebook"
    procs[0].finish()
    ws.step(10)
    assert ws.runs.get(run_id)["state"]["result_state"] == "SUCCESS"


def test_a_numeric_condition_on_text_fails_the_task(ws: Workspace) -> None:
    run_id = submit(ws, _condition("check", "abc", "LESS_THAN", "1"))
    ws.step(10)
    ws.step(10)
    state = tasks_of(ws, run_id, "check")[0]["state"]
    assert state["result_state"] == "FAILED" and "'abc' is not a number" in state["state_message"]


def test_for_each_runs_its_task_per_input_with_its_concurrency(ws: Workspace, procs: Processes) -> None:
    loop = {
        "task_key": "loop",
        "for_each_task": {
            "inputs": '["a", "b", "c"]',
            "concurrency": 2,
            "task": nb("item", notebook_task={"notebook_path": NOTEBOOK, "base_parameters": {"value": "{{input}}"}}),
        },
    }
    run_id = submit(ws, loop)
    for _ in range(3):
        ws.step(10)
    assert [p.spec["widgets"]["value"] for p in procs] == ["a", "b"], "two at a time"
    procs[0].finish()
    for _ in range(3):
        ws.step(10)
    assert [p.spec["widgets"]["value"] for p in procs] == ["a", "b", "c"]
    procs[1].finish()
    procs[2].finish("FAILED")
    for _ in range(3):
        ws.step(10)
    run = ws.runs.get(run_id)
    assert [t["task_key"] for t in run["tasks"]] == ["loop"], "iterations are not tasks of the run"
    loop_run = ws.runs.get(run["tasks"][0]["run_id"])
    assert [i["state"]["result_state"] for i in loop_run["iterations"]] == ["SUCCESS", "SUCCESS", "FAILED"]
    stats = run["tasks"][0]["for_each_task"]["stats"]["task_run_stats"]
    assert (stats["total_iterations"], stats["succeeded_iterations"], stats["failed_iterations"]) == (3, 2, 1)
    assert run["state"]["result_state"] == "FAILED"


def test_unsupported_types_are_accepted_and_end_failed_while_the_others_run(ws: Workspace, procs: Processes) -> None:
    run_id = submit(ws, {"task_key": "dbt", "dbt_task": {"commands": ["dbt run"]}}, nb("nb"))
    ws.step(10)
    ws.step(10)
    dbt = tasks_of(ws, run_id, "dbt")[0]["state"]
    assert dbt["result_state"] == "FAILED" and "it has no dbt runtime" in dbt["state_message"]
    procs[0].finish()
    ws.step(10)
    assert tasks_of(ws, run_id, "nb")[0]["state"]["result_state"] == "SUCCESS"


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({"task_key": "w", "python_wheel_task": {"package_name": "p"}}, "tasks[0].python_wheel_task.entry_point"),
        ({"task_key": "c", "condition_task": {"op": "BIGGER", "left": "1", "right": "2"}}, "condition_task.op"),
        ({"task_key": "s", "sql_task": {"warehouse_id": "w"}}, "exactly one of query, file, alert, dashboard"),
        ({"task_key": "f", "for_each_task": {"inputs": "[1]", "concurrency": 0, "task": nb("x")}}, "concurrency"),
        ({"task_key": "r", "run_job_task": {}}, "tasks[0].run_job_task.job_id"),
        ({"task_key": "n", "notebook_task": {"notebook_path": NOTEBOOK}, "max_retries": -2}, "max_retries"),
        (
            {
                "task_key": "n",
                "notebook_task": {"notebook_path": NOTEBOOK},
                "depends_on": [{"task_key": "n2", "outcome": "true"}],
            },
            "depends on",
        ),
    ],
)
def test_task_bodies_are_validated_naming_the_field(ws: Workspace, task: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message.replace("[", r"\[").replace("]", r"\]")):
        ws.jobs.submit(tasks=[task], run_name="bad")


def test_a_wheel_task_gets_its_named_parameters_and_run_now_overrides_them(ws: Workspace, procs: Processes) -> None:
    wheel = {
        "task_key": "w",
        "python_wheel_task": {
            "package_name": "pkg",
            "entry_point": "main",
            "named_parameters": {"day": "{{job.parameters.day}}"},
        },
    }
    job_id = ws.jobs.create(
        {
            "name": "wheel",
            "tasks": [wheel],
            "max_concurrent_runs": 2,
            "parameters": [{"name": "day", "default": "monday"}],
        }
    )
    ws.jobs.run_now(job_id)
    ws.jobs.run_now(job_id, python_named_params={"day": "friday", "n": 2})
    ws.step(10)
    assert [(p.spec["kind"], p.spec["package_name"], p.spec["argv"]) for p in procs] == [
        ("wheel", "pkg", ["--day=monday"]),
        ("wheel", "pkg", ["--day=friday", "--n=2"]),
    ]


def test_run_now_jar_params_replace_a_jar_tasks_parameters_and_python_params_leave_it(ws: Workspace) -> None:
    jar = {
        "task_key": "j",
        "existing_cluster_id": "c1",
        "spark_jar_task": {"main_class_name": "Main", "parameters": ["from-job"]},
    }
    job_id = ws.jobs.create({"name": "jar", "tasks": [jar], "max_concurrent_runs": 3})
    plain = ws.jobs.run_now(job_id, python_params=["py"])["run_id"]
    given = ws.jobs.run_now(job_id, jar_params=["x", 2])["run_id"]
    assert ws.runs.runs[plain].tasks[0].argv == ["from-job"]
    assert ws.runs.runs[given].tasks[0].argv == ["x", "2"]
