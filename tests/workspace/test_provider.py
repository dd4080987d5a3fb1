"""Conformance with the official Airflow provider: its DatabricksHook and operators, inside real ``dag.test()``
runs, against the local workspace. Outcomes are checked through the workspace (databricks-sdk / HTTP)."""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
import uuid
from typing import Any

import pytest
import requests

# The operator tests' fixtures (unique dag_id per test, value sink, task states), reused as they are.
from operators.conftest import dag_id, sink, ti_states  # noqa: F401

SPEC = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}
POLL = 0.2
GREET = (
    "# Databricks notebook source\nname = dbutils.widgets.get('name')\n"
    "# COMMAND ----------\ndbutils.notebook.exit(f'hello {name}')\n"
)


def _dag(dag_id: str):
    from airflow.sdk import DAG

    return DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)


def _record_failure(sink: dict[str, Any]):
    def callback(context):
        sink.setdefault("errors", {})[context["ti"].task_id] = str(context.get("exception"))

    return callback


def _until(fetch, done, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last value {value!r}")
        time.sleep(0.05)


async def _in_async_hook(call):
    """Await ``call(hook)`` on the provider's async hook (its aiohttp session lives in ``async with``)."""
    from airflow.providers.databricks.hooks.databricks import DatabricksHook

    async with DatabricksHook(retry_delay=0.1) as hook:
        return await call(hook)


def _usage(local_ws) -> list[dict[str, Any]]:
    resp = requests.get(
        f"{local_ws.url}/api/2.0/airbricks/clusters", headers={"Authorization": f"Bearer {local_ws.token}"}, timeout=10
    )
    resp.raise_for_status()
    return resp.json()["clusters"]


@pytest.fixture(autouse=True)
def clusters_cleaned_up(local_ws):
    """Every cluster a test creates is gone by its end: all-purpose ones permanently deleted (by the
    ``cluster`` fixture), job clusters TERMINATED by their run. Yields a callable: the test's new clusters."""
    before = {c["cluster_id"] for c in _usage(local_ws)}

    def new() -> list[dict[str, Any]]:
        return [c for c in _usage(local_ws) if c["cluster_id"] not in before]

    yield new
    time.sleep(0.5)  # job clusters finish TERMINATING (0.2 s here)
    left = [
        (c["cluster_id"], c["compute_type"], c["state"])
        for c in new()
        if not c["deleted"] and not (c["compute_type"] == "JOBS" and c["state"] == "TERMINATED")
    ]
    assert not left, f"clusters left behind: {left}"


@pytest.fixture
def cluster(sdk):
    """A RUNNING all-purpose cluster for one test, permanently deleted afterwards."""
    made: list[str] = []

    def make(name: str = "provider-tests") -> str:
        cid = sdk.clusters.create_and_wait(cluster_name=name, **SPEC).cluster_id
        made.append(cid)
        return cid

    yield make
    for cid in made:
        sdk.clusters.permanent_delete(cid)


@pytest.fixture
def notebook(sdk):
    """``notebook(source)``: upload a Python SOURCE notebook under a unique path; returns the path."""
    from databricks.sdk.service.workspace import ImportFormat, Language

    def upload(source: str) -> str:
        path = f"/Shared/provider/nb-{uuid.uuid4().hex[:8]}"
        sdk.workspace.mkdirs("/Shared/provider")
        sdk.workspace.upload(
            path, source.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON, overwrite=True
        )
        return path

    return upload


@pytest.fixture
def new_runs(sdk):
    """Parent runs started during the test (newest first)."""
    before = {r.run_id for r in sdk.jobs.list_runs()}
    return lambda: [r for r in sdk.jobs.list_runs(expand_tasks=True) if r.run_id not in before]


def _failing(marker: str) -> str:
    return f"# Databricks notebook source\nraise ValueError('{marker}')\n"


# --------------------------------------------------------------------------------------------- the hook


def test_hook_cluster_methods(run_dag, dag_id, sink, ti_states, cluster, sdk):
    from airflow.sdk import task

    cid = cluster()

    @task
    def clusters():
        from airflow.providers.databricks.hooks.databricks import DatabricksHook

        hook = DatabricksHook(retry_delay=0.1)
        state = lambda: hook.get_cluster_state(cid)  # noqa: E731
        sink["initial"] = state()
        hook.terminate_cluster({"cluster_id": cid})
        sink["after_terminate"] = _until(state, lambda s: s.state == "TERMINATED").state
        hook.start_cluster({"cluster_id": cid})
        sink["after_start"] = _until(state, lambda s: s.is_running).state
        hook.restart_cluster({"cluster_id": cid})
        sink["during_restart"] = state().state
        sink["after_restart"] = _until(state, lambda s: s.is_running).state
        sink["async"] = asyncio.run(_in_async_hook(lambda h: h.a_get_cluster_state(cid)))

    with _dag(dag_id) as dag:
        clusters()
    dr = run_dag(dag)
    assert ti_states(dr) == {"clusters": "success"}
    assert sink["initial"].state == "RUNNING" and sink["initial"].is_running
    assert sink["after_terminate"] == "TERMINATED"
    assert sink["after_start"] == "RUNNING"
    assert sink["during_restart"] in ("RESTARTING", "PENDING")
    assert sink["after_restart"] == "RUNNING"
    assert sink["async"].state == "RUNNING"
    events = [e.type.value for e in sdk.clusters.events(cid)]
    assert {"TERMINATING", "STARTING", "RESTARTING", "RUNNING"} <= set(events)


def test_hook_run_methods(run_dag, dag_id, sink, ti_states, cluster, notebook, sdk):
    from airflow.sdk import task

    cid = cluster()
    greet, sleeper = notebook(GREET), notebook("# Databricks notebook source\nimport time\ntime.sleep(60)\n")

    @task
    def runs():
        from airflow.exceptions import AirflowException
        from airflow.providers.databricks.hooks.databricks import DatabricksHook

        hook = DatabricksHook(retry_delay=0.1)
        run_id = hook.submit_run(
            {
                "run_name": "hook-submit",
                "existing_cluster_id": cid,
                "notebook_task": {"notebook_path": greet, "base_parameters": {"name": "hook"}},
            }
        )
        sink["run_id"] = run_id
        sink["state"] = _until(lambda: hook.get_run_state(run_id), lambda s: s.is_terminal)
        sink["async_state"] = asyncio.run(_in_async_hook(lambda h: h.a_get_run_state(run_id)))
        sink["run"] = hook.get_run(run_id)
        sink["url"] = hook.get_run_page_url(run_id)
        sink["job_id"] = hook.get_job_id(run_id)
        sink["output"] = hook.get_run_output(sink["run"]["tasks"][0]["run_id"])
        try:
            hook.get_run_output(run_id)
        except AirflowException as err:
            sink["parent_output_error"] = str(err)
        long = hook.submit_run(
            {"run_name": "hook-cancel", "existing_cluster_id": cid, "notebook_task": {"notebook_path": sleeper}}
        )
        _until(lambda: hook.get_run_state(long), lambda s: s.life_cycle_state == "RUNNING")
        hook.cancel_run(long)
        sink["canceled"] = _until(lambda: hook.get_run_state(long), lambda s: s.is_terminal)
        sink["canceled_run"] = long

    with _dag(dag_id) as dag:
        runs()
    dr = run_dag(dag)
    assert ti_states(dr) == {"runs": "success"}
    state = sink["state"]
    assert (state.life_cycle_state, state.result_state) == ("TERMINATED", "SUCCESS") and state.is_successful
    assert sink["async_state"] == state
    run = sink["run"]
    assert run["run_id"] == sink["run_id"] and run["job_id"] == sink["job_id"]
    assert run["state"]["result_state"] == "SUCCESS"
    assert len(run["tasks"]) == 1 and run["tasks"][0]["state"]["result_state"] == "SUCCESS"
    assert run["tasks"][0]["cluster_instance"]["cluster_id"] == cid
    assert str(sink["run_id"]) in sink["url"] and sink["url"].startswith("http://127.0.0.1:")
    assert sink["output"]["notebook_output"]["result"] == "hello hook"
    assert "multiple tasks" in sink["parent_output_error"]
    assert sdk.jobs.get_run_output(run["tasks"][0]["run_id"]).notebook_output.result == "hello hook"
    assert sink["canceled"].result_state == "CANCELED"
    canceled = sdk.jobs.get_run(sink["canceled_run"])
    assert canceled.state.result_state.value == "CANCELED"
    assert canceled.tasks[0].state.result_state.value == "CANCELED"


def test_hook_job_methods(run_dag, dag_id, sink, ti_states, cluster, notebook, sdk):
    from airflow.sdk import task

    cid = cluster()
    greet = notebook(GREET)
    name = f"hook-job-{uuid.uuid4().hex[:8]}"

    @task
    def jobs():
        from airflow.providers.databricks.hooks.databricks import DatabricksHook

        hook = DatabricksHook(retry_delay=0.1)
        settings = {
            "name": name,
            "tasks": [
                {
                    "task_key": "greet",
                    "existing_cluster_id": cid,
                    "notebook_task": {"notebook_path": greet, "base_parameters": {"name": "created"}},
                }
            ],
        }
        job_id = hook.create_job(settings)
        sink["job_id"] = job_id
        sink["found"] = hook.find_job_id_by_name(name)
        sink["missing"] = hook.find_job_id_by_name(name + "-nope")
        sink["listed"] = [j["job_id"] for j in hook.list_jobs(limit=1)]  # pages through every job
        settings["tasks"][0]["notebook_task"]["base_parameters"]["name"] = "reset"
        hook.reset_job(str(job_id), settings)
        run_id = hook.run_now({"job_id": job_id, "notebook_params": {"name": "run-now"}})
        sink["run_job_id"] = hook.get_job_id(run_id)
        sink["state"] = _until(lambda: hook.get_run_state(run_id), lambda s: s.is_terminal)
        sink["task_run"] = hook.get_run(run_id)["tasks"][0]["run_id"]

    with _dag(dag_id) as dag:
        jobs()
    dr = run_dag(dag)
    assert ti_states(dr) == {"jobs": "success"}
    job_id = sink["job_id"]
    assert sink["found"] == job_id and sink["missing"] is None
    assert job_id in sink["listed"] and len(sink["listed"]) == len(set(sink["listed"]))
    assert sink["listed"] == [j.job_id for j in sdk.jobs.list()]
    job = sdk.jobs.get(job_id)
    assert job.settings.tasks[0].notebook_task.base_parameters == {"name": "reset"}
    assert sink["run_job_id"] == job_id
    assert sink["state"].result_state == "SUCCESS"
    assert sdk.jobs.get_run_output(sink["task_run"]).notebook_output.result == "hello run-now"
    sdk.jobs.delete(job_id)


# ------------------------------------------------------------------------------------------ the operators


def test_submit_run_operator_legacy_form(run_dag, dag_id, sink, ti_states, cluster, notebook, sdk, new_runs):
    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator

    cid = cluster()
    greet, bad = notebook(GREET), notebook(_failing("legacy-boom-42"))
    with _dag(dag_id) as dag:
        DatabricksSubmitRunOperator(
            task_id="ok",
            existing_cluster_id=cid,
            polling_period_seconds=POLL,
            notebook_task={"notebook_path": greet, "base_parameters": {"name": "legacy"}},
        )
        DatabricksSubmitRunOperator(
            task_id="bad",
            existing_cluster_id=cid,
            polling_period_seconds=POLL,
            notebook_task={"notebook_path": bad},
            on_failure_callback=_record_failure(sink),
        )
    dr = run_dag(dag)
    assert ti_states(dr) == {"ok": "success", "bad": "failed"}
    assert "legacy-boom-42" in sink["errors"]["bad"]
    assert "FAILED" in sink["errors"]["bad"]
    runs = {r.run_name: r for r in new_runs()}
    assert runs["ok"].state.result_state.value == "SUCCESS"
    assert runs["bad"].state.result_state.value == "FAILED"
    ok_task = runs["ok"].tasks[0]
    assert ok_task.existing_cluster_id == cid
    assert sdk.jobs.get_run_output(ok_task.run_id).notebook_output.result == "hello legacy"
    bad_out = sdk.jobs.get_run_output(runs["bad"].tasks[0].run_id)
    assert "legacy-boom-42" in bad_out.error and "ValueError" in bad_out.error_trace


def test_submit_run_operator_deferrable(run_dag, dag_id, sink, ti_states, cluster, notebook, sdk, new_runs, caplog):
    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator

    caplog.set_level(logging.INFO)
    cid = cluster()
    # Each run lasts a second, so the operator's first check always finds it running and defers (a run that
    # ends before that check is answered synchronously, which is not what this test is about).
    slow = "# Databricks notebook source\nimport time\ntime.sleep(1)\n# COMMAND ----------\n"
    greet = notebook(slow + GREET.split("\n", 1)[1])
    bad = notebook(slow + _failing("deferred-boom-7").split("\n", 1)[1])
    with _dag(dag_id) as dag:
        DatabricksSubmitRunOperator(
            task_id="ok",
            deferrable=True,
            polling_period_seconds=POLL,
            json={
                "existing_cluster_id": cid,
                "timeout_seconds": "600",
                "notebook_task": {"notebook_path": greet, "base_parameters": {"name": "deferred"}},
            },
        )
        DatabricksSubmitRunOperator(
            task_id="bad",
            deferrable=True,
            polling_period_seconds=POLL,
            existing_cluster_id=cid,
            notebook_task={"notebook_path": bad},
            on_failure_callback=_record_failure(sink),
        )
    dr = run_dag(dag)
    assert ti_states(dr) == {"ok": "success", "bad": "failed"}
    assert "running trigger in line" in caplog.text  # the async hook polled runs/get (JSON body GETs)
    assert "deferred-boom-7" in sink["errors"]["bad"]
    runs = {r.run_name: r for r in new_runs()}
    assert sdk.jobs.get_run_output(runs["ok"].tasks[0].run_id).notebook_output.result == "hello deferred"
    assert runs["bad"].state.result_state.value == "FAILED"


def test_create_jobs_then_run_now(run_dag, dag_id, sink, ti_states, cluster, notebook, sdk, clusters_cleaned_up):
    from airflow.providers.databricks.operators.databricks import (
        DatabricksCreateJobsOperator,
        DatabricksRunNowOperator,
    )

    cid = cluster()
    greet = notebook(GREET)
    name = f"{dag_id}-job"
    job = {
        "name": name,
        "tasks": [
            {"task_key": "on_existing", "existing_cluster_id": cid, "notebook_task": {"notebook_path": greet}},
            {
                "task_key": "on_new",
                "depends_on": [{"task_key": "on_existing"}],
                "new_cluster": SPEC,
                "notebook_task": {"notebook_path": greet, "base_parameters": {"name": "default"}},
            },
        ],
    }
    with _dag(dag_id) as dag:
        create = DatabricksCreateJobsOperator(task_id="create", json=job)
        run = DatabricksRunNowOperator(
            task_id="run",
            job_id="{{ ti.xcom_pull(task_ids='create') }}",
            notebook_params={"name": "run-now"},
            polling_period_seconds=POLL,
        )
        again = DatabricksCreateJobsOperator(task_id="again", json={**job, "description": "reset by name"})
        create >> run >> again
    dr = run_dag(dag)
    assert ti_states(dr) == {"create": "success", "run": "success", "again": "success"}
    matches = list(sdk.jobs.list(name=name))
    assert len(matches) == 1, "the second create resets the job found by name"
    job_id = matches[0].job_id
    assert sdk.jobs.get(job_id).settings.description == "reset by name"
    (parent,) = sdk.jobs.list_runs(job_id=job_id, expand_tasks=True)
    assert parent.state.result_state.value == "SUCCESS"
    tasks = {t.task_key: t for t in parent.tasks}
    for key in ("on_existing", "on_new"):
        assert sdk.jobs.get_run_output(tasks[key].run_id).notebook_output.result == "hello run-now"
    assert tasks["on_existing"].cluster_instance.cluster_id == cid
    job_cluster = tasks["on_new"].cluster_instance.cluster_id
    assert job_cluster != cid
    usage = {c["cluster_id"]: c for c in clusters_cleaned_up()}
    assert usage[job_cluster]["compute_type"] == "JOBS"
    _until(lambda: sdk.clusters.get(job_cluster).state.value, lambda s: s == "TERMINATED", timeout=10)
    sdk.jobs.delete(job_id)


@pytest.mark.parametrize("compute", ["existing", "new"])
def test_notebook_operator(
    run_dag, dag_id, sink, ti_states, cluster, notebook, sdk, new_runs, compute, clusters_cleaned_up
):
    from airflow.providers.databricks.operators.databricks import DatabricksNotebookOperator

    where = {"existing_cluster_id": cluster()} if compute == "existing" else {"new_cluster": SPEC}
    greet, bad = notebook(GREET), notebook(_failing(f"notebook-boom-{compute}"))
    with _dag(dag_id) as dag:
        DatabricksNotebookOperator(
            task_id="ok",
            notebook_path=greet,
            source="WORKSPACE",
            notebook_params={"name": compute},
            polling_period_seconds=POLL,
            **where,
        )
        DatabricksNotebookOperator(
            task_id="bad",
            notebook_path=bad,
            source="WORKSPACE",
            polling_period_seconds=POLL,
            on_failure_callback=_record_failure(sink),
            **where,
        )
    dr = run_dag(dag)
    assert ti_states(dr) == {"ok": "success", "bad": "failed"}
    assert "Final state FAILED" in sink["errors"]["bad"]
    assert f"notebook-boom-{compute}" in sink["errors"]["bad"]  # the task run lists itself in runs/get's tasks
    runs = new_runs()
    assert len(runs) == 2
    by_path = {r.tasks[0].notebook_task.notebook_path: r for r in runs}
    assert by_path[greet].state.result_state.value == "SUCCESS"
    assert sdk.jobs.get_run_output(by_path[greet].tasks[0].run_id).notebook_output.result == f"hello {compute}"
    assert by_path[bad].state.result_state.value == "FAILED"
    bad_out = sdk.jobs.get_run_output(by_path[bad].tasks[0].run_id)
    assert f"notebook-boom-{compute}" in bad_out.error
    if compute == "new":
        jobs_clusters = [c for c in clusters_cleaned_up() if c["compute_type"] == "JOBS"]
        assert len(jobs_clusters) == 2  # one ephemeral cluster per run
        for c in jobs_clusters:
            cid = c["cluster_id"]
            _until(lambda cid=cid: sdk.clusters.get(cid).state.value, lambda s: s == "TERMINATED", timeout=10)


def test_workflow_task_group_shares_one_job_cluster(
    run_dag, dag_id, sink, ti_states, notebook, sdk, clusters_cleaned_up
):
    from airflow.providers.databricks.operators.databricks import DatabricksNotebookOperator
    from airflow.providers.databricks.operators.databricks_workflow import DatabricksWorkflowTaskGroup

    greet = notebook(GREET)
    with _dag(dag_id) as dag:
        with DatabricksWorkflowTaskGroup(
            group_id="workflow",
            databricks_conn_id="databricks_default",
            job_clusters=[{"job_cluster_key": "shared", "new_cluster": SPEC}],
        ):
            first = DatabricksNotebookOperator(
                task_id="first",
                notebook_path=greet,
                source="WORKSPACE",
                job_cluster_key="shared",
                polling_period_seconds=POLL,
                notebook_params={"name": "first"},
            )
            second = DatabricksNotebookOperator(
                task_id="second",
                notebook_path=greet,
                source="WORKSPACE",
                job_cluster_key="shared",
                polling_period_seconds=POLL,
                notebook_params={"name": "second"},
            )
            first >> second
    dr = run_dag(dag)
    states = ti_states(dr)
    assert states["workflow.first"] == "success" and states["workflow.second"] == "success", states
    assert states["workflow.launch"] == "success"
    (job,) = sdk.jobs.list(name=f"{dag_id}.workflow")
    (parent,) = sdk.jobs.list_runs(job_id=job.job_id, expand_tasks=True)
    assert parent.state.result_state.value == "SUCCESS"
    assert len(parent.tasks) == 2
    used = {t.cluster_instance.cluster_id for t in parent.tasks}
    assert len(used) == 1, "both tasks ran on the one shared job cluster"
    outputs = sorted(sdk.jobs.get_run_output(t.run_id).notebook_output.result for t in parent.tasks)
    assert outputs == ["hello first", "hello second"]
    made = clusters_cleaned_up()
    assert [c["cluster_id"] for c in made] == list(used)
    assert made[0]["compute_type"] == "JOBS"
    _until(lambda: sdk.clusters.get(made[0]["cluster_id"]).state.value, lambda s: s == "TERMINATED", timeout=10)
    sdk.jobs.delete(job.job_id)


def test_create_jobs_operator_numbers_sent_as_strings_come_back_as_numbers(run_dag, dag_id, ti_states, notebook, sdk):
    """The provider normalises every number in ``json`` to a string; the service stores numbers."""
    from airflow.providers.databricks.operators.databricks import DatabricksCreateJobsOperator

    greet = notebook(GREET)
    name = f"{dag_id}-job"
    with _dag(dag_id) as dag:
        DatabricksCreateJobsOperator(
            task_id="create",
            json={
                "name": name,
                "max_concurrent_runs": 3,
                "timeout_seconds": 600,
                "tasks": [
                    {
                        "task_key": "t",
                        "new_cluster": SPEC,
                        "timeout_seconds": 60,
                        "max_retries": 1,
                        "notebook_task": {"notebook_path": greet},
                    }
                ],
            },
        )
    dr = run_dag(dag)
    assert ti_states(dr) == {"create": "success"}
    (job,) = sdk.jobs.list(name=name)
    raw = requests.get(
        f"{sdk.config.host}/api/2.2/jobs/get",
        params={"job_id": job.job_id},
        headers={"Authorization": f"Bearer {sdk.config.token}"},
        timeout=10,
    ).json()
    sdk.jobs.delete(job.job_id)
    settings = raw["settings"]
    assert settings["max_concurrent_runs"] == 3
    assert settings["timeout_seconds"] == 600
    assert settings["tasks"][0]["timeout_seconds"] == 60
    assert settings["tasks"][0]["new_cluster"]["num_workers"] == 1
